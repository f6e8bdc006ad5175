"""Wall time of a 100-instance sweep against one plain run of the example, in one session.

    python benchmarks/sweep.py              # both grids below; prints a table
    python benchmarks/sweep.py --grid wide

Each measurement runs `snakemake --cores 2` in a fresh scratch copy of the workflow (no
results, no .snakemake): the plain run (`all`), then each 100-instance sweep from
scratch, a no-op rerun, and the rerun after one value more in the grid; then the dry run (planning) of a 1,000-instance sweep. Writes
benchmarks/results/sweep.csv.

Grids: `downstream` sweeps the learning cutoff (5 values, a threshold and an attention
each), the baseline (2) and the block tolerance (10): 100 instances over 5 shared
attention runs. `wide` sweeps both cutoffs (10 x 10): every instance needs its own
threshold and attention, the worst case for sharing.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GRIDS = {
    "downstream": {
        "threshold.learn.cutoff": [0.3, 0.35, 0.4, 0.45, 0.5],
        "baseline.method": ["group_mean", "median"],
        "blocks.tolerance": [0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
    },
    "wide": {
        "threshold.learn.cutoff": [round(0.2 + 0.05 * i, 2) for i in range(10)],
        "threshold.valid.cutoff": [round(0.1 + 0.05 * i, 2) for i in range(10)],
    },
}
PLANNED = {  # 1,000 instances, planned only
    "threshold.learn.cutoff": [round(0.2 + 0.05 * i, 2) for i in range(10)],
    "threshold.valid.cutoff": [round(0.1 + 0.05 * i, 2) for i in range(10)],
    "blocks.tolerance": [0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
}


def scratch():
    folder = tempfile.mkdtemp(prefix="soart-bench-")
    for name in ("Snakefile", "config.yaml", "workflow", "soart_core", "profiles"):
        src = os.path.join(ROOT, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy2)(
            src, os.path.join(folder, name), **({"ignore": shutil.ignore_patterns(
                "__pycache__")} if os.path.isdir(src) else {}))
    shutil.copytree(os.path.join(ROOT, "resources"), os.path.join(folder, "resources"))
    return folder


def with_sweep(folder, name, grid):
    path = os.path.join(folder, "config.yaml")  # this grid alone, not config's example
    with open(path) as stream:
        config = yaml.safe_load(stream)
    config["sweeps"] = {name: grid}
    with open(path, "w") as stream:
        yaml.safe_dump(config, stream, sort_keys=False)


def timed(folder, *args):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "snakemake", *args, "--cores", "2",
                           "--quiet"], cwd=folder, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return seconds


def count_jobs(folder, *args):
    out = subprocess.run([sys.executable, "-m", "snakemake", *args, "-n", "--quiet", "rules"],
                         cwd=folder, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("total"):
            return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", choices=sorted(GRIDS), nargs="+", default=list(GRIDS))
    args = parser.parse_args()
    rows = []
    folder = scratch()
    jobs = count_jobs(folder, "all")
    plain = timed(folder, "all")
    rows.append(("plain run (example)", jobs, plain, 1.0))
    rows.append(("plain no-op rerun", 0, timed(folder, "all"), None))
    shutil.rmtree(folder)
    for grid in args.grid:
        folder = scratch()
        with_sweep(folder, grid, GRIDS[grid])
        jobs = count_jobs(folder, "sweep")
        seconds = timed(folder, "sweep")
        rows.append((f"sweep '{grid}' (100 instances)", jobs, seconds, seconds / plain))
        rows.append((f"sweep '{grid}' no-op rerun", 0, timed(folder, "sweep"), None))
        first = next(iter(GRIDS[grid]))
        with_sweep(folder, grid, {**GRIDS[grid], first: GRIDS[grid][first] + [0.7]})
        jobs = count_jobs(folder, "sweep")
        seconds = timed(folder, "sweep")
        rows.append((f"sweep '{grid}' + one {first.split('.')[-1]} value", jobs, seconds,
                     seconds / plain))
        shutil.rmtree(folder)
    folder = scratch()
    with_sweep(folder, "planned", PLANNED)
    start = time.perf_counter()
    jobs = count_jobs(folder, "sweep")
    rows.append(("plan (dry run) of 1,000 instances", jobs, time.perf_counter() - start,
                 None))
    shutil.rmtree(folder)
    print(f"{'what':<40} {'jobs':>5} {'wall s':>8} {'x plain':>8}")
    for what, jobs, seconds, ratio in rows:
        print(f"{what:<40} {jobs:>5} {seconds:8.1f} "
              f"{'' if ratio is None else format(ratio, '8.2f')}")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "sweep.csv"), "w") as out:
        out.write("what,jobs,wall_seconds,times_plain\n")
        for what, jobs, seconds, ratio in rows:
            out.write(f"{what},{jobs},{seconds:.2f},{'' if ratio is None else f'{ratio:.2f}'}\n")


if __name__ == "__main__":
    main()
