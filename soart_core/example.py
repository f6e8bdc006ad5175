"""Seeded generators: the embedded example's images, and metric tables for tests.

The example starts where users start, from inspection images: `write_example_images`
draws connector faces (NORMAL; ERROR_A a missing or bent pin; ERROR_B a scratch or a
stain). `make_tables` draws metric tables directly in the seed's layout, of any size,
for tests: each metric's features are noisy around a NORMAL level; ERROR_A shifts
features X1 and X2 strongly, ERROR_B the last feature slightly.

    python -m soart_core.example images resources/example/images   # the example's PNGs
    python -m soart_core.example tables OUT --judges 5 --items 40 --features 6 --seed 7
"""

import argparse
import os

import numpy as np

from .tables import write_columns

GROUPS = ("NORMAL", "ERROR_A", "ERROR_B")
# metric id -> (file tag, NORMAL level, noise sd, ERROR_A shift, ERROR_B shift)
METRICS = {
    "Y1": ("btY1", 1.00, 0.03, -0.15, 0.04),  # sensitivity beta
    "Y2": ("snY2", 20.0, 1.50, -7.00, -2.0),  # SN ratio eta, dB
    "Y3": ("gmY3", 0.05, 0.01, 0.07, 0.02),  # gamma
}


def file_names(metric):
    tag = METRICS[metric][0]
    return f"learn_{tag}_gs_class.csv", f"valid_{tag}_gs.csv"


def _group_shift(n_features):
    """Which features each group shifts, as a (groups x features) 0/1 mask."""
    mask = np.zeros((len(GROUPS), n_features))
    mask[1, 1 % n_features] = mask[1, 2 % n_features] = 1.0  # ERROR_A: X1, X2
    mask[2, (n_features - 1)] = 1.0  # ERROR_B: the last feature
    return mask


def make_tables(judges_per_group=3, items_per_group=10, n_features=4, seed=0):
    """{metric: (learn columns with `class`, valid columns)} in the seed's layout."""
    rng = np.random.default_rng(seed)
    columns = [f"X{i}" for i in range(n_features)]
    mask = _group_shift(n_features)
    tables = {}
    for metric, (_, level, sd, shift_a, shift_b) in METRICS.items():
        shifts = mask * np.array([0.0, shift_a, shift_b])[:, None]

        def draw(per_group):
            rows = np.repeat(np.arange(len(GROUPS)), per_group)
            values = level + shifts[rows] + rng.normal(0.0, sd, (len(rows), n_features))
            return dict(zip(columns, np.round(values, 6).T)), rows

        learn, rows = draw(judges_per_group)
        learn["class"] = np.array(GROUPS)[rows]
        valid, _ = draw(items_per_group)
        tables[metric] = (learn, valid)
    return tables


def write_example(folder, **kwargs):
    """Write the six CSVs into `folder`; returns {metric: (learn path, valid path)}."""
    paths = {}
    for metric, (learn, valid) in make_tables(**kwargs).items():
        learn_name, valid_name = file_names(metric)
        paths[metric] = (os.path.join(folder, learn_name), os.path.join(folder, valid_name))
        write_columns(paths[metric][0], learn)
        write_columns(paths[metric][1], valid)
    return paths




# ---- the embedded example's images -------------------------------------------------
IMAGE_SIZE = 96
PIN_ROWS, PIN_COLS = 3, 4


def _pin_centres(shift):
    ys = np.linspace(30, 66, PIN_ROWS) + shift[0]
    xs = np.linspace(24, 72, PIN_COLS) + shift[1]
    return [(y, x) for y in ys for x in xs]


def draw_connector(rng, group):
    """One grayscale connector face (uint8, 96 x 96): a body with a 3 x 4 grid of
    pins, with nuisance variation (gain, offset, a pixel or two of shift, sensor
    noise); ERROR_A misses or bends one of the two top-left pins, ERROR_B carries a
    scratch or a stain anywhere on the face."""
    return draw_connector_defect(rng, group)[0]


