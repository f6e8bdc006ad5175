"""The pixel-level detector `patches` on real images nobody here made, beside the field's
plainest anchors, its promise on fresh normal images, and its search's speed.

    python benchmarks/patches.py detect [--judges 10 40] [--families local other spots] > benchmarks/results/patches_detect.txt
    python benchmarks/patches.py detect --seed 7 > benchmarks/results/patches_detect_seed7.txt
    python benchmarks/patches.py fresh [--judges 10 20 40] > benchmarks/results/patches_fresh.txt
    python benchmarks/patches.py speed > benchmarks/results/patches_speed.txt

`detect`: the surfaces of benchmarks/local_defects.py (scikit-image's brick, grass,
gravel and moon textures; the camera man, the coins and printed text as a product
photographed again and again, shifted, with gain, offset and noise), 32 x 32 px, with
one defect each of two families:
- local: a dark or bright spot, a scratch, a pasted particle, a blurred patch, broken
  print (local_defects.add_defect);
- other kinds: a thin crack, a faint stain, haze (contrast lost over a large patch),
  a hole, a missing part (a patch filled with its surroundings' mean), a rotated part
  (a 10 x 10 patch turned by 90 degrees), a patch of another texture, a wrong product
  (another surface entirely);
- spots of known position: a dark (x 0.35) or bright (+90 grey levels) 5 x 5 square
  (where the peak and the top region should be).
Per case `--judges` normal judges, 100 fresh normal and 100 defective items. Each
detector is calibrated on the judges alone at a false-alarm rate of 0.05: `patches`
(soart's defaults), the PatchCore-style anchor on raw pixels (every 7 x 7 patch
against the judges' patches within +-4 px, nearest distance, the image's worst patch)
and the golden template (the largest absolute difference from the judges' mean image,
smoothed 3 x 3); a judge's own score always out of sample. Printed: ROC AUC (Hanley-
McNeil interval), detection and false alarm (Wilson intervals), and for `patches` the
share of caught defects whose peak lies within 2 px of the defect's centre and whose
top 2 x 2 region holds it.

`fresh`: fitted on 10, 20 and 40 normal judges of each surface (several draws), the
flag on 200 fresh normal images each: the pooled false-alarm rate with its interval,
and the range of the rates of single draws (the rate a user with one set of judges
sees), beside what conformal prediction says of it: with n judges and the flag above
the k-th lowest judge, the rate given the judges is Beta(n + 1 - k, k) for judges
exchangeable with the images, so a share of draws above 0.12 is expected, not a
fault. Below 19 judges no rank holds 0.05: verdicts.calibrate warns and flags above a
Gumbel's prediction bound fitted to the judges; beside it, what a normal's bound (the
rule before) flags on the same images.

`speed`: a frozen reference of 60 judges (64 x 64), 1,000 new images scored (fit and
score timed apart), and the nearest-patch search on one block of locations by numpy's
batched product (soart's), scikit-learn's NearestNeighbors (one index per location)
and faiss's IndexFlatL2 (one per location; faiss-cpu, where installed): the same
distances, their times in one run.
"""

import argparse
import sys
import time

import numpy as np

import local_defects  # (this folder: its surfaces and defects)

from soart_core import patches
from soart_core.evaluation import wilson
from soart_core.images import region_labels
from soart_core.verdicts import bounded, calibrate, conformal_rank

FALSE_ALARM = 0.05
SIZE = local_defects.SIZE
ITEMS = 100
LOCAL = local_defects.DEFECTS
OTHER = ("crack", "faint stain", "haze", "hole", "missing part", "rotated part",
         "texture change", "wrong product")
SPOTS = ("dark 5 x 5 spot", "bright 5 x 5 spot")
FAMILIES = {"local": LOCAL, "other": OTHER, "spots": SPOTS}


