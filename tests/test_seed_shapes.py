"""Every shape the seed's script takes runs to the end, figures included: its tables
with fewer judges per group (2 or 3), no image geometry (tables mode), any grid."""

import csv

import pytest

import in_process
from conftest import copy_workflow, snakemake


def fewer_judges(workdir, per_group):
    """The example's learning tables cut to the first `per_group` judges of each group."""
    for path in sorted((workdir / "resources" / "example").glob("learn_*.csv")):
        with open(path, encoding="utf-8", newline="") as stream:
            rows = list(csv.reader(stream))
        seen, kept = {}, [rows[0]]
        for row in rows[1:]:
            group = row[-1]
            seen[group] = seen.get(group, 0) + 1
            if seen[group] <= per_group:
                kept.append(row)
        with open(path, "w", encoding="utf-8", newline="") as stream:
            csv.writer(stream).writerows(kept)
    return workdir


@pytest.mark.parametrize("per_group", [2, 3])
def test_tables_with_few_judges_run_every_stage(tmp_path, per_group):
    """The seed's tables with 2 or 3 judges per group, no geometry: every job, in
    process (the where figure once stopped on regions without a place: KeyError 'top')."""
    workdir = fewer_judges(copy_workflow(tmp_path / "wf"), per_group)
    in_process.run(workdir)
    for name in ("figures/where.png", "figures/answer.png", "workbook.xlsx",
                 "verdicts/summary.csv", "evaluation/summary.csv"):
        assert (workdir / "results" / name).stat().st_size > 0, name
    with open(workdir / "results/verdicts/regions.csv", encoding="utf-8") as stream:
        header = next(csv.reader(stream))
    assert {"item", "feature", "top", "left", "height", "width", "score"} <= set(header)


def test_the_whole_workflow_runs_on_tables_with_two_judges_per_group(tmp_path):
    """README's tables command on the seed's tables with 2 judges per group: Snakemake
    runs every job to the end, and a second run plans nothing."""
    workdir = fewer_judges(copy_workflow(tmp_path / "wf"), 2)
    snakemake(workdir, "--config", "images_dir=null", "data_dir=resources/example")
    assert (workdir / "results/figures/where.png").stat().st_size > 0
    assert "Nothing to be done" in snakemake(workdir, "--config", "images_dir=null",
                                             "data_dir=resources/example", "-n").stdout
