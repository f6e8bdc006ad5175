"""The flag's false-alarm rate on fresh normal images, which the calibration never saw.

    python benchmarks/false_alarm.py [--draws 5] > benchmarks/results/false_alarm.txt

soart promises that the summary verdict flags a share `verdicts.false_alarm` (5 %) of
normal images. This measures it where the promise is made: on new normal images, not
on the judges. Real surfaces shipped in scikit-image:

- tiles: 32 x 32 patches (stride 16) of a photographed texture (brick, grass, gravel);
- product: one photographed object (the camera man's crop, the coins) shot again and
  again: each view shifted by up to +-2 px (misregistration), gain 0.9-1.1, offset
  +-8 grey levels, sensor noise sd 3.

For each surface, number of normal judges (10, 20, 40, 200) and random draw: the
normal judges and 10 defect judges (normal images with a dark spot pasted at a random
place) are drawn; 500 other normal images are inspected. The metric tables are the
metrics stage's (soart_core.images.pixel_metrics), the verdict the summary's
(soart_core.verdicts.judge_verdicts on Y1, Y2, Y3 side by side). Printed: the flag's
rate on the fresh normal images, pooled over draws, with its Wilson 95 % interval,
beside the rate when the judges' reference image includes themselves (the metrics
before leave-one-out), to show what that cost.
"""

import argparse
import sys

import numpy as np

from soart_core.evaluation import wilson
from soart_core.images import pixel_metrics
from soart_core.verdicts import judge_verdicts

FALSE_ALARM = 0.05  # config.yaml's verdicts.false_alarm
FRESH = 500
DEFECT_JUDGES = 10
GRID = (2, 2)
SIZE = 32


def grey(name):
    """scikit-image's image `name` as float grey (colour: the mean of its channels)."""
    from skimage import data

    image = getattr(data, name)().astype(np.float64)
    return image.mean(axis=2) if image.ndim == 3 else image


def tiles(name, stride=16):
    """Every SIZE x SIZE window of image `name`, `stride` pixels apart."""
    windows = np.lib.stride_tricks.sliding_window_view(grey(name), (SIZE, SIZE))
    return windows[::stride, ::stride].reshape(-1, SIZE, SIZE)


def product(name, count, rng):
    """`count` views of one object: shifted, with gain, offset and noise."""
    image = grey(name)
    top, left = image.shape[0] // 3, image.shape[1] // 3
    views = []
    for _ in range(count):
        dy, dx = rng.integers(-2, 3, size=2)
        view = image[top + dy:top + dy + SIZE, left + dx:left + dx + SIZE]
        view = view * rng.uniform(0.9, 1.1) + rng.uniform(-8, 8)
        views.append(np.clip(view + rng.normal(0, 3, size=view.shape), 0, 255))
    return np.array(views)


def with_spot(images, rng):
    """Each image with a dark disc of radius 3-5 px pasted at a random place."""
    out = images.copy()
    yy, xx = np.mgrid[:SIZE, :SIZE]
    for image in out:
        r = rng.integers(3, 6)
        cy, cx = rng.integers(r, SIZE - r, size=2)
        image[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] *= 0.3
    return out


def flag_rate(judges, reference, fresh, leave_one_out):
    groups = np.where(reference, "NORMAL", "ERROR_A").astype(object)
    judge_tables, item_tables = pixel_metrics(judges, reference, fresh, GRID)
    if not leave_one_out:  # the metrics before: every judge inside its own reference
        everyone = np.concatenate([judges, fresh])
        _, everyone_tables = pixel_metrics(judges, reference, everyone, GRID)
        judge_tables = tuple(t[:len(judges)] for t in everyone_tables)
    columns, _ = judge_verdicts(list(item_tables), list(judge_tables), groups,
                                order=["NORMAL", "ERROR_A"], reference="NORMAL",
                                false_alarm=FALSE_ALARM)
    return int((columns["flag"] == "abnormal").sum())


def surfaces():
    for name in ("brick", "grass", "gravel"):
        yield f"tiles of {name}", lambda n, rng, name=name: tiles(name)[rng.permutation(
            len(tiles(name)))[:n]]
    for name in ("camera", "coins"):
        yield f"product {name}", lambda n, rng, name=name: product(name, n, rng)


def flagged_on_fresh(draw, judges, draws):
    """(flagged, flagged before leave-one-out, inspected) over `draws` seeded draws of
    `judges` NORMAL judges, 10 defect judges and the fresh normal images."""
    flagged = before = total = 0
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        normal = draw(judges + DEFECT_JUDGES + FRESH, rng)
        if len(normal) < judges + DEFECT_JUDGES + FRESH // 2:
            break
        panel = np.concatenate([normal[:judges],
                                with_spot(normal[judges:judges + DEFECT_JUDGES], rng)])
        reference = np.arange(len(panel)) < judges
        fresh = normal[judges + DEFECT_JUDGES:]
        flagged += flag_rate(panel, reference, fresh, True)
        before += flag_rate(panel, reference, fresh, False)
        total += len(fresh)
    return flagged, before, total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--judges", type=int, nargs="+", default=[10, 20, 40, 200])
    args = parser.parse_args(argv)
    print(f"# flag rate on {FRESH} fresh normal images per draw, {args.draws} draws; "
          f"promised: {FALSE_ALARM}")
    print(f"{'surface':<22}{'judges':>7}{'flagged':>10}{'rate [95 % CI]':>24}"
          f"{'judge in own reference':>26}")
    pooled = {n: [0, 0] for n in args.judges}
    for label, draw in surfaces():
        for n in args.judges:
            flagged, before, total = flagged_on_fresh(draw, n, args.draws)
            if not total:
                continue
            pooled[n][0] += flagged
            pooled[n][1] += total
            lo, hi = wilson(flagged, total)
            print(f"{label:<22}{n:>7}{flagged:>6}/{total:<5}{flagged / total:>8.3f} "
                  f"[{lo:.3f}, {hi:.3f}]{before / total:>22.3f}", flush=True)
    for n, (flagged, total) in pooled.items():
        lo, hi = wilson(flagged, total)
        print(f"{'pooled':<22}{n:>7}{flagged:>6}/{total:<5}{flagged / total:>8.3f} "
              f"[{lo:.3f}, {hi:.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
