"""The workbook job on a large run: wall time, peak memory and file size.

    python benchmarks/workbook.py                       # N = 100,000 items, J = 255
    python benchmarks/workbook.py --items 20000 --judges 255 --metrics 3

Writes stage CSVs as a run of N items (3 groups) and J judges makes them (difference,
attention, blocks, verdicts of `--metrics` words metrics; an evaluation summary), then
writes the workbook from them twice, each in a fresh process whose peak RSS
(resource.getrusage) it reports: with the default workbook.max_items (20,000: the item
sheets hold group means) and with max_items = N (every item on the sheets: 2 x N x J
cells per metric, soart_core.xlsx's streaming writer).
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
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

GROUPS = ["NORMAL", "ERROR_A", "ERROR_B"]


def make_tables(folder, items, judges, metrics):
    """Stage CSVs of a run; returns write_workbook's keyword arguments (paths)."""
    import numpy as np

    from soart_core import jobs
    from soart_core.tables import Table, write_columns, write_rounded, write_table

    rng = np.random.default_rng(0)
    item_groups = [GROUPS[3 * i // items] for i in range(items)]
    names = [f"valid/{g}/valid_{g}_{i:06d}.png" for i, g in enumerate(item_groups)]
    judge_groups = [GROUPS[3 * j // judges] for j in range(judges)]
    judge_names = [f"learn/{g}/learn_{g}_{j:03d}.png" for j, g in enumerate(judge_groups)]
    words = [f"Y{k + 1}" for k in range(metrics)]
    files = {"attention": [], "difference": [], "blocks": [], "verdicts": []}
    for metric in words:
        attention = np.round(rng.random((items, judges)), 5)
        difference = attention - attention[:items // 3].mean(axis=0)
        for kind, values in (("attention", attention), ("difference", difference)):
            path = os.path.join(folder, kind, f"{metric}.csv")
            write_table(Table(path, names, item_groups, judge_names, values), "item", path,
                        decimals=5 if kind == "attention" else None)
            files[kind].append(path)
        path = os.path.join(folder, "blocks", f"{metric}.csv")
        write_columns(path, jobs.score_blocks(
            Table(path, names, item_groups, judge_names, difference), judge_groups, GROUPS,
            1e-5))
        files["blocks"].append(path)
        path = os.path.join(folder, "verdicts", f"{metric}.csv")
        distance = rng.random(items) * 3
        write_columns(path, {"item": names, "group": item_groups,
                             "predicted": rng.choice(GROUPS, items), "distance": distance,
                             "flag": np.where(distance > 2.5, "abnormal", "normal"),
                             **{f"sign_{g}": rng.choice([-1.0, 0.0, 1.0], items)
                                for g in GROUPS}})
        files["verdicts"].append(path)
    summary = os.path.join(folder, "evaluation", "summary.csv")
    write_rounded(summary, {"metric": words, "method": ["difference_nearest_centroid"] *
                            metrics, "n": np.full(metrics, items),
                            "balanced_accuracy": np.full(metrics, 0.5),
                            "chance_balanced_accuracy": np.full(metrics, 1 / 3),
                            "warnings": [""] * metrics})
    judges_csv = os.path.join(folder, "normalise", "judges.csv")
    write_columns(judges_csv, {"judge": judge_names, "group": judge_groups})
    return dict(words=words, order=GROUPS, summary=summary, judge_groups=judges_csv,
                **files)


def child(spec):
    """In a fresh process: make the tables, or write the workbook and print its figures
    (as JSON). Linux carries a parent's peak RSS into its children (getrusage's
    ru_maxrss survives fork and exec), so the parent that starts these stays small."""
    if "folder" in spec:
        print(json.dumps(make_tables(spec["folder"], spec["items"], spec["judges"],
                                     spec["metrics"])))
        return
    import yaml

    from soart_core.workbook import write_workbook

    settings = yaml.safe_load(open(os.path.join(ROOT, "config.yaml")))
    start = time.perf_counter()
    write_workbook(spec["out"], max_items=spec["max_items"], settings=settings,
                   **spec["arguments"])
    print(json.dumps({"seconds": time.perf_counter() - start,
                      "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "bytes": os.path.getsize(spec["out"])}))


def run_child(spec):
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                          check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--judges", type=int, default=255)
    parser.add_argument("--metrics", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    scratch = tempfile.mkdtemp(prefix="soart-workbook-")
    try:
        start = time.perf_counter()
        arguments = run_child({"folder": scratch, "items": args.items,
                               "judges": args.judges, "metrics": args.metrics})
        csv_bytes = sum(os.path.getsize(p) for p in arguments["difference"] +
                        arguments["attention"])
        print(f"N = {args.items:,} items, J = {args.judges} judges, {args.metrics} words "
              f"metric(s): stage CSVs written in {time.perf_counter() - start:.0f} s "
              f"(difference + attention {csv_bytes / 2 ** 20:.0f} MiB)")
        for label, max_items in (("default max_items 20,000 (group means)", 20_000),
                                 (f"max_items = N (every item, {2 * args.metrics} sheets of "
                                  f"{args.items:,} x {args.judges})", args.items)):
            r = run_child({"arguments": arguments, "max_items": max_items,
                           "out": os.path.join(scratch, "workbook.xlsx")})
            print(f"{label}: {r['seconds']:.1f} s, peak RSS {r['peak_mib']:.0f} MiB, "
                  f"workbook {r['bytes'] / 2 ** 20:.1f} MiB")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