def other_defect(image, kind, rng, other):
    """The image with one defect of the other kinds; (image, (row, col) of its centre)."""
    from scipy.ndimage import gaussian_filter

    out = image.copy()
    yy, xx = np.mgrid[:SIZE, :SIZE]
    cy, cx = (int(v) for v in rng.integers(8, SIZE - 8, size=2))
    if kind == "crack":  # thin, dark, wandering
        rows = np.clip(cy + np.cumsum(rng.integers(-1, 2, 14)), 0, SIZE - 1)
        cols = np.clip(cx - 7 + np.arange(14), 0, SIZE - 1)
        out[rows, cols] = out[rows, cols] * 0.45
        cy, cx = int(rows[7]), int(cols[7])
    elif kind == "faint stain":  # large, soft, 15 % darker
        r = rng.uniform(5, 7)
        out *= 1 - 0.15 * np.clip((r - np.hypot(yy - cy, xx - cx)) / 2, 0, 1)
    elif kind == "haze":  # contrast lost over a 12 x 12 patch
        patch = out[cy - 6:cy + 6, cx - 6:cx + 6]
        out[cy - 6:cy + 6, cx - 6:cx + 6] = patch.mean() + 0.35 * (patch - patch.mean())
    elif kind == "hole":
        out[np.hypot(yy - cy, xx - cx) <= rng.uniform(2, 3.5)] = 5.0
    elif kind == "missing part":  # an 8 x 8 patch filled with its surroundings' mean
        out[cy - 4:cy + 4, cx - 4:cx + 4] = gaussian_filter(image, 6)[cy, cx]
    elif kind == "rotated part":
        out[cy - 5:cy + 5, cx - 5:cx + 5] = np.rot90(image[cy - 5:cy + 5, cx - 5:cx + 5])
    elif kind == "texture change":
        out[cy - 5:cy + 5, cx - 5:cx + 5] = other[:10, :10]
    elif kind in SPOTS:  # of known position: where the peak should be
        cy, cx = (int(v) for v in rng.integers(3, SIZE - 3, size=2))
        square = out[cy - 2:cy + 3, cx - 2:cx + 3]
        out[cy - 2:cy + 3, cx - 2:cx + 3] = square * 0.35 if kind == SPOTS[0] else square + 90
    else:  # a wrong product: another surface, the defect everywhere
        out, (cy, cx) = other.copy(), (SIZE // 2, SIZE // 2)
    return np.clip(out, 0, 255), (cy, cx)


def build(surface, judges, family, seed=0):
    """(normal judges, items, is_defect, defect centres) of one case."""
    rng = np.random.default_rng(seed)
    normal = local_defects.SURFACES[surface](surface, judges + 2 * ITEMS, rng)
    others = local_defects.tiles("gravel" if surface != "gravel" else "brick", 64, rng)
    kinds = FAMILIES[family]
    defective, centres = [], []
    for k, image in enumerate(normal[judges + ITEMS:]):
        kind = kinds[k % len(kinds)]
        made, centre = (local_defects.add_defect(image, kind, rng, others[k % 64])
                        if family == "local" else other_defect(image, kind, rng,
                                                               others[k % 64]))
        defective.append(made)
        centres.append(centre)
    items = np.concatenate([normal[judges:judges + ITEMS], np.array(defective)])
    return normal[:judges], items, np.arange(len(items)) >= ITEMS, centres


def raw_patch_anchor(items, judges, patch=7, radius=4):
    """PatchCore's plainest form on raw pixels: each patch x patch window against the
    judges' windows within +-radius px, nearest distance; the image's worst window.
    A judge's against the other judges."""
    from scipy import ndimage

    def worst(x, refs):
        best = np.full(x.shape, np.inf)
        pad = np.pad(refs, ((0, 0), (radius, radius), (radius, radius)), mode="edge")
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                moved = pad[:, radius + dy:radius + dy + SIZE, radius + dx:radius + dx + SIZE]
                d = ndimage.uniform_filter((moved - x[None]) ** 2, (1, patch, patch),
                                           mode="reflect")
                best = np.minimum(best, d.min(axis=0))
        return float(np.sqrt(np.maximum(best, 0)).max())

    return (np.array([worst(x, judges) for x in items]),
            np.array([worst(judges[j], np.delete(judges, j, axis=0))
                      for j in range(len(judges))]))


def golden_template(items, judges):
    """The largest absolute difference from the judges' mean image, smoothed 3 x 3 (a
    judge's from the others' mean)."""
    from scipy import ndimage

    def worst(x, refs):
        return float(ndimage.uniform_filter(np.abs(x - refs.mean(axis=0)), 3).max())

    return (np.array([worst(x, judges) for x in items]),
            np.array([worst(judges[j], np.delete(judges, j, axis=0))
                      for j in range(len(judges))]))


def figures(raw, judge_raw, is_defect):
    """local_defects.figures of raw scores in [0, inf): mapped to [0, 1) first."""
    return local_defects.figures(bounded(raw), bounded(judge_raw), is_defect)


def run_case(surface, judges, family, seed=0):
    normal, items, is_defect, centres = build(surface, judges, family, seed)
    model = patches.fit(normal)
    maps = patches.score(model, items)
    rows = {}
    rows["patches"], flag = figures(maps.reshape(len(maps), -1).max(axis=1),
                                    patches.judge_raw(model), is_defect)
    peak_row, peak_col, _ = patches.peaks(maps)
    labels = region_labels((SIZE, SIZE), (2, 2)).reshape(SIZE, SIZE)
    regions = patches.region_maxima(maps, labels.ravel(), 4)
    caught = np.flatnonzero(flag & is_defect)
    near = [max(abs(peak_row[i] - centres[i - ITEMS][0]),
                abs(peak_col[i] - centres[i - ITEMS][1])) <= 2 for i in caught]
    region = [regions[i].argmax() == labels[centres[i - ITEMS]] for i in caught]
    rows["patches"]["peak within 2 px"] = (np.mean(near) if near else np.nan, len(near))
    rows["patches"]["top region"] = (np.mean(region) if region else np.nan, len(region))
    rows["raw 7x7 patches (anchor)"], _ = figures(*raw_patch_anchor(items, normal),
                                                  is_defect)
    rows["golden template"], _ = figures(*golden_template(items, normal), is_defect)
    return rows, model.search


COLUMNS = ("roc_auc", "detection", "false_alarm", "peak within 2 px", "top region")


def detect(args):
    for family in args.families:
        for judges in args.judges or (10, 40):
            print(f"\n## {family} defects ({', '.join(FAMILIES[family])})"
                  f", {judges} normal judges; {ITEMS} normal and {ITEMS} defective items "
                  f"per surface")
            means = {}
            for surface in local_defects.SURFACES:
                rows, search = run_case(surface, judges, family, args.seed)
                print(f"\n### {surface} (search {search})")
                local_defects.print_rows(rows, COLUMNS, means, width=24)
                sys.stdout.flush()
            print(f"\n### mean of {len(local_defects.SURFACES)} surfaces (false alarm: pooled, "
                  f"and the worst case)")
            for name, figs in means.items():
                worst = max(figs["false_alarm"])
                print(f"{name:<26}" + "".join(
                    f"{np.nanmean(figs[c]):>24.3f}" if c in figs else f"{'-':>24}"
                    for c in COLUMNS) + f"   worst false alarm {worst:.2f}")
            sys.stdout.flush()


def expected_spread(n, a=FALSE_ALARM, limit=0.12):
    """What conformal prediction expects of single draws with n judges, in words."""
    from scipy.stats import beta

    k = conformal_rank(n, a)
    if k > n:
        return f"below {int(np.ceil(1 / a)) - 1} judges no rank holds {a:g} (bound fitted)"
    return (f"conformal: a draw's rate is Beta({n + 1 - k}, {k}), above {limit:g} with "
            f"probability {beta.sf(limit, n + 1 - k, k):.3f}")


def normal_bound_flags(raw, judge_raw, a=FALSE_ALARM):
    """The flag as calibrate raised it with too few judges before it took a Gumbel's
    bound: above all judges and above a normal's (1 - a) prediction bound on their
    logits (mean + t_{1-a,n-1} sd sqrt(1 + 1/n)); raw scores already bounded."""
    from scipy.stats import t

    logits = np.log(judge_raw / (1 - judge_raw))
    n = len(logits)
    tail = logits.mean() + t.ppf(1 - a, n - 1) * logits.std(ddof=1) * np.sqrt(1 + 1 / n)
    return raw > max(judge_raw.max(), 1 / (1 + np.exp(-tail)))


def fresh(args):
    print("## the flag on fresh normal images (200 per fit), calibrated on the judges "
          "alone at 0.05")
    for judges in args.judges or (10, 20, 40):
        flagged = seen = by_normal = 0
        rates = {}
        for surface in local_defects.SURFACES:
            for draw in range(args.draws):
                rng = np.random.default_rng(100 + draw)
                images = local_defects.SURFACES[surface](surface, judges + 200, rng)
                model = patches.fit(images[:judges])
                raw = patches.score(model, images[judges:]).reshape(200, -1).max(axis=1)
                score, _, warning = calibrate(bounded(raw), bounded(patches.judge_raw(model)),
                                              FALSE_ALARM)
                flagged += int((score >= 1 - FALSE_ALARM).sum())
                seen += 200
                rates[f"{surface} draw {draw}"] = float(np.mean(score >= 1 - FALSE_ALARM))
                if warning:
                    by_normal += int(normal_bound_flags(
                        bounded(raw), bounded(patches.judge_raw(model))).sum())
        low, high = wilson(flagged, seen)
        worst = max(rates, key=rates.get)
        print(f"{judges} judges, {len(local_defects.SURFACES)} surfaces x {args.draws} draws: "
              f"{flagged} of {seen} flagged = {flagged / seen:.3f} [{low:.3f}, {high:.3f}]; "
              f"per draw {min(rates.values()):.3f} to {rates[worst]:.3f} ({worst}), "
              f"{sum(r > 0.12 for r in rates.values())} of {len(rates)} above 0.12; "
              f"{expected_spread(judges)}")
        if by_normal:
            low, high = wilson(by_normal, seen)
            print(f"  a normal's bound instead of the Gumbel's: {by_normal} of {seen} "
                  f"flagged = {by_normal / seen:.3f} [{low:.3f}, {high:.3f}]")
        sys.stdout.flush()


def speed(args):
    from soart_core.example import draw_connector
    from PIL import Image

    rng = np.random.default_rng(0)

    def connectors(n, group="NORMAL"):
        return np.array([np.asarray(Image.fromarray(draw_connector(rng, group)).resize(
            (64, 64)), dtype=np.float64) for _ in range(n)])

    judges, items = connectors(60), connectors(args.images)
    started = time.perf_counter()
    model = patches.fit(judges)
    fitted = time.perf_counter() - started
    started = time.perf_counter()
    patches.score(model, items)
    scored = time.perf_counter() - started
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"## patches: 60 judges, {args.images} images of 64 x 64 (search {model.search}, "
          f"radius {model.settings['radius']} px)\nfit {fitted:.2f} s, score "
          f"{scored:.2f} s ({args.images / scored:.0f} images/s); peak memory of the "
          f"process {peak:.0f} MiB")
    # one block of locations: each library finds every query's nearest memory row
    desc, _ = patches.descriptors(model, items[:200], 0)
    queries = desc.reshape(len(desc), -1, desc.shape[-1]).transpose(1, 0, 2)[:64]
    memory = model.arrays["near_0"][:64]
    timings = {}
    started = time.perf_counter()
    mine = patches.min_distance(queries, memory).T
    timings["numpy batched product (soart)"] = time.perf_counter() - started
    from sklearn.neighbors import NearestNeighbors

    started = time.perf_counter()
    theirs = np.array([NearestNeighbors(n_neighbors=1).fit(m).kneighbors(q)[0][:, 0]
                       for q, m in zip(queries, memory)])
    timings["scikit-learn NearestNeighbors"] = time.perf_counter() - started
    # the same nearest distances (float32 products: equal to their rounding)
    assert np.allclose(mine, theirs, rtol=1e-3, atol=1e-3)
    try:
        import faiss

        started = time.perf_counter()
        found = []
        for q, m in zip(queries, memory):
            index = faiss.IndexFlatL2(m.shape[1])
            index.add(np.ascontiguousarray(m, dtype=np.float32))
            found.append(np.sqrt(np.maximum(index.search(
                np.ascontiguousarray(q, dtype=np.float32), 1)[0][:, 0], 0)))
        timings["faiss IndexFlatL2"] = time.perf_counter() - started
        assert np.allclose(mine, np.array(found), rtol=1e-3, atol=1e-3)
    except ImportError:
        timings["faiss IndexFlatL2"] = float("nan")
    print(f"\n## nearest-patch search: 64 locations x 200 images against "
          f"{memory.shape[1]} windows each ({memory.shape[2]} numbers), one run")
    for name, seconds in timings.items():
        print(f"{name:<34} {seconds:8.3f} s  ({seconds / timings['numpy batched product (soart)']:.1f}x)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["detect", "fresh", "speed"])
    parser.add_argument("--judges", type=int, nargs="+",
                        help="normal judges per case (detect: 10 40; fresh: 10 20 40)")
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES),
                        default=list(FAMILIES))
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0,
                        help="detect: another draw of the cases (judges, items, defects)")
    args = parser.parse_args(argv)
    {"detect": detect, "fresh": fresh, "speed": speed}[args.what](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
