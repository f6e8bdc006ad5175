"""Every setting sweepable (issue 34): the metrics stage inside sweeps, the answer's own
settings, the shipped example's ranking as docs/sweeps.md quotes it, and best.yaml."""

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ENV, ROOT, copied_run, planned_jobs, snakemake, snakemake_process
from soart_core import answer, detectors
from soart_core.sweep import best_config, ranking_text, rank_instances

DOC = ROOT / "docs" / "sweeps.md"
RANKING = re.compile(r"<!-- ranking: (python -m soart_core\.sweep [^>]*?) -->\n(.*?)"
                     r"<!-- end of ranking -->", re.S)


def summary_of(workdir, sweep):
    return pd.read_csv(workdir / "results" / "sweeps" / sweep / "summary.csv",
                       encoding="utf-8-sig")


@pytest.fixture(scope="module")
def shipped_sweep(images_run, tmp_path_factory):
    """The shipped config's run, then `snakemake --cores 2 sweep` as typed."""
    workdir = copied_run(images_run, tmp_path_factory.mktemp("shipped") / "wf")
    snakemake(workdir, "sweep")
    return workdir


def test_the_shipped_sweep_tells_instances_apart(shipped_sweep):
    summary = summary_of(shipped_sweep, "example")
    assert len(summary) == 8
    assert summary["rank"].nunique() >= 2 and (summary["ties"] < len(summary)).all()
    # the grids give the answers different figures, detector by detector
    by = summary.set_index("instance")
    auc = by["mean_roc_auc"]
    # docs/sweeps.md's reading of the table: the pixel-level detector first with either
    # grid (it reads the image, not the regions); for the metrics' detectors 2 x 2
    # above 4 x 4 but for the attention
    assert auc["grid~2-2_method~patches"] == auc["grid~4-4_method~patches"]
    assert set(summary["instance"].iloc[:2]) == {"grid~2-2_method~patches",
                                                 "grid~4-4_method~patches"}
    for method in ("regions", "mt"):
        assert auc[f"grid~2-2_method~{method}"] > auc[f"grid~4-4_method~{method}"], method
    assert auc["grid~2-2_method~attention"] < auc["grid~4-4_method~attention"]
    # patches' 19 of 20 and none of 10; regions' flag flagging nothing; mt's 2 and 0
    # (3 judges: the flag above a Gumbel's prediction bound, far out)
    for grid in ("2-2", "4-4"):
        assert by.loc[f"grid~{grid}_method~patches", "all_detection_rate"] == 0.95
        assert by.loc[f"grid~{grid}_method~patches", "all_false_alarm_rate"] == 0
    assert by.loc["grid~2-2_method~regions", "all_detection_rate"] == 0
    assert by.loc["grid~2-2_method~regions", "all_false_alarm_rate"] == 0
    assert by.loc["grid~2-2_method~mt", "all_detection_rate"] == 0.1
    assert by.loc["grid~2-2_method~mt", "all_false_alarm_rate"] == 0
    # the metrics stage ran once per grid, shared by the instances of that grid
    shared = shipped_sweep / "results" / "sweeps" / "example" / "_shared"
    assert sorted(p.parent.name for p in shared.glob("*/metrics")) == ["grid~2-2", "grid~4-4"]
    # the same command twice plans nothing
    assert planned_jobs(shipped_sweep, "sweep") == {}


def test_the_docs_ranking_is_the_commands_output(shipped_sweep):
    """docs/sweeps.md's table is what its command prints on a fresh run of the
    shipped sweep, as typed."""
    command, quoted = RANKING.search(DOC.read_text(encoding="utf-8")).groups()
    assert command == "python -m soart_core.sweep results/sweeps/example/summary.csv"
    printed = subprocess.run([sys.executable, *command.split()[1:]], cwd=shipped_sweep,
                             env=ENV, capture_output=True, text=True, check=True).stdout
    assert printed == quoted
    assert printed == ranking_text(summary_of(shipped_sweep, "example"), "roc_auc")


def instance_files(workdir, sweep, instance):
    root = workdir / "results" / "sweeps" / sweep / instance
    return {name: (root / name).read_bytes() for name in
            ("verdicts/summary.csv", "verdicts/selection.csv", "evaluation/summary.csv")}


