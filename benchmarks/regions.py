"""The region scoring's CPU beside the seed attention's, at N items, in one run.

    python benchmarks/regions.py [--items 20000] [--judges 60] [--regions 16] > benchmarks/results/regions.txt

Tables as soart_core.example.make_tables draws them (3 metrics, `--regions` features,
`--judges` judges per group, N items); both timed with time.process_time (CPU of this
process, both cores counted) on the same tables: the seed's attention of one metric
over the items (stages.attention, N x N softmax in row chunks) and the `regions`
detector on all three metrics (soart_core.detectors, calibration included). Compare
the ratio: the machine is shared and its speed varies, a ratio in one run does not.
"""

import argparse
import sys
import time

import numpy as np

from soart_core import detectors, stages
from soart_core.example import make_tables


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--judges", type=int, default=60)
    parser.add_argument("--regions", type=int, default=16)
    args = parser.parse_args(argv)
    per_group = -(-args.items // 3)
    tables = make_tables(judges_per_group=args.judges, items_per_group=per_group,
                         n_features=args.regions, seed=0)
    features = [f"X{k}" for k in range(args.regions)]
    learn = [np.column_stack([t[0][f] for f in features]).astype(float)
             for t in tables.values()]
    items = [np.column_stack([t[1][f] for f in features]).astype(float)[:args.items]
             for t in tables.values()]
    groups = np.asarray(next(iter(tables.values()))[0]["class"], dtype=object)
    started = time.process_time()
    weights = [stages.weight_matrix(table) for table in learn]
    stages.attention(items[0], weights[2], weights[0], weights[1])
    seed = time.process_time() - started
    started = time.process_time()
    result = detectors.run("regions", items, learn, groups, reference="NORMAL",
                           false_alarm=0.05)
    regions = time.process_time() - started
    print(f"# N = {len(items[0])} items, {len(groups)} judges, {args.regions} regions x "
          f"3 metrics; CPU seconds (process_time, both cores)")
    print(f"seed attention, one metric:   {seed:8.2f}")
    print(f"regions detector, 3 metrics:  {regions:8.2f}")
    print(f"ratio regions / seed:         {regions / seed:8.3f}")
    assert result["score"].shape == (len(items[0]),)
    return 0


if __name__ == "__main__":
    sys.exit(main())
