"""Sweeps: instances share stages, rank in a summary, rerun only what is new; the report
and the figures."""

import os
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image

from conftest import ROOT, copied_run, planned_jobs, snakemake
from soart_core.sweep import SweepError, format_value, plan, short_names

DEFAULT_INSTANCE = "cutoff~0.5_query~Y3_method~group-mean"  # the plain config's values


# a sweep of the stages after the tables (the shipped example sweeps the images':
# tests/test_sweep_best.py), ranked by the answer's balanced accuracy
SWEEP = {"threshold.learn.cutoff": [0.3, 0.4, 0.5], "roles.query": ["Y1", "Y2", "Y3"],
         "baseline.method": ["group_mean", "median"]}


@pytest.fixture(scope="module")
def sweep_run(example_run, tmp_path_factory):
    """The example's run, then the sweep SWEEP, in a copy of its own."""
    workdir = copied_run(example_run, tmp_path_factory.mktemp("sweep") / "wf")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["sweeps"] = {"example": SWEEP}
    config["evaluate"]["rank_by"] = "balanced_accuracy"
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(workdir, "sweep")
    return workdir


def test_sweep_layout_sharing_and_ranking(sweep_run):
    results = sweep_run / "results"
    root = results / "sweeps" / "example"
    summary = pd.read_csv(root / "summary.csv")
    assert len(summary) == 18 and summary["rank"].iloc[0] == 1
    ranked = summary["mean_balanced_accuracy"].tolist()
    assert ranked == sorted(ranked, reverse=True)
    # equal figures, equal rank: the lowest of the tie (competition ranking)
    expected = [1 + sum(r > value for r in ranked) for value in ranked]
    assert summary["rank"].tolist() == expected
    assert (summary["mean_balanced_accuracy_low"] <= summary["mean_balanced_accuracy"]).all()
    assert {"threshold.learn.cutoff", "roles.query", "baseline.method"} <= set(summary)
    # a stage runs once per distinct value of what it reads: threshold and the classic
    # baselines per cutoff, weights and attention per cutoff x query, the rest per
    # instance; normalise reads nothing swept: the plain run's
    shared = {name: sorted(p.name for p in (root / "_shared").glob(f"*/{name}"))
              for name in ("normalise", "threshold", "weights", "attention", "classic")}
    assert {k: len(v) for k, v in shared.items()} == {
        "normalise": 0, "threshold": 3, "weights": 9, "attention": 9, "classic": 3}
    instance = root / DEFAULT_INSTANCE
    for stage in ("normalise", "threshold", "weights", "attention", "classic",
                  "difference", "blocks", "verdicts", "evaluation"):
        assert (instance / stage).is_dir(), stage
    assert os.path.realpath(instance / "normalise") == str(results / "normalise")
    assert not (instance / "difference").is_symlink()
    params = yaml.safe_load((instance / "params.yaml").read_text())
    assert params["swept"] == {"threshold.learn.cutoff": 0.5, "roles.query": "Y3",
                               "baseline.method": "group_mean"}
    assert (root / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_instance_equals_the_plain_run_with_its_values(sweep_run):
    instance = sweep_run / "results" / "sweeps" / "example" / DEFAULT_INSTANCE
    plain = sweep_run / "results"
    for path in ("threshold/Y1_learn.csv", "attention/Y1.csv", "difference/Y2.csv",
                 "blocks/Y3.csv", "verdicts/Y1.csv", "classic/Y2.csv",
                 "evaluation/summary.csv"):
        assert (instance / path).read_bytes() == (plain / path).read_bytes(), path


def test_rerun_does_nothing_and_a_longer_grid_runs_only_new_instances(sweep_run):
    assert planned_jobs(sweep_run, "sweep") == {}
    original = (sweep_run / "config.yaml").read_text()
    config = yaml.safe_load(original)
    config["sweeps"]["example"]["baseline.method"].append("mean")
    (sweep_run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        # 9 new instances; they reuse normalise, threshold, classic and attention
        assert planned_jobs(sweep_run, "sweep") == {
            "sweep_example_difference": 1, "sweep_example_blocks": 1,
            "sweep_example_verdicts": 1, "sweep_example_evaluate": 1,
            "sweep_example_summary": 1, "sweep": 1}
        config["sweeps"]["example"]["threshold.learn.cutoff"].append(0.6)
        (sweep_run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        assert planned_jobs(sweep_run, "sweep") == {
            f"sweep_example_{stage}": 1 for stage in (
                "threshold", "weights", "attention", "classic", "difference", "blocks",
                "verdicts", "evaluate", "summary")} | {"sweep": 1}
    finally:
        (sweep_run / "config.yaml").write_text(original)


def computed_and_kept(workdir, sweep, stage):
    """(runs computed or copied from a run with the same inputs, runs kept) by the last
    job of `stage` in `sweep`, from its log."""
    log = (workdir / "results" / "sweeps" / sweep / "logs" / f"{stage}.log").read_text()
    line = next(l for l in log.splitlines() if " run(s) computed, " in l)
    counts = re.findall(r"(\d+) (?:run\(s\) computed|copied|kept)", line)
    computed, copied, kept = map(int, counts)
    return computed + copied, kept


def instance_tables(folder):
    """{path: bytes} of the CSVs of a sweep instance, through its links to shared runs."""
    return {os.path.relpath(os.path.join(where, name), folder):
            Path(where, name).read_bytes()
            for where, _, names in os.walk(folder, followlinks=True)
            for name in names if name.endswith(".csv")}


def test_a_longer_grid_computes_only_its_new_runs_and_a_changed_input_all(sweep_run,
                                                                           tmp_path):
    from conftest import copy_workflow

    workdir = copy_workflow(tmp_path)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["sweeps"] = {"s": {"threshold.learn.cutoff": [0.4, 0.5],
                              "baseline.method": ["group_mean", "median"]}}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(workdir, "sweep")
    root = workdir / "results" / "sweeps" / "s"
    config["sweeps"]["s"]["threshold.learn.cutoff"].append(0.3)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(workdir, "sweep")
    assert computed_and_kept(workdir, "s", "attention") == (1, 2)
    assert computed_and_kept(workdir, "s", "difference") == (2, 4)
    # each instance equals the one of the example's sweep (computed from scratch) with
    # its values, the query being the plain run's (Y3)
    example = sweep_run / "results" / "sweeps" / "example"
    instances = sorted(p for p in root.iterdir() if (p / "params.yaml").is_file())
    assert len(instances) == 6
    for instance in instances:
        cutoff, method = instance.name.split("_")
        ours = instance_tables(instance)
        assert len(ours) > 20 and ours == instance_tables(
            example / f"{cutoff}_query~Y3_{method}"), instance.name
    # a changed input (every table normalised anew) leaves nothing to keep, and a value
    # taken out of the grid takes its folders along
    config["normalise"]["scale"] = 3.0
    config["sweeps"]["s"]["threshold.learn.cutoff"].remove(0.3)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(workdir, "sweep")
    assert computed_and_kept(workdir, "s", "threshold") == (2, 0)
    assert computed_and_kept(workdir, "s", "evaluate") == (4, 0)
    summary = pd.read_csv(root / "summary.csv", encoding="utf-8-sig")
    instances = sorted(p.name for p in root.iterdir() if (p / "params.yaml").is_file())
    assert instances == sorted(summary["instance"]) and len(instances) == 4
    assert sorted(p.name for p in (root / "_shared").iterdir()) == ["cutoff~0.4",
                                                                   "cutoff~0.5"]


def test_a_dry_run_of_a_large_grid_reads_as_a_plan(example_run, tmp_path):
    """30 instances: no line of `snakemake -n` over a few hundred characters (each of
    the plain run's files is named once, not once per run)."""
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump({"sweeps": {"big": {
        "threshold.learn.cutoff": [0.2, 0.3, 0.4, 0.5, 0.6], "roles.query": ["Y1", "Y2", "Y3"],
        "baseline.method": ["group_mean", "median"]}}}))
    out = snakemake(example_run, "-n", "sweep", "--configfile", str(path)).stdout
    assert "sweep_big_summary" in out
    assert max(len(line) for line in out.splitlines()) < 500


# every config key a stage reads, with another valid value (the example sweeps
# threshold.learn.cutoff, roles.query and baseline.method)
CHANGES = {
    "features": "X0:X2",
    "groups.valid_counts": [9, 11, 10],
    "id_column": None,
    "encoding": "utf-8",
    "delimiter": ",",
    "decimal": ".",
    "normalise.scale": 3.0,
    "threshold.learn.power": 1.5,
    "threshold.learn.cutoff": 0.45,
    "threshold.valid.cutoff": 0.2,
    "threshold.valid.power": 2.0,
    "roles.key": "Y3",
    "roles.query": "Y1",
    "attention.decimals": 6,
    "attention.chunk_rows": 7,
    "attention.dtype": "float32",
    "attention.job_per_metric": True,
    "baseline.method": "mean",
    "baseline.group": "ERROR_A",
    "blocks.tolerance": 0.01,
    "verdicts.mt_threshold": 3.0,
    "verdicts.mt_quantile": 0.9,
    "verdicts.mt_max_loo_items": 5,
    "verdicts.method": "regions",
    "verdicts.detectors.attention.temperature": 0.5,
    "verdicts.detectors.attention.feature_scale": "none",
    "images.grid": [3, 3],
    "images.kinds": {"Y1": "beta", "Y2": "beta", "Y3": "gamma"},
    "words": ["Y1", "Y2"],
    "verdicts.false_alarm": 0.1,
    "evaluate.max_loo_items": 5,
    "evaluate.rank_by": "accuracy",
    "workbook.max_items": 5,
}
OUTSIDE = {"all", "sweep", "figures", "workbook", "metrics", "summary"}
SWEEP_RULE = "sweep_example_"
# through Snakemake: a key of each stage, a swept one, and those that touch no stage's
# arithmetic (the others: test_every_key_changes_what_some_stage_reads)
THROUGH_SNAKEMAKE = ("features", "threshold.learn.cutoff", "roles.key", "attention.dtype",
                     "attention.job_per_metric", "baseline.group", "blocks.tolerance",
                     "verdicts.mt_quantile", "verdicts.detectors.attention.temperature",
                     "evaluate.max_loo_items", "evaluate.rank_by",
                     "workbook.max_items")


def test_every_key_changes_what_some_stage_reads():
    """Each key of CHANGES reaches the params of a stage (or the sweep summary's):
    none is a setting that nothing reads."""
    from soart_core.pipeline import STAGES, job_params
    from soart_core.settings import get_path, set_path

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for key, value in CHANGES.items():
        changed = yaml.safe_load(yaml.safe_dump(config))
        assert get_path(changed, key) != value
        set_path(changed, key, value)
        stages = [s for s in STAGES if job_params(config, s) != job_params(changed, s)]
        assert stages or key in ("evaluate.rank_by", "attention.job_per_metric"), key


@pytest.fixture(scope="module")
def sweep_rules(sweep_run):
    return {rule.removeprefix(SWEEP_RULE) for rule in snakemake_rules(sweep_run)
            if rule.startswith(SWEEP_RULE)} - OUTSIDE


@pytest.mark.parametrize("key", THROUGH_SNAKEMAKE)
def test_a_key_reruns_in_a_sweep_what_it_reruns_in_a_plain_run(sweep_run, sweep_rules, key,
                                                                tmp_path):
    from soart_core.settings import get_path, set_path

    config = yaml.safe_load((sweep_run / "config.yaml").read_text())
    changed = {k: v for k, v in config.items() if k != "sweeps"}
    assert get_path(changed, key) != CHANGES[key]
    set_path(changed, key, CHANGES[key])
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(changed, sort_keys=False))
    # attention_Y1, ... (attention.job_per_metric) are the attention stage's jobs
    jobs = {re.sub(r"attention_\w+$", "attention", rule): n for rule, n in
            planned_jobs(sweep_run, "all", "sweep", "--configfile", str(path)).items()}
    plain = {rule for rule in jobs if rule not in OUTSIDE and not rule.startswith("sweep_")}
    swept = {rule.removeprefix(SWEEP_RULE) for rule in jobs
             if rule.startswith(SWEEP_RULE)} - OUTSIDE
    if key in config["sweeps"]["example"]:  # the sweep sets its own values
        assert swept == set(), jobs
    else:
        # each stage that has runs of its own in the sweep reruns there exactly when
        # it reruns in the plain run
        assert swept == plain & sweep_rules, jobs
    # these change the sweep summary, the workbook, which jobs compute the attention
    if key not in ("evaluate.rank_by", "workbook.max_items", "attention.job_per_metric"):
        assert plain, f"changing {key} reruns nothing: is it read at all?"


def snakemake_rules(workdir):
    return [line.strip() for line in snakemake(workdir, "--list-rules").stdout.splitlines()
            if line.strip() and not line.startswith(" ")]


def test_a_grid_over_the_limit_stops_before_any_job(tmp_path):
    from conftest import copy_workflow

    workdir = copy_workflow(tmp_path)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["sweeps"] = {"huge": {"threshold.learn.cutoff": list(range(200)),
                                 "threshold.valid.cutoff": list(range(100))}}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(workdir, "-n", "sweep", check=False)
    assert proc.returncode == 1
    assert ("soart: error: config key 'sweeps.huge': 20,000 instances (200 x 100) exceed "
            "max_sweep_instances (10,000)") in proc.stdout, proc.stdout
    assert not (workdir / "results").exists()


def test_names_have_no_float_noise_and_stay_unique():
    assert format_value(0.1 + 0.2) == "0.3" and format_value(1e-5) == "1e-05"
    assert short_names(["threshold.learn.cutoff", "threshold.valid.cutoff", "roles.query"]) \
        == {"threshold.learn.cutoff": "learn.cutoff", "threshold.valid.cutoff":
            "valid.cutoff", "roles.query": "query"}
    base = yaml.safe_load((ROOT / "config.yaml").read_text())
    plans = plan({**base, "sweeps": {"s": {"threshold.learn.cutoff": [0.1 + 0.2, 0.4]}}},
                 lambda config: None)
    assert list(plans["s"]) == ["cutoff~0.3", "cutoff~0.4"]
    with pytest.raises(SweepError, match="'threshold.learn.cutof' is not a config key"):
        plan({**base, "sweeps": {"s": {"threshold.learn.cutof": [1]}}}, lambda c: None)
    with pytest.raises(SweepError, match="cannot be swept"):
        plan({**base, "sweeps": {"s": {"images_dir": ["elsewhere"]}}}, lambda c: None)
    # a list value names its instance by its items
    plans = plan({**base, "sweeps": {"s": {"images.grid": [[2, 2], [4, 4]]}}},
                 lambda config: None)
    assert list(plans["s"]) == ["grid~2-2", "grid~4-4"]


def test_report_builds_with_every_figure(sweep_run):
    figures = sorted((sweep_run / "results" / "figures").glob("*.png"))
    assert len(figures) == 14  # attention, difference, blocks, mt: per metric; answer, where
    for figure in figures:
        with Image.open(figure) as image:
            image.verify()  # raises on a broken PNG
            assert image.format == "PNG"
    # README's two report commands, as typed: the plain one, then one with the sweep
    snakemake(sweep_run, "--report", "results/report.html")
    html = (sweep_run / "results" / "report.html").read_text()
    assert "<html" in html.lower()
    for name in ("Y1_difference.png", "Y3_blocks.png", "summary.csv"):
        assert name in html
    assert "figures by parameter" not in html  # the sweep's plot: only when named
    snakemake(sweep_run, "--report", "results/report.html", "all", "sweep")
    html = (sweep_run / "results" / "report.html").read_text()
    assert "figures by parameter" in html and "Y1_difference.png" in html