def test_best_yaml_reproduces_the_best_instance(shipped_sweep, tmp_path):
    summary = summary_of(shipped_sweep, "example")
    best = summary["instance"].iloc[0]
    text = (shipped_sweep / "results" / "sweeps" / "example" / "best.yaml").read_text()
    assert f": {best}, ranked 1st" in text
    expected = instance_files(shipped_sweep, "example", best)
    workdir = copied_run(shipped_sweep, tmp_path / "wf")
    # as docs/sweeps.md types it
    proc = snakemake_process(workdir, "--cores", "2", "--configfile",
                             "results/sweeps/example/best.yaml")
    assert proc.returncode == 0, proc.stdout
    plain = {name: (workdir / "results" / name).read_bytes() for name in expected}
    assert plain == expected
    # and an instance of another rank differs from it: the comparison can fail
    other = summary["instance"][summary["rank"] > summary["rank"].iloc[0]].iloc[0]
    assert instance_files(shipped_sweep, "example", other)["verdicts/summary.csv"] != \
        expected["verdicts/summary.csv"]


GRID = {"images.grid": [[2, 2], [4, 4]], "attention.over": ["items", "judges"]}


def test_a_sweep_over_the_grid_and_the_attention_reruns_exactly(images_run, tmp_path):
    workdir = copied_run(images_run, tmp_path / "wf")
    path = workdir / "grid.yaml"
    # the answer by a detector of the metrics, which the grid reaches (`patches`, which
    # auto picks on the example, reads the images themselves)
    path.write_text(yaml.safe_dump({"sweeps": {"g": GRID}, "verdicts": {"method": "mt"}},
                                   sort_keys=False))
    snakemake(workdir, "sweep", "--configfile", str(path))
    summary = summary_of(workdir, "g")
    assert len(summary) == 4 and summary["rank"].nunique() >= 2
    answers = {i: instance_files(workdir, "g", i)["verdicts/summary.csv"]
               for i in summary["instance"]}
    assert answers["grid~2-2_over~items"] != answers["grid~4-4_over~items"]
    assert answers["grid~2-2_over~judges"] != answers["grid~4-4_over~judges"]
    # the seed's attention (attention.over) changes the per-metric columns and the
    # evaluation, not the answer's own columns (its detector has settings of its own:
    # verdicts.detectors.attention)
    answer = ["item", "predicted", "score", "flag"]
    same_grid = [pd.read_csv(workdir / "results" / "sweeps" / "g" / i / "verdicts" /
                             "summary.csv", encoding="utf-8-sig")
                 for i in ("grid~2-2_over~items", "grid~2-2_over~judges")]
    pd.testing.assert_frame_equal(same_grid[0][answer], same_grid[1][answer])
    root = workdir / "results" / "sweeps" / "g"
    assert (root / "grid~2-2_over~items" / "evaluation" / "summary.csv").read_bytes() != \
        (root / "grid~2-2_over~judges" / "evaluation" / "summary.csv").read_bytes()
    assert planned_jobs(workdir, "sweep", "--configfile", str(path)) == {}
    # the answer's own setting reruns the answer and what reads it, no stage before
    changed = {"sweeps": {"g": GRID},
               "verdicts": {"method": "mt", "detectors": {"attention": {"temperature": 0.5}}}}
    other = workdir / "changed.yaml"
    other.write_text(yaml.safe_dump(changed, sort_keys=False))
    assert set(planned_jobs(workdir, "sweep", "--configfile", str(other))) == {
        "sweep_g_verdicts", "sweep_g_evaluate", "sweep_g_summary", "sweep"}
    # one grid value more: the metrics job computes its one new run and keeps the two
    GRID_MORE = {**GRID, "images.grid": GRID["images.grid"] + [[3, 3]]}
    path.write_text(yaml.safe_dump({"sweeps": {"g": GRID_MORE}}, sort_keys=False))
    snakemake(workdir, "sweep", "--configfile", str(path))
    log = (root / "logs" / "metrics.log").read_text()
    assert "1 run(s) computed, 0 copied from a run with the same inputs, 2 kept" in log, log
    assert len(summary_of(workdir, "g")) == 6


