"""Throughput and memory of the metrics stage on many large images.

    python benchmarks/metrics.py                       # 5,000 images of 256 x 256
    python benchmarks/metrics.py --images 500 --size 256

Writes the images (the example's connector, scaled up, with its nuisance variation and
defects) into a scratch folder, then runs the metrics job in a child process per count
(so its peak RSS is its own) and prints images/s and peak RSS. A peak that does not
grow with the image count shows the stage streams. Writes benchmarks/results/metrics.csv.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def make_images(folder, count, size, seed=0):
    import numpy as np
    from PIL import Image

    from soart_core.example import GROUPS, draw_connector

    rng = np.random.default_rng(seed)
    learn = 9
    for k in range(count):
        set_name = "learn" if k < learn else "valid"
        group = GROUPS[k % 3]
        target = os.path.join(folder, set_name, group)
        os.makedirs(target, exist_ok=True)
        image = Image.fromarray(draw_connector(rng, group)).resize((size, size),
                                                                     Image.BILINEAR)
        image.save(os.path.join(target, f"{k:06d}.png"))


def run_one(folder, out):
    from types import SimpleNamespace

    from soart_core import jobs
    from soart_core.images import find_images

    order = ["NORMAL", "ERROR_A", "ERROR_B"]
    images = find_images(folder, order)
    names = {m: (f"learn_{m}.csv", f"valid_{m}.csv") for m in ("Y1", "Y2", "Y3")}
    params = SimpleNamespace(
        metrics=list(names), labels=[[s, g] for _, s, g in images],
        group_column="class", kinds={"Y1": "beta", "Y2": "eta", "Y3": "gamma"},
        grayscale="luma", grid=[2, 2], crop=None, sn_ratio="db", sn_max_db=100.0,
        reference_group="NORMAL")
    outputs = SimpleNamespace(learn=[os.path.join(out, n[0]) for n in names.values()],
                              valid=[os.path.join(out, n[1]) for n in names.values()])
    start = time.perf_counter()
    jobs.metrics(SimpleNamespace(images=[p for p, _, _ in images]), outputs, params)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds,
                      "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return run_one(*args.one)
    rows = []
    for count in args.images:
        scratch = tempfile.mkdtemp(prefix="soart-metrics-")
        try:
            start = time.perf_counter()
            make_images(os.path.join(scratch, "images"), count, args.size)
            made = time.perf_counter() - start
            proc = subprocess.run([sys.executable, __file__, "--one",
                                   os.path.join(scratch, "images"),
                                   os.path.join(scratch, "out")],
                                  capture_output=True, text=True, check=True)
            result = json.loads(proc.stdout.strip().splitlines()[-1])
        finally:
            shutil.rmtree(scratch)
        rows.append((count, args.size, result["seconds"], count / result["seconds"],
                     result["peak_rss"] / 2 ** 20, made))
        print(f"{count:>6} images of {args.size} x {args.size}: {result['seconds']:7.2f} s, "
              f"{count / result['seconds']:6.0f} images/s, peak RSS "
              f"{result['peak_rss'] / 2 ** 20:6.0f} MiB (writing them took {made:.0f} s)",
              flush=True)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "metrics.csv"), "w") as out:
        out.write("images,size,seconds,images_per_s,peak_rss_mib\n")
        for count, size, seconds, rate, rss, _ in rows:
            out.write(f"{count},{size},{seconds:.2f},{rate:.1f},{rss:.0f}\n")


if __name__ == "__main__":
    main()
