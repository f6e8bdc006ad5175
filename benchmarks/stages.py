"""The whole workflow stage by stage: CPU, wall, peak memory and throughput beside its
floor, for N items, J judges and d features (3 metrics, every default output, the
workbook included); and the CSV writers and readers side by side on one N x J table.

    python benchmarks/stages.py --items 20000 --judges 256 --features 64
    python benchmarks/stages.py --items 2000 --csv-only

Generates metric tables in a scratch folder, runs `snakemake --cores 2` on them from
tables (images_dir null) and reads every job's benchmark file (results/benchmarks/:
Snakemake's wall s, cpu_time and max_rss). A stage's throughput is the CSV bytes it
reads and writes per CPU second; its floor is the rate at which polars, the fastest
CSV library measured here, reads and writes a table of the same size on this machine
(for the attention: also its FLOPs, 6 N d J + 4 N^2 J per metric, at this machine's
matrix-multiply rate). "x floor" is CPU s over the floor's seconds. Prints the tables
and writes them to benchmarks/results/stages.txt (--out).
"""

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def csv_side_by_side(n, j, repeat=3):
    """Write and read one N x J float table (item and group columns first) with each
    library: best of `repeat` wall seconds, and whether the round trip is exact."""
    from soart_core.tables import Table, read_table, write_table

    rng = np.random.default_rng(0)
    values = rng.standard_normal((n, j)) * 10.0 ** rng.integers(-6, 3, (n, j))
    names = [f"valid/NORMAL/valid_NORMAL_{i:06d}.png" for i in range(n)]
    groups = ["NORMAL"] * n
    columns = [f"learn_{k:03d}.png" for k in range(j)]
    folder = tempfile.mkdtemp(prefix="soart-csv-")
    path = os.path.join(folder, "t.csv")

    def soart_write():
        write_table(Table(path, names, groups, columns, values), "item", path)

    def soart_read():
        return read_table(path, "item").values

    cases = [("soart_core.tables", soart_write, soart_read)]
    try:
        import polars as pl

        frame = pl.DataFrame({"item": names, "group": groups,
                              **{c: values[:, k] for k, c in enumerate(columns)}})
        cases.append(("polars", lambda: frame.write_csv(path),
                      lambda: pl.read_csv(path).drop(["item", "group"]).to_numpy()))
    except ImportError:
        pass
    try:
        import pandas as pd

        pframe = pd.DataFrame(values, columns=columns)
        pframe.insert(0, "group", groups)
        pframe.insert(0, "item", names)
        cases.append(("pandas (C engine)",
                      lambda: pframe.to_csv(path, index=False, float_format=None),
                      lambda: pd.read_csv(path).drop(columns=["item", "group"]).to_numpy()))
    except ImportError:
        pass
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = pa.table({"item": names, "group": groups,
                          **{c: values[:, k] for k, c in enumerate(columns)}})
        cases.append(("pyarrow.csv", lambda: pacsv.write_csv(table, path),
                      lambda: np.column_stack([c.to_numpy() for c in
                                               pacsv.read_csv(path).columns[2:]])))
    except ImportError:
        pass
    rows = []
    try:
        # interleaved, best of `repeat`: a busy machine slows every library alike
        times = {name: ([], []) for name, _, _ in cases}
        for _ in range(repeat):
            for name, write, read in cases:
                times[name][0].append(_timed(write))
                times[name][1].append(_timed(read))
        for name, write, read in cases:
            write()
            exact = bool(np.array_equal(read(), values))
            rows.append((name, min(times[name][0]), min(times[name][1]), exact,
                         os.path.getsize(path)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def _timed(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def matmul_rate(size=2048):
    """This machine's float64 matrix-multiply rate (FLOP/s), on one thread as a job's."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).random((size, size))
    with threadpool_limits(1, user_api="blas"):
        a @ a
        best = min(_timed(lambda: a @ a) for _ in range(3))
    return 2 * size ** 3 / best


def job_table(results):
    """{job: (wall s, cpu s, peak MiB)} from results/benchmarks/*.tsv."""
    jobs = {}
    folder = os.path.join(results, "benchmarks")
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as stream:
            header, *lines = [line.rstrip("\n").split("\t") for line in stream]
        row = dict(zip(header, lines[-1]))
        jobs[name[:-4]] = (float(row["s"]), float(row["cpu_time"]), float(row["max_rss"]))
    return jobs


def stage_bytes(workdir, config):
    """{stage: (bytes read, bytes written)} of the run's CSV and xlsx files, from the
    stages' declared inputs and outputs (soart_core.settings.STAGES)."""
    from soart_core.layout import stage_files
    from soart_core.settings import STAGES, input_paths, words as words_of

    metrics, words = list(config["metrics"]), words_of(config)

    def size(files):
        files = [files] if isinstance(files, str) else files
        return sum(os.path.getsize(os.path.join(workdir, f)) for f in files
                   if os.path.exists(os.path.join(workdir, f)))

    done = {}
    for stage, spec in STAGES.items():
        if stage == "metrics":
            continue
        if stage == "normalise":
            tables = input_paths(config)
            read = sum(size([tables[m][k] for k in ("learn", "valid")]) for m in metrics)
        else:
            read = 0
            for before, output, *only in spec.inputs.values():
                files = getattr(stage_files("results", before, metrics, words), output)
                if only and not isinstance(files, str):
                    files = [files[metrics.index(w)] for w in words]
                read += size(files)
        written = sum(size(f) for f in vars(stage_files("results", stage, metrics,
                                                        words)).values())
        done[stage] = (read, written)
    return done


def whole_run(items, judges, features, keep=None):
    """Run the workflow on generated tables; returns (wall s, jobs, stage bytes,
    config)."""
    import yaml

    from soart_core.example import write_example

    scratch = keep or tempfile.mkdtemp(prefix="soart-stages-")
    os.makedirs(scratch, exist_ok=True)
    for name in ("Snakefile", "workflow", "soart_core", "profiles"):
        src = os.path.join(ROOT, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy2)(
            src, os.path.join(scratch, name))
    per_group_items, per_group_judges = items // 3, judges // 3
    write_example(os.path.join(scratch, "data"), judges_per_group=per_group_judges,
                  items_per_group=per_group_items, n_features=features, seed=1)
    config = yaml.safe_load(open(os.path.join(ROOT, "config.yaml")))
    config.update(images_dir=None, data_dir="data", sweeps={},
                  features=f"X0:X{features - 1}")
    config["groups"]["valid_counts"] = [per_group_items] * 3
    yaml.safe_dump(config, open(os.path.join(scratch, "config.yaml"), "w"))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--quiet"],
                   cwd=scratch, check=True)
    wall = time.perf_counter() - start
    jobs = job_table(os.path.join(scratch, "results"))
    sizes = stage_bytes(scratch, config)
    if keep is None:
        shutil.rmtree(scratch, ignore_errors=True)
    return wall, jobs, sizes, (3 * per_group_items, 3 * per_group_judges)


def stage_of(job):
    from soart_core.settings import STAGES

    return max((s for s in STAGES if job == s or job.startswith(s + "_") or
                job.startswith(s + ".")), key=len, default=job)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--judges", type=int, default=256)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--csv-items", type=int,
                        help="the CSV comparison's rows (default: --items)")
    parser.add_argument("--csv-only", action="store_true",
                        help="only the CSV libraries side by side")
    parser.add_argument("--keep", help="run in this folder and keep it")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "stages.txt"))
    args = parser.parse_args()
    out = io.StringIO()

    def say(line=""):
        print(line, flush=True)
        out.write(line + "\n")

    say("$ python " + " ".join(["benchmarks/stages.py"] + sys.argv[1:]))
    say(f"machine: {os.cpu_count()} cores, load average "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} at the start")
    say()
    say(f"CSV: one {args.csv_items or args.items:,} x {args.judges} table (item, group, floats), write and "
        f"read, best of 3 interleaved (wall s)")
    csv_rows = csv_side_by_side(args.csv_items or args.items, args.judges)
    say("| writer / reader | write s | read s | exact round trip | MB |")
    say("|---|---|---|---|---|")
    for name, w, r, exact, size in csv_rows:
        say(f"| {name} | {w:.2f} | {r:.2f} | {'yes' if exact else 'NO'} | "
            f"{size / 1e6:.0f} |")
    fastest_w = min(w for _, w, _, e, _ in csv_rows if e)
    fastest_r = min(r for _, _, r, e, _ in csv_rows if e)
    ours = csv_rows[0]
    say(f"soart_core.tables: write {ours[1] / fastest_w:.2f}x, read "
        f"{ours[2] / fastest_r:.2f}x the fastest exact library (goal: within 2x)")
    if args.csv_only:
        return _save(args.out, out)
    polars = dict((n, (w, r, s)) for n, w, r, _, s in csv_rows).get("polars", ours[1:])
    csv_rate = 2 * polars[2] / (polars[0] + polars[1])  # bytes/s, write and read
    flop_rate = matmul_rate()
    say()
    wall, jobs, sizes, (n, j) = whole_run(args.items, args.judges, args.features,
                                          args.keep)
    d = args.features
    say(f"Whole workflow: N = {n:,} items, J = {j} judges, d = {d}, 3 metrics, "
        f"--cores 2: {wall:.0f} s wall")
    say(f"floors: CSV {csv_rate / 1e6:.0f} MB/s (polars, read and write, measured above); "
        f"matrix multiply {flop_rate / 1e9:.1f} GFLOP/s (one thread)")
    stages = {}
    for job, (w, cpu, rss) in jobs.items():
        s = stages.setdefault(stage_of(job), [0.0, 0.0, 0.0, 0])
        s[0] += w
        s[1] += cpu
        s[2] = max(s[2], rss)
        s[3] += 1
    total_cpu = sum(s[1] for s in stages.values())
    say()
    say("| stage | jobs | CPU s | share | wall s | peak MiB | MB read + written | "
        "throughput MB/s (CPU) | floor s | x floor |")
    say("|---|---|---|---|---|---|---|---|---|---|")
    for stage, (w, cpu, rss, count) in sorted(stages.items(), key=lambda x: -x[1][1]):
        read, written = sizes.get(stage, (0, 0))
        moved = read + written
        floor = moved / csv_rate
        if stage == "attention":
            floor += 3 * (6 * n * d * j + 4 * n * n * j) / flop_rate
        say(f"| {stage} | {count} | {cpu:.1f} | {100 * cpu / total_cpu:.0f} % | {w:.1f} | "
            f"{rss:.0f} | {moved / 1e6:.0f} | {moved / 1e6 / max(cpu, 1e-9):.0f} | "
            f"{floor:.1f} | {cpu / floor if floor else float('nan'):.1f} |")
    say(f"| all jobs | {sum(s[3] for s in stages.values())} | {total_cpu:.1f} | | | "
        f"{max(s[2] for s in stages.values()):.0f} | | | | |")
    attention = stages.get("attention", [0, 0])[1]
    workbook = stages.get("workbook", [0, 0])[1]
    say()
    say(f"all jobs' CPU / the attention jobs' CPU: {total_cpu / attention:.2f} "
        f"(goal: at most 2.5)")
    say(f"workbook's share of the run's CPU: {100 * workbook / total_cpu:.1f} % "
        f"(goal: at most 15 %)")
    _save(args.out, out)


def _save(path, out):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(out.getvalue())


if __name__ == "__main__":
    main()
