"""The config schema and checks reject bad settings before any job runs, naming the key;
tunables reach jobs through params, so a change reruns exactly what it affects."""

import shutil

import pandas as pd
import pytest
import yaml

import in_process
from conftest import ROOT, copy_workflow, planned_jobs, snakemake, write_yaml

DEFAULTS = yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.mark.parametrize("override,pieces", [
    ({"threshhold": {"learn": {"cutoff": 0.5, "power": 2.0}}},
     ["config key 'threshhold': not a soart setting; did you mean 'threshold'? "
      "(from override.yaml)"]),
    ({"threshold": {"learn": {"cutof": 0.5, "power": 2.0}}},
     ["config key 'threshold.learn.cutof': not a soart setting; did you mean 'cutoff'?"]),
    ({"normalise": {"scale": "two"}},
     ["config key 'normalise.scale': 'two' is not of type 'number' (from override.yaml)"]),
    ({"blocks": {"tolerance": -0.1}},
     ["config key 'blocks.tolerance'", "-0.1 is less than the minimum of 0"]),
    ({"attention": {"decimals": 5, "chunk_rows": None, "dtype": "float16"}},
     ["config key 'attention.dtype': 'float16' is not one of"]),
    ({"roles": {"query": "Y9", "key": "Y1", "value": "Y2"}},
     ["config key 'roles.query': 'Y9' is not a metric (metrics: Y1, Y2, Y3)"]),
    ({"words": ["Y1", "Y4"]}, ["config key 'words': 'Y4' is not a metric"]),
    ({"baseline": {"method": "group_mean", "group": "GOOD"}},
     ["config key 'baseline.group': 'GOOD' is not in groups.order"]),
])
def test_bad_config_is_rejected_before_any_job(tmp_path, override, pieces):
    workdir = copy_workflow(tmp_path)
    path = write_yaml(tmp_path / "override.yaml", override)
    proc = in_process.run(workdir, configfiles=[path], check=False)
    assert proc.returncode == 1
    errors = [line for line in proc.stdout.splitlines() if line.startswith("soart: error")]
    assert len(errors) == 1, proc.stdout
    for piece in pieces:
        assert piece in errors[0], proc.stdout
    assert "\n" not in errors[0] and len(errors[0]) < 300  # not the schema, nor the config
    assert not (workdir / "results").exists()


def test_misspelt_key_on_the_command_line(tmp_path):
    workdir = copy_workflow(tmp_path)
    proc = snakemake(workdir, "-n", "--config", "data_dri=/somewhere", check=False)
    assert proc.returncode != 0
    assert "soart: error: config key 'data_dri': not a soart setting; did you mean " \
           "'data_dir'? (from --config)" in proc.stdout
    assert len(proc.stdout.splitlines()) <= 4, proc.stdout


def test_data_dir_from_the_command_line(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(ROOT / "resources" / "example", elsewhere)
    shutil.rmtree(workdir / "resources")
    in_process.run(workdir, "attention", config=[f"data_dir={elsewhere}"])
    assert len(pd.read_csv(workdir / "results" / "attention" / "Y2.csv")) == 30


def test_only_affected_stages_rerun(example_run, tmp_path):
    assert planned_jobs(example_run) == {}, "a second plain run must do nothing"

    def plan(section, value):
        path = write_yaml(tmp_path / f"{section}.yaml", {section: value})
        return planned_jobs(example_run, "--configfile", str(path))

    after_difference = {"difference": 1, "blocks": 1, "verdicts": 1, "evaluate": 1,
                        "figures": 1, "workbook": 1, "all": 1}
    cutoff = {**DEFAULTS["threshold"], "learn": {"cutoff": 0.4, "power": 2.0}}
    assert plan("threshold", cutoff) == {"threshold": 1, "weights": 1, "attention": 1,
                                         "classic": 1, **after_difference}
    assert plan("baseline", {"method": "median", "group": "NORMAL"}) == after_difference
    assert plan("blocks", {"tolerance": 0.01}) == {"blocks": 1, "verdicts": 1, "evaluate": 1,
                                                   "figures": 1, "workbook": 1, "all": 1}
    assert plan("verdicts", {**DEFAULTS["verdicts"], "mt_quantile": 0.9}) == {
        "verdicts": 1, "classic": 1, "evaluate": 1, "figures": 1, "workbook": 1, "all": 1}
    assert plan("roles", {"query": "Y1", "key": "Y2", "value": "Y3"}) == {
        "weights": 1, "attention": 1, **after_difference}
    assert plan("normalise", {"scale": 3.0})["normalise"] == 1
    assert plan("evaluate", {**DEFAULTS["evaluate"], "max_loo_items": 5}) == {
        "classic": 1, "evaluate": 1, "workbook": 1, "all": 1}
    # the workbook's settings sheet shows every config value: any change reruns it
    assert plan("workbook", {"max_items": 5}) == {"workbook": 1, "all": 1}


def test_attention_as_a_job_per_metric(example_run, tmp_path):
    """attention.job_per_metric: true makes one job per words metric, with the same
    tables; auto does so from 10,000 items on (the example has 30: one job)."""
    assert "attention" in planned_jobs(example_run, "--forcerun", "attention")
    workdir = copy_workflow(tmp_path)
    path = write_yaml(tmp_path / "split.yaml", {"attention": {
        **DEFAULTS["attention"], "job_per_metric": True}})
    targets = [f"results/attention/{m}.csv" for m in ("Y1", "Y2", "Y3")]
    jobs = planned_jobs(workdir, *targets, "--configfile", str(path))
    assert {k: v for k, v in jobs.items() if k.startswith("attention")} == {
        "attention_Y1": 1, "attention_Y2": 1, "attention_Y3": 1}
    snakemake(workdir, *targets, "--configfile", str(path))
    for target in targets:
        assert (workdir / target).read_bytes() == (example_run / target).read_bytes()
    assert "attention_Y2: 1 run(s)" in (workdir / "results/logs/attention_Y2.log").read_text()


def test_words_subset_builds_only_those(tmp_path):
    workdir = copy_workflow(tmp_path)
    path = write_yaml(tmp_path / "words.yaml", {"words": ["Y3"]})
    in_process.run(workdir, configfiles=[path])
    assert sorted(p.name for p in (workdir / "results" / "attention").iterdir()) == ["Y3.csv"]
    assert sorted(p.name for p in (workdir / "results" / "figures").iterdir()) == [
        "Y3_attention.png", "Y3_blocks.png", "Y3_difference.png", "Y3_mt.png", "answer.png",
        "defects", "where.png"]


def test_the_schema_names_the_methods_the_evaluation_computes():
    """evaluate.rank_method's choices are the evaluation's methods, named once there."""
    from soart_core.evaluation import RANKED_METHODS
    from soart_core.settings import SCHEMA

    schema = yaml.safe_load((ROOT / SCHEMA).read_text())
    rank_method = schema["properties"]["evaluate"]["properties"]["rank_method"]
    assert tuple(rank_method["enum"]) == RANKED_METHODS
