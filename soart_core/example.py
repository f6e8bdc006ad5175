"""A seeded generator of metric tables in the seed's layout: the embedded example and test data.

Each metric's features are noisy around a NORMAL level; ERROR_A items and judges shift
features X1 and X2 strongly (a clear defect), ERROR_B shifts X3 slightly (a faint one),
so that the example shows the method both working and struggling.

    python -m soart_core.example resources/example            # the committed example
    python -m soart_core.example OUT --judges 5 --items 40 --features 6 --seed 7
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--judges", type=int, default=3, help="judges per group")
    parser.add_argument("--items", type=int, default=10, help="items per group")
    parser.add_argument("--features", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    write_example(args.folder, judges_per_group=args.judges, items_per_group=args.items,
                  n_features=args.features, seed=args.seed)


if __name__ == "__main__":
    main()
