"""Every detector on small local defects made on real images that nobody here made.

    python benchmarks/local_defects.py [--judges 10 40] [--grids 2x2 4x4] > benchmarks/results/local_defects.txt

The inspector's main case: an otherwise normal surface with one small defect. Real
surfaces shipped in scikit-image, 32 x 32 px:

- tiles of a photographed texture (brick, grass, gravel, the moon's surface);
- a product photographed again and again (the camera man, the coins, printed text):
  each view shifted by up to +-2 px, gain 0.9-1.1, offset +-8 grey levels, noise sd 3.

Defects, each at a random place: a dark or bright spot (radius 2-4 px), a scratch (a
line 1 px wide, 8-16 px long), a foreign particle (a 6 x 6 patch of another surface
pasted), a blurred patch (10 x 10, Gaussian sigma 2), a broken print (a 6 x 6 patch
erased to the local background). Per case: `--judges` NORMAL judges and 10 defect
judges (defects of every kind), 100 normal and 100 defective items (fresh images,
never judges). The metric tables are the metrics stage's (pixel_metrics: beta, eta,
gamma per region of the grid), the detectors soart_core.detectors' registry,
calibrated on the judges alone at a false-alarm rate of 0.05; beside them the
baseline on the pixels themselves: distance to the nearest NORMAL judge (a judge's
own to the nearest other one), calibrated the same way. Printed per case and as the
mean of the cases: ROC AUC, detection and false alarm of the flag, each with its 95 %
interval (Hanley-McNeil; Wilson), and for `regions` how often its top region holds
the defect's centre among the caught defects.
"""

import argparse
import sys

import numpy as np

import false_alarm  # (this folder: its surfaces)

from soart_core.detectors import REGISTRY
from soart_core.evaluation import hanley_mcneil, tied_auc, wilson
from soart_core.images import SEED_KINDS, pixel_metrics, region_labels
from soart_core.verdicts import bounded, calibrate

FALSE_ALARM = 0.05
SIZE = 32
DEFECT_JUDGES = 10
ITEMS = 100
DEFECTS = ("dark spot", "bright spot", "scratch", "particle", "blur", "broken print")


def tiles(name, count, rng):
    """`count` of the windows of image `name`, 8 pixels apart, at random."""
    windows = false_alarm.tiles(name, stride=8)
    return windows[rng.permutation(len(windows))[:count]].copy()


SURFACES = {"brick": tiles, "grass": tiles, "gravel": tiles, "moon": tiles,
            "camera": false_alarm.product, "coins": false_alarm.product,
            "text": false_alarm.product}


def add_defect(image, kind, rng, other):
    """The image with one defect of `kind`; returns (image, (row, col) of its centre)."""
    from scipy.ndimage import gaussian_filter

    out = image.copy()
    yy, xx = np.mgrid[:SIZE, :SIZE]
    if kind in ("dark spot", "bright spot"):
        r = int(rng.integers(2, 5))
        cy, cx = rng.integers(r + 1, SIZE - r - 1, size=2)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        out[disc] = out[disc] * 0.35 if kind == "dark spot" else np.minimum(
            out[disc] + 90, 255)
    elif kind == "scratch":
        length, angle = rng.integers(8, 17), rng.uniform(0, np.pi)
        cy, cx = rng.integers(9, SIZE - 9, size=2)
        t = np.linspace(-length / 2, length / 2, 4 * length)
        rows = np.clip(np.round(cy + t * np.sin(angle)).astype(int), 0, SIZE - 1)
        cols = np.clip(np.round(cx + t * np.cos(angle)).astype(int), 0, SIZE - 1)
        out[rows, cols] = out[rows, cols] * 0.3
    elif kind == "particle":
        cy, cx = rng.integers(3, SIZE - 3, size=2)
        out[cy - 3:cy + 3, cx - 3:cx + 3] = other[:6, :6]
    elif kind == "blur":
        cy, cx = rng.integers(5, SIZE - 5, size=2)
        out[cy - 5:cy + 5, cx - 5:cx + 5] = gaussian_filter(image, 2)[cy - 5:cy + 5,
                                                                      cx - 5:cx + 5]
    else:  # broken print: a patch erased to the local background (its brightest)
        cy, cx = rng.integers(3, SIZE - 3, size=2)
        out[cy - 3:cy + 3, cx - 3:cx + 3] = np.percentile(image, 90)
    return out, (int(cy), int(cx))


def build_case(surface, judges, seed):
    rng = np.random.default_rng(seed)
    draw = SURFACES[surface]
    normal = draw(surface, judges + DEFECT_JUDGES + 2 * ITEMS, rng)
    other = tiles("gravel" if surface != "gravel" else "brick", 64, rng)
    defective, centres = [], []
    for k, image in enumerate(normal[judges:judges + DEFECT_JUDGES + ITEMS]):
        made, centre = add_defect(image, DEFECTS[k % len(DEFECTS)], rng, other[k % 64])
        defective.append(made)
        centres.append(centre)
    panel = np.concatenate([normal[:judges], defective[:DEFECT_JUDGES]])
    items = np.concatenate([normal[judges + DEFECT_JUDGES + ITEMS:], defective[DEFECT_JUDGES:]])
    is_defect = np.arange(len(items)) >= ITEMS
    return panel, np.arange(len(panel)) < judges, items, is_defect, centres[DEFECT_JUDGES:]


