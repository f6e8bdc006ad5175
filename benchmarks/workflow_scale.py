"""The whole workflow on a large generated dataset: wall time and peak memory.

    python benchmarks/workflow_scale.py                      # N = 100,000 items
    python benchmarks/workflow_scale.py --items 20000 --judges 256 --features 64
    python benchmarks/workflow_scale.py --items 20000 --job-per-metric false

Generates metric tables (J judges, N items, d features) in a scratch folder, runs
`snakemake --cores 2` on them from tables (images_dir null), and reports the wall time
and the peak RSS over every job (the largest child process, from RUSAGE_CHILDREN),
plus each job's own figures where a rule records a benchmark.
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--judges", type=int, default=256)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--job-per-metric", choices=["auto", "true", "false"],
                        default="auto", help="config attention.job_per_metric")
    args = parser.parse_args()
    from soart_core.example import write_example

    scratch = tempfile.mkdtemp(prefix="soart-scale-")
    try:
        for name in ("Snakefile", "workflow", "soart_core", "profiles"):
            src = os.path.join(ROOT, name)
            (shutil.copytree if os.path.isdir(src) else shutil.copy2)(
                src, os.path.join(scratch, name))
        per_group_items = args.items // 3
        per_group_judges = args.judges // 3
        write_example(os.path.join(scratch, "data"), judges_per_group=per_group_judges,
                      items_per_group=per_group_items, n_features=args.features, seed=1)
        config = yaml.safe_load(open(os.path.join(ROOT, "config.yaml")))
        config.update(images_dir=None, data_dir="data", sweeps={},
                      features=f"X0:X{args.features - 1}")
        config["groups"]["valid_counts"] = [per_group_items] * 3
        config["attention"]["job_per_metric"] = {"true": True, "false": False}.get(
            args.job_per_metric, "auto")
        yaml.safe_dump(config, open(os.path.join(scratch, "config.yaml"), "w"))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--quiet"],
                       cwd=scratch, check=True)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2 ** 10
        print(f"N = {3 * per_group_items:,} items, J = {3 * per_group_judges} judges, "
              f"d = {args.features}: whole workflow {wall:.0f} s, peak RSS of the largest "
              f"job {peak:.0f} MiB")
        for bench in sorted(os.listdir(os.path.join(scratch, "results", "benchmarks"))):
            if bench.startswith("attention"):
                with open(os.path.join(scratch, "results", "benchmarks", bench)) as table:
                    print(bench, table.read().splitlines()[-1])
    finally:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
