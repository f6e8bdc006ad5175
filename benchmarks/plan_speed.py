"""Does a defined sweep slow down the plan of a plain run? The wall time of a plain
`snakemake -n` (the example, from its images, after a full run) with the shipped config,
and with a 20,000-instance grid defined in it (max_sweep_instances raised to allow it),
in one scratch copy, each repeated; then the plan of that sweep itself (`-n sweep`),
which does make its instances.

    python benchmarks/plan_speed.py > benchmarks/results/plan_speed.txt

A sweep's instances are made only when a target asks for the sweep
(workflow/rules/sweeps.smk): the plain plan should cost the same with the grid as
without it (issue 34: within 20 %; before, 128 s against 8 s).
"""

import os
import shutil
import statistics
import subprocess
import sys
import time

import yaml

from sweep import scratch  # (this folder's: a scratch copy of the workflow)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REPEATS = 5
# 20 x 10 x 10 x 10 = 20,000 instances over keys of several stages
GRID = {
    "threshold.learn.cutoff": [round(0.1 + 0.02 * i, 2) for i in range(20)],
    "threshold.valid.cutoff": [round(0.1 + 0.05 * i, 2) for i in range(10)],
    "blocks.tolerance": [0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
    "verdicts.detectors.attention.temperature": [0.25 * (i + 1) for i in range(10)],
}


def snakemake(folder, *args):
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args],
                          cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if proc.returncode:
        sys.exit(proc.stdout)
    return time.perf_counter() - started, proc.stdout


def main():
    folder = scratch()
    try:
        snakemake(folder, "all")  # the plain run: its plan then has nothing to do
        grid = os.path.join(folder, "grid.yaml")
        with open(grid, "w") as stream:
            yaml.safe_dump({"max_sweep_instances": 20000, "sweeps": {"big": GRID}}, stream)
        size = 1
        for values in GRID.values():
            size *= len(values)
        times = {"without": [], "with": []}
        for _ in range(REPEATS):  # interleaved: a busy machine slows both alike
            times["without"].append(snakemake(folder, "-n")[0])
            times["with"].append(snakemake(folder, "-n", "--configfile", grid)[0])
        sweep_plan, out = snakemake(folder, "-n", "sweep", "--configfile", grid)
        assert "sweep_big_summary" in out
        without, with_grid = (statistics.median(times[k]) for k in ("without", "with"))
        print(f"plain `snakemake -n` of the example (after a full run), median of {REPEATS}")
        print(f"{'what':50s} {'wall s':>8s}")
        print(f"{'without a sweep grid':50s} {without:8.2f}")
        print(f"{f'with a {size:,}-instance grid defined':50s} {with_grid:8.2f}")
        print(f"{'ratio (with / without)':50s} {with_grid / without:8.2f}")
        print(f"{f'`snakemake -n sweep` of that grid (makes its instances)':50s} "
              f"{sweep_plan:8.2f}")
        print("runs: " + ", ".join(f"{k} " + " ".join(f"{t:.2f}" for t in v)
                                   for k, v in times.items()))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