def pixel_nn_raw(items, judges, in_reference):
    """The baseline: squared pixel distance to the nearest NORMAL judge (a judge's own:
    to the nearest other), mapped to [0, 1)."""
    ref = judges[in_reference].reshape(in_reference.sum(), -1)
    x = items.reshape(len(items), -1)
    d = ((x[:, None, :] - ref[None, :, :]) ** 2).mean(axis=2)
    own = ((ref[:, None, :] - ref[None, :, :]) ** 2).mean(axis=2)
    np.fill_diagonal(own, np.inf)
    return bounded(d.min(axis=1) / 1000), bounded(own.min(axis=1) / 1000), {}


def figures(raw, reference_raw, is_defect):
    score, _, _ = calibrate(raw, reference_raw, FALSE_ALARM)
    flag = score >= 1 - FALSE_ALARM
    auc = tied_auc(is_defect, score)
    n_pos, n_neg = int(is_defect.sum()), int((~is_defect).sum())
    return {"roc_auc": (auc, hanley_mcneil(auc, n_pos, n_neg)),
            "detection": (flag[is_defect].mean(), wilson(int(flag[is_defect].sum()), n_pos)),
            "false_alarm": (flag[~is_defect].mean(),
                            wilson(int(flag[~is_defect].sum()), n_neg))}, flag


def located(region_raw, centres, flag, is_defect, grid):
    """Share of the caught defects whose top region holds the defect's centre."""
    labels = region_labels((SIZE, SIZE), grid).reshape(SIZE, SIZE)
    top = region_raw.argmax(axis=1)
    caught = np.flatnonzero(flag & is_defect)
    first = int(np.flatnonzero(is_defect)[0])
    hits = [top[i] == labels[centres[i - first]] for i in caught]
    return float(np.mean(hits)) if hits else float("nan"), len(hits)


KIND_SETS = {"seed": SEED_KINDS, "seed+local": SEED_KINDS + ("mean", "sd", "low", "high",
                                                              "edge")}


def run_case(surface, judges, grid, kinds=SEED_KINDS, seed=0):
    panel, in_reference, items, is_defect, centres = build_case(surface, judges, seed)
    judge_tables, item_tables = pixel_metrics(panel, in_reference, items, grid, kinds)
    rows = {}
    for name, detector in REGISTRY.items():
        if detector.needs_pixels:  # `patches`: benchmarks/patches.py, on the same surfaces
            continue
        fitted = detector.estimator().fit(list(judge_tables), in_reference)
        raw, extra = fitted.score(list(item_tables))
        rows[name], flag = figures(raw, fitted.judge_raw_, is_defect)
        if "region_raw" in extra:
            rows[name]["top region is the defect's"] = located(
                extra["region_raw"], centres, flag, is_defect, grid)
    raw, reference_raw, _ = pixel_nn_raw(items, panel, in_reference)
    rows["pixel nearest neighbour"], _ = figures(raw, reference_raw, is_defect)
    return rows


def show(value):
    estimate, interval = value
    if isinstance(interval, int):  # (share, count)
        return f"{estimate:.2f} of {interval}"
    return f"{estimate:.3f} [{interval[0]:.2f}, {interval[1]:.2f}]"


def print_rows(rows, columns, means, width=28):
    """One case's table ({detector: {column: (estimate, interval)}}), each estimate
    also gathered in `means` ({detector: {column: [estimates]}})."""
    print(f"{'detector':<26}" + "".join(f"{c:>{width}}" for c in columns))
    for name, row in rows.items():
        print(f"{name:<26}" + "".join(
            f"{show(row[c]) if c in row else '-':>{width}}" for c in columns))
        for c in columns:
            if c in row:
                means.setdefault(name, {}).setdefault(c, []).append(row[c][0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judges", type=int, nargs="+", default=[10, 40])
    parser.add_argument("--grids", nargs="+", default=["2x2", "4x4"])
    parser.add_argument("--kinds", nargs="+", default=list(KIND_SETS), choices=KIND_SETS)
    args = parser.parse_args(argv)
    columns = ("roc_auc", "detection", "false_alarm", "top region is the defect's")
    for kinds in args.kinds:
        for grid_text in args.grids:
            grid = tuple(int(v) for v in grid_text.split("x"))
            for judges in args.judges:
                means = {}
                print(f"\n## kinds {kinds} ({', '.join(KIND_SETS[kinds])}), grid "
                      f"{grid_text}, {judges} NORMAL judges + {DEFECT_JUDGES} defect judges; "
                      f"{ITEMS} normal and {ITEMS} defective items per surface")
                for surface in SURFACES:
                    rows = run_case(surface, judges, grid, KIND_SETS[kinds])
                    print(f"\n### {surface}")
                    print_rows(rows, columns, means)
                print(f"\n### mean of {len(SURFACES)} surfaces")
                for name, figs in means.items():
                    print(f"{name:<26}" + "".join(
                        f"{np.nanmean(figs[c]):>28.3f}" if c in figs else f"{'-':>28}"
                        for c in columns))
                sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