# ---- the answer's attention detector has settings of its own -----------------------------
def example_tables(seed=0):
    rng = np.random.default_rng(seed)
    judges = [rng.normal(size=(9, 4)) + np.repeat([0, 2, 4], 3)[:, None]]
    items = [rng.normal(size=(12, 4)) + np.repeat([0, 2, 4], 4)[:, None]]
    groups = np.repeat(["N", "A", "B"], 3)
    return items, judges, groups


def test_the_attention_detectors_settings_change_its_raw_scores():
    items, judges, groups = example_tables()
    in_reference = groups == "N"

    def raw(**settings):
        return detectors.Attention().fit(judges, in_reference, **settings).score(items)[0]

    default = raw()
    np.testing.assert_array_equal(default, raw(feature_scale="judges", temperature=1.0))
    for settings in ({"temperature": 0.25}, {"feature_scale": "none"}):
        assert not np.array_equal(default, raw(**settings)), settings
    # run_all hands each detector its own settings, the others none
    plain, _ = answer.run_all(items, judges, groups, reference="N", false_alarm=0.05)
    sharp, _ = answer.run_all(items, judges, groups, reference="N", false_alarm=0.05,
                              settings={"attention": {"temperature": 0.25}})
    assert not np.array_equal(plain["attention"]["raw"], sharp["attention"]["raw"])
    np.testing.assert_array_equal(plain["mt"]["raw"], sharp["mt"]["raw"])


# ---- best.yaml and the ranking table, from their functions -------------------------------
def ranked(figures):
    summaries = [pd.DataFrame({"metric": ["all"], "method": ["answer"], "n": [30],
                               "accuracy": [0.5], "balanced_accuracy": [0.5],
                               "roc_auc": [auc], "roc_auc_low": [auc - 0.1],
                               "roc_auc_high": [auc + 0.1], "block_contrast": [np.nan],
                               "chance_accuracy": [1 / 3],
                               "chance_balanced_accuracy": [1 / 3], "warnings": [""]})
                 for auc in figures.values()]
    return rank_instances(list(figures), [{"k": i} for i in range(len(figures))],
                          summaries, "roc_auc", "answer")


def test_best_yaml_is_the_first_instance_and_says_a_tie():
    configs = {name: {"x": i, "sweeps": {"s": {"x": [0, 1, 2]}}}
               for i, name in enumerate(["b", "a", "c"])}
    table = ranked({"b": 0.8, "a": 0.8, "c": 0.7})
    text = best_config(table, configs, "s", "roc_auc", "answer")
    assert yaml.safe_load(text) == {"x": 1, "sweeps": {}}  # "a": first of the tie by name
    assert "A tie: 1 other instance(s) share rank 1" in text and ": b" in text
    alone = best_config(ranked({"b": 0.9, "a": 0.8, "c": 0.7}), configs, "s", "roc_auc",
                        "answer")
    assert yaml.safe_load(alone) == {"x": 0, "sweeps": {}} and "tie" not in alone
    assert ranking_text(table, "roc_auc").splitlines()[2:] == [
        "| 1 | 2 | a | 0.8000 | [0.7000, 0.9000] |",
        "| 1 | 2 | b | 0.8000 | [0.7000, 0.9000] |",
        "| 3 | 1 | c | 0.7000 | [0.6000, 0.8000] |"]


def test_an_instance_that_breaks_a_rule_stops_its_sweep_not_the_plain_plan(example_run,
                                                                             tmp_path):
    """A sweep's instances are made when it is planned: a combination the cross-key
    checks refuse stops `-n sweep` with one line, and a plain plan plans on."""
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"sweeps": {"bad": {
        "baseline.group": ["ERROR_A", "ERROR_C"]}}}))
    proc = snakemake(example_run, "-n", "sweep", "--configfile", str(path), check=False)
    assert proc.returncode == 1
    assert ("soart: error: config key 'sweeps.bad': instance 'group~ERROR-C': config key "
            "'baseline.group': 'ERROR_C' is not in groups.order") in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stdout
    plain = snakemake(example_run, "-n", "--configfile", str(path))
    assert "soart: error" not in plain.stdout
