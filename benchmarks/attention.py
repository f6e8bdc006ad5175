"""Time and peak memory of the attention stage against the seed and other ways.

    python benchmarks/attention.py                 # N in 1,000 4,000 20,000 100,000
    python benchmarks/attention.py --sizes 1000 4000 --judges 256 --features 64

Each case runs in its own process (so peak RSS is its own): the seed's arithmetic as
written (cell loops and the full N x N matrix), the full-matrix numpy/scipy formula,
soart's `stages.attention`, and PyTorch's scaled_dot_product_attention on the CPU with
4-D inputs (its memory-efficient path) when torch is installed. FLOPs per call are
counted as 6 N d J + 4 N^2 J (the plain formula's), so a rate is comparable across
methods; the machine's matrix-multiply rate is measured in the same run. Writes
benchmarks/results/attention.csv and attention.png and prints a table.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
RESULTS = os.path.join(HERE, "results")
CASES = [("seed", "float64"), ("full", "float64"), ("soart", "float64"),
         ("soart", "float32"), ("torch", "float64"), ("torch", "float32")]


def inputs(n, j, d, dtype):
    """Thresholded-looking words and weights: non-negative, with zeros."""
    rng = np.random.default_rng(n + j + d)
    x = np.where(rng.random((n, d)) < 0.2, 0.0, rng.uniform(0.3, 2.0, (n, d)))
    weights = [np.where(rng.random((d, j)) < 0.3, 0.0, rng.uniform(0.25, 4.0, (d, j))) / d
               for _ in range(3)]
    return x.astype(dtype), [w.astype(dtype) for w in weights]


def seed_as_written(x, wq, wk, wv):
    from scipy.special import softmax

    x = x.copy()
    for i in range(x.shape[0]):  # the seed's validation threshold loop
        for j in range(x.shape[1]):
            if x[i, j] < 0.3:
                x[i, j] = 0
            else:
                x[i, j] = x[i, j]
    q, k, v = x @ wq, x @ wk, x @ wv
    scores = q @ k.transpose()
    attention = softmax(scores / k.shape[1] ** 0.5, axis=1) @ v
    for row in range(attention.shape[0]):  # the seed's rounding loop
        for col in range(attention.shape[1]):
            attention[row, col] = round(attention[row, col], 5)
    return attention


def full_matrix(x, wq, wk, wv):
    from scipy.special import softmax

    q, k, v = x @ wq, x @ wk, x @ wv
    return softmax(q @ k.T / k.shape[1] ** 0.5, axis=1) @ v


def torch_sdpa(x, wq, wk, wv):
    import torch

    torch.set_num_threads(os.cpu_count())
    with torch.no_grad():
        tx = torch.from_numpy(x)
        q, k, v = (tx @ torch.from_numpy(w) for w in (wq, wk, wv))
        out = torch.nn.functional.scaled_dot_product_attention(
            q[None, None], k[None, None], v[None, None])
        return out[0, 0].numpy()


def soart(x, wq, wk, wv):
    from soart_core.stages import attention

    return attention(x, wq, wk, wv, dtype=x.dtype.type, workers=os.cpu_count())


METHODS = {"seed": seed_as_written, "full": full_matrix, "soart": soart, "torch": torch_sdpa}


def run_one(case, n, j, d, dtype):
    """In a child process: time one case; print JSON with seconds and peak RSS."""
    if case == "torch":
        import torch  # noqa: F401 (import before the baseline, like numpy)
    x, (wq, wk, wv) = inputs(n, j, d, np.dtype(dtype))
    method = METHODS[case]
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    times = []
    while not times or (sum(times) < 1.0 and len(times) < 20):
        start = time.perf_counter()
        method(x, wq, wk, wv)
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": min(times), "runs": len(times), "peak_rss": peak,
                      "base_rss": base_rss}))


def matmul_rate(dtype, size=4096):
    a = np.random.default_rng(0).standard_normal((size, size)).astype(dtype)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(5))
    return 2 * size ** 3 / best


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def fits(case, n, memory):
    if case in ("seed", "full"):  # several N x N float64 arrays at once
        return 4 * n * n * 8 < 0.8 * memory
    return True


def have_torch():
    return subprocess.run([sys.executable, "-c", "import torch"],
                          capture_output=True).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 20000, 100000])
    parser.add_argument("--judges", type=int, default=256)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--cases", nargs="+", default=sorted({c for c, _ in CASES}))
    parser.add_argument("--seed-max", type=int, default=20000,
                        help="largest N for the seed's cell loops (slow, not big)")
    parser.add_argument("--one", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--rates", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        case, n, j, d, dtype = args.one
        return run_one(case, int(n), int(j), int(d), dtype)
    if args.rates:
        return print(json.dumps({dt: matmul_rate(dt) for dt in ("float64", "float32")}))

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    # in a child, as every case: a child inherits its parent's peak RSS across exec
    rates = json.loads(subprocess.run([sys.executable, __file__, "--rates"], check=True,
                                      capture_output=True, text=True).stdout)
    print(f"matrix multiply (4096^2, {os.cpu_count()} threads): float64 "
          f"{rates['float64'] / 1e9:.1f} GFLOP/s, float32 {rates['float32'] / 1e9:.1f} GFLOP/s")
    torch_ok = have_torch()
    j, d = args.judges, args.features
    rows = []
    for n in args.sizes:
        for case, dtype in CASES:
            if case not in args.cases:
                continue
            skip = None
            if case == "torch" and not torch_ok:
                skip = "torch not installed"
            elif not fits(case, n, memory):
                skip = "N x N matrices do not fit in memory"
            elif case == "seed" and n > args.seed_max:
                skip = f"N > --seed-max {args.seed_max}"
            row = {"case": case, "dtype": dtype, "N": n, "J": j, "d": d}
            if skip:
                rows.append({**row, "skipped": skip})
                continue
            proc = subprocess.run([sys.executable, __file__, "--one", case, str(n), str(j),
                                   str(d), dtype], capture_output=True, text=True)
            if proc.returncode != 0:
                rows.append({**row, "skipped": "failed: " + proc.stderr.strip()[-200:]})
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            flops = 6 * n * d * j + 4 * n * n * j
            rate = flops / result["seconds"]
            rows.append({**row, "seconds": result["seconds"], "runs": result["runs"],
                         "gflops": rate / 1e9, "of_matmul": rate / rates[dtype],
                         "peak_rss_mib": result["peak_rss"] / 2 ** 20,
                         "work_rss_mib": (result["peak_rss"] - result["base_rss"]) / 2 ** 20,
                         "skipped": ""})
            print(format_row(rows[-1]), flush=True)
    write_results(rows, rates)


def format_row(r):
    if r.get("skipped"):
        return f"{r['case']:>6} {r['dtype']:>8} N={r['N']:>7,}  skipped: {r['skipped']}"
    return (f"{r['case']:>6} {r['dtype']:>8} N={r['N']:>7,}  {r['seconds']:9.3f} s "
            f"{r['gflops']:7.1f} GFLOP/s {100 * r['of_matmul']:6.1f}% of matmul  "
            f"peak RSS {r['peak_rss_mib']:8.0f} MiB (work {r['work_rss_mib']:.0f})")


def write_results(rows, rates):
    import pandas as pd

    os.makedirs(RESULTS, exist_ok=True)
    frame = pd.DataFrame(rows)
    frame["matmul_gflops"] = frame["dtype"].map({k: v / 1e9 for k, v in rates.items()})
    frame.to_csv(os.path.join(RESULTS, "attention.csv"), index=False)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = frame[frame["skipped"] == ""]
    fig, (ax_rate, ax_mem) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (case, dtype), part in done.groupby(["case", "dtype"], sort=False):
        style = "-" if dtype == "float64" else "--"
        ax_rate.plot(part["N"], part["gflops"], style, marker="o", label=f"{case} {dtype}")
        ax_mem.plot(part["N"], part["peak_rss_mib"], style, marker="o", label=f"{case} {dtype}")
    for dtype, rate in rates.items():
        ax_rate.axhline(rate / 1e9, color="grey", lw=0.8, ls=":" if dtype == "float64" else "-.")
        ax_rate.annotate(f"matmul {dtype}", (done["N"].min(), rate / 1e9), fontsize=7,
                         va="bottom", color="grey")
    ax_rate.set(xscale="log", xlabel="items N", ylabel="GFLOP/s (6NdJ + 4N²J per call)",
                title=f"attention rate, J={int(frame['J'][0])}, d={int(frame['d'][0])}")
    ax_mem.set(xscale="log", yscale="log", xlabel="items N", ylabel="peak RSS (MiB)",
               title="peak memory (own process)")
    ax_rate.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(RESULTS, "attention.png"), dpi=110)
    print(f"wrote {os.path.join(RESULTS, 'attention.csv')} and attention.png")


if __name__ == "__main__":
    main()
