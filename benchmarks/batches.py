"""A day's batch scored against a frozen reference: wall time from the `snakemake`
command, as an inspector waits for it.

    python benchmarks/batches.py [--judges 60] [--images 1000 10000] > benchmarks/results/batches.txt

In a scratch copy of the workflow, the reference is made from 64 x 64 grey images
(the example's connectors drawn at that size, seeded: `--judges` NORMAL judges, 20 of
each defect group, 10 items per group); then a batch of N new 64 x 64 images is added to `batches_dir` and
`snakemake --cores 2` is timed end to end: planning, the batch job (reading, measuring
and scoring every image) and the drift chart. Printed per N: the wall time, and the
batch job's own time from its log.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZE = 64


def write_batch(folder, count, seed=0, group=None):
    """`count` connector images, 64 x 64, of `group` (None: the groups in turn)."""
    from PIL import Image

    from soart_core.example import GROUPS, draw_connector

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for k in range(count):
        pixels = draw_connector(rng, group or GROUPS[k % len(GROUPS)])
        image = Image.fromarray(pixels).resize((SIZE, SIZE))
        image.save(folder / f"img_{k:05d}.png")


def snakemake(workdir, *args):
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=workdir,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--judges", type=int, default=60, help="NORMAL judges")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch) / "wf"
        workdir.mkdir()
        for name in ("Snakefile", "config.yaml", "workflow", "profiles"):
            source = ROOT / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, workdir / name)
        from soart_core.example import GROUPS

        for set_name, count in (("learn", 20), ("valid", 10)):
            for k, group in enumerate(GROUPS):
                n = args.judges if set_name == "learn" and k == 0 else count
                write_batch(workdir / "images" / set_name / group, n,
                            seed=100 * k + n, group=group)
        (workdir / "line.yaml").write_text("images_dir: images\nbatches_dir: batches\n"
                                           "sweeps: {}\n")
        write_batch(workdir / "batches" / "day_first", 10)
        setup = snakemake(workdir, "--configfile", "line.yaml")
        print(f"# {args.judges} NORMAL judges; the reference and a first batch of 10: "
              f"{setup:.1f} s (once)")
        print(f"{'images':>8}{'wall s':>10}{'batch job s':>14}")
        for count in args.images:
            name = f"day_{count}"
            write_batch(workdir / "batches" / name, count, seed=count)
            wall = snakemake(workdir, "--configfile", "line.yaml")
            log = (workdir / "results" / "batches" / name / "batch.log").read_text()
            job = re.search(r"in ([0-9.]+) s on", log)
            print(f"{count:>8}{wall:>10.1f}{float(job.group(1)) if job else float('nan'):>14.1f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