def draw_connector_defect(rng, group):
    """draw_connector's image, and where its defect is: a boolean mask of the pixels
    the defect changed (the missing pin's disc; the bent pin's disc where it was and
    where it went; the scratch's line; the stain's disc), all False for NORMAL. The
    same draws of `rng` as draw_connector: the example's images stay as they are."""
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float64)
    shift = rng.uniform(-1.0, 1.0, 2)

    def soft(distance):  # 1 inside, 0 outside, a one-pixel anti-aliased edge
        return np.clip(0.5 - distance, 0.0, 1.0)

    body = soft(np.maximum(np.abs(yy - 48 - shift[0]) - 30, np.abs(xx - 48 - shift[1]) - 38))
    image = 40.0 + 80.0 * body
    centres = _pin_centres(shift)
    defect = np.zeros(image.shape, dtype=bool)

    def pin(y, x):
        return soft(np.hypot(yy - y, xx - x) - 4.5)

    if group == "ERROR_A":  # the exposed top-left pins fail: the defect has a place
        k = rng.integers(2)
        defect |= pin(*centres[k]) > 0
        if rng.random() < 0.5:
            centres.pop(k)  # a missing pin
        else:
            y, x = centres[k]  # a bent pin, pushed sideways
            centres[k] = (y + rng.uniform(-1, 1), x + rng.choice([-1, 1]) * rng.uniform(3, 5))
            defect |= pin(*centres[k]) > 0
    for y, x in centres:
        image += 110.0 * pin(y, x)
    if group == "ERROR_B":
        if rng.random() < 0.5:  # a thin scratch across the face
            angle = rng.uniform(0, np.pi)
            y0, x0 = rng.uniform(25, 71, 2)
            distance = np.abs((yy - y0) * np.cos(angle) - (xx - x0) * np.sin(angle))
            along = np.abs((yy - y0) * np.sin(angle) + (xx - x0) * np.cos(angle))
            line = soft(distance - 0.6) * (along < rng.uniform(12, 25))
            image += 70.0 * line
            defect |= line > 0
        else:  # a dark, soft-edged stain
            y0, x0 = rng.uniform(25, 71, 2)
            radius = rng.uniform(5, 9)
            stain = np.clip((radius - np.hypot(yy - y0, xx - x0)) / 3, 0, 1)
            image *= 1.0 - 0.45 * stain
            defect |= stain > 0
    image = image * rng.normal(1.0, 0.03) + rng.normal(0.0, 3.0)  # gain and offset
    image += rng.normal(0.0, 3.0, image.shape)  # sensor noise
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), defect


def example_images(judges_per_group=3, items_per_group=10, seed=0):
    """The example's images in the order they are drawn: (relative path
    {set}/{GROUP}/{set}_{GROUP}_{nn}.png, uint8 pixels, the defect's mask)."""
    rng = np.random.default_rng(seed)
    for set_name, count in (("learn", judges_per_group), ("valid", items_per_group)):
        for group in GROUPS:
            for k in range(1, count + 1):
                pixels, defect = draw_connector_defect(rng, group)
                yield (os.path.join(set_name, group, f"{set_name}_{group}_{k:02d}.png"),
                       pixels, defect)


def write_example_images(folder, judges_per_group=3, items_per_group=10, seed=0):
    """The example's PNGs: folder/{learn,valid}/{GROUP}/{set}_{GROUP}_{nn}.png."""
    from PIL import Image

    for path, pixels, _ in example_images(judges_per_group, items_per_group, seed):
        target = os.path.join(folder, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        Image.fromarray(pixels).save(target, optimize=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["images", "tables"])
    parser.add_argument("folder")
    parser.add_argument("--judges", type=int, default=3, help="judges per group")
    parser.add_argument("--items", type=int, default=10, help="items per group")
    parser.add_argument("--features", type=int, default=4, help="tables only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.kind == "images":
        write_example_images(args.folder, judges_per_group=args.judges,
                             items_per_group=args.items, seed=args.seed)
    else:
        write_example(args.folder, judges_per_group=args.judges, items_per_group=args.items,
                      n_features=args.features, seed=args.seed)


if __name__ == "__main__":
    main()
