"""Sweeps: instances share stages, rank in a summary, rerun only what is new; the report
and the figures."""

import os

import pandas as pd
import pytest
import yaml
from PIL import Image

from conftest import ROOT, planned_jobs, snakemake
from soart_core.sweep import SweepError, format_value, plan, short_names

DEFAULT_INSTANCE = "cutoff~0.5_query~Y3_method~group-mean"  # the plain config's values


@pytest.fixture(scope="module")
def sweep_run(example_run):
    snakemake(example_run, "sweep")
    return example_run


def test_sweep_layout_sharing_and_ranking(sweep_run):
    root = sweep_run / "results" / "sweeps" / "example"
    summary = pd.read_csv(root / "summary.csv")
    assert len(summary) == 18 and summary["rank"].tolist() == list(range(1, 19))
    ranked = summary["mean_balanced_accuracy"].tolist()
    assert ranked == sorted(ranked, reverse=True)
    assert {"threshold.learn.cutoff", "roles.query", "baseline.method"} <= set(summary)
    shared = {level: len(list((root / "_shared" / level).iterdir()))
              for level in ("normalise", "threshold", "classic", "attention")}
    assert shared == {"normalise": 1, "threshold": 3, "classic": 1, "attention": 9}
    instance = root / DEFAULT_INSTANCE
    for stage in ("normalise", "threshold", "weights", "attention", "difference", "blocks",
                  "evaluation"):
        assert (instance / stage).is_dir(), stage
    params = yaml.safe_load((instance / "params.yaml").read_text())
    assert params["swept"] == {"threshold.learn.cutoff": 0.5, "roles.query": "Y3",
                               "baseline.method": "group_mean"}
    assert (root / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_instance_equals_the_plain_run_with_its_values(sweep_run):
    instance = sweep_run / "results" / "sweeps" / "example" / DEFAULT_INSTANCE
    plain = sweep_run / "results"
    for path in ("attention/Y1.csv", "difference/Y2.csv", "blocks/Y3.csv",
                 "evaluation/summary.csv"):
        assert (instance / path).read_bytes() == (plain / path).read_bytes(), path


def test_rerun_does_nothing_and_a_longer_grid_runs_only_new_instances(sweep_run):
    assert planned_jobs(sweep_run, "sweep") == {}
    config = yaml.safe_load((sweep_run / "config.yaml").read_text())
    config["sweeps"]["example"]["baseline.method"].append("mean")
    (sweep_run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        # 9 new instances; they reuse normalise, threshold, classic and attention
        assert planned_jobs(sweep_run, "sweep") == {
            "sweep_instance": 9, "sweep_summary": 1, "sweep": 1}
        config["sweeps"]["example"]["threshold.learn.cutoff"].append(0.6)
        (sweep_run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        assert planned_jobs(sweep_run, "sweep") == {
            "sweep_threshold": 1, "sweep_attention": 3, "sweep_instance": 9 + 9,
            "sweep_summary": 1, "sweep": 1}
    finally:
        config["sweeps"]["example"]["baseline.method"].remove("mean")
        config["sweeps"]["example"]["threshold.learn.cutoff"].remove(0.6)
        (sweep_run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


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
        plan({**base, "sweeps": {"s": {"images.grid": [[2, 2]]}}}, lambda c: None)


def test_report_builds_with_every_figure(sweep_run):
    figures = sorted((sweep_run / "results" / "figures").glob("*.png"))
    assert len(figures) == 12  # attention, difference, blocks, verdicts: per metric
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


def test_the_plain_rules_write_the_layout_sweeps_use(example_run):
    from soart_core.layout import stage_files

    metrics = words = ["Y1", "Y2", "Y3"]
    for stage in ("normalise", "threshold", "weights", "attention", "difference", "blocks",
                  "evaluate", "figures"):
        files = stage_files(str(example_run / "results"), stage, metrics, words)
        for entry in vars(files).values():
            for path in entry if isinstance(entry, list) else [entry]:
                assert os.path.isfile(path), path
