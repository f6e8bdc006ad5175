"""Degenerate input never crashes the evaluation: it reports what it can, says why the
rest is missing (log and `warnings` column), and shows chance levels and rounded
figures; the figures' titles name what they show."""

import csv
import logging
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from soart_core import evaluation, figures, jobs
from soart_core.groups import loo_nearest_centroid
from soart_core.pipeline import output_folders
from soart_core.sweep import rank_instances
from soart_core.tables import Table, write_columns, write_rounded, write_table

ORDER = ["NORMAL", "ERROR_A", "ERROR_B"]
JUDGES = np.repeat(ORDER, 3)  # 3 judges per group
VERDICTS = {"mt_threshold": "auto", "mt_quantile": 0.95, "mt_max_loo_items": 200}


def table(values, groups, path="t.csv"):
    values = np.asarray(values, dtype=np.float64)
    return Table(path, [f"i{k}" for k in range(len(values))], list(groups),
                 [f"c{k}" for k in range(values.shape[1])], values)


def summary_of(groups, words, attention=None, difference=None, order=ORDER):
    """evaluate_metric's summary rows, by method, on hand-made tables."""
    groups = list(groups)
    attention = table(words if attention is None else attention, groups)
    difference = table(attention.values if difference is None else difference, groups)
    blocks = jobs.score_blocks(difference, JUDGES[:difference.values.shape[1]],
                                   order, 0.0)
    classic_rows, classic_confusion = evaluation.classic("Y1", table(words, groups),
                                                         order=order, reference="NORMAL",
                                                         verdicts=VERDICTS)
    rows, _ = evaluation.evaluate_metric("Y1", attention, difference, blocks, classic_rows,
                                         classic_confusion, order=order,
                                         baseline="NORMAL")
    return {row["method"]: row for row in rows}


def noisy(n_per_group, seed=0, d=9):
    rng = np.random.default_rng(seed)
    groups = np.repeat(ORDER, n_per_group)
    return rng.normal(size=(len(groups), d)) + (np.arange(len(groups)) % 3)[:, None], groups


# ---- on arrays --------------------------------------------------------------------
def test_every_cell_thresholded_to_zero(caplog):
    groups = np.repeat(ORDER, 4)
    with caplog.at_level(logging.WARNING, logger="soart"):
        rows = summary_of(groups, np.zeros((12, 9)), attention=np.full((12, 9), 1 / 9))
    lda = rows["metrics_lda"]
    assert np.isnan([lda["accuracy"], lda["balanced_accuracy"], lda["recall_NORMAL"]]).all()
    assert "metrics_lda: every feature is constant (all cells thresholded to 0?)" \
        in lda["warnings"]
    # nearest centroid still reports: every item goes to the first group
    centroid = rows["metrics_nearest_centroid"]
    assert centroid["accuracy"] == pytest.approx(1 / 3)
    assert centroid["recall_NORMAL"] == 1.0 and centroid["recall_ERROR_A"] == 0.0
    assert "attention_nearest_centroid: every feature is constant (uniform attention?)" \
        in rows["attention_nearest_centroid"]["warnings"]
    assert "every feature is constant (all cells thresholded to 0?)" in caplog.text


def test_a_single_item():
    rows = summary_of(["NORMAL"], np.ones((1, 9)))
    for row in rows.values():
        assert row["n"] == 1
        assert np.isnan(row["accuracy"]) and np.isnan(row["recall_NORMAL"])
        assert row["warnings"].split("; ")[:3] == [
            "1 item: leave-one-out needs 2 per group", "no items of group ERROR_A",
            "no items of group ERROR_B"]
        assert row["chance_accuracy"] == 1.0 and row["chance_balanced_accuracy"] == 1.0
    assert loo_nearest_centroid(np.ones((1, 2)), ["A"], ["A"]) is None
    assert evaluation.cross_validated_lda(np.ones((1, 2)), ["A"]) == (
        None, "leave-one-out needs 2 items")


def test_a_group_with_one_item_and_a_group_with_none(caplog):
    x, groups = noisy([5, 5, 1])
    with caplog.at_level(logging.WARNING, logger="soart"):
        rows = summary_of(groups, x[:, :9], order=ORDER + ["ERROR_C"])
    for row in rows.values():
        if row["method"] in evaluation.DETECTION_ONLY:  # no accuracy: a detector
            assert np.isnan(row["accuracy"]) and np.isfinite(row["roc_auc"])
            continue
        assert row["n"] == 11 and np.isfinite(row["accuracy"])
        assert row["recall_ERROR_B"] == 0.0  # never predicted for itself
        assert np.isnan(row["recall_ERROR_C"])  # not 0: no items to recall
        assert row["warnings"].startswith(
            "no items of group ERROR_C; group ERROR_B has 1 item: leave-one-out needs 2 "
            "per group")
        assert row["chance_accuracy"] == pytest.approx(5 / 11)
        assert row["chance_balanced_accuracy"] == pytest.approx(1 / 3)
    assert caplog.text.count("evaluation of Y1: no items of group ERROR_C") == 1


def test_only_one_group():
    x, groups = noisy([6, 0, 0])
    rows = summary_of(groups, x)
    assert rows["metrics_lda"]["accuracy"] == 1.0  # trivially: there is nothing else
    assert "only group NORMAL has items: nothing to discriminate" \
        in rows["metrics_lda"]["warnings"]


def test_k_fold_with_a_group_smaller_than_the_folds():
    x, groups = noisy([8, 8, 1])
    predicted, warning = evaluation.cross_validated_lda(x, groups, max_loo_items=5)
    assert len(predicted) == 17 and warning == "2-fold, not 10: group ERROR_B has 1 item"
    predicted, warning = evaluation.cross_validated_lda(*noisy([8, 8, 4]), max_loo_items=5)
    assert len(predicted) == 20 and warning.startswith("4-fold, not 10")


def test_a_fold_without_within_group_variance():
    x = np.zeros((6, 3))
    x[0, 0] = 1.0  # leaving item 0 out leaves only zeros to fit
    predicted, warning = evaluation.cross_validated_lda(x, np.repeat(ORDER, 2))
    assert predicted is None and "no within-group variance" in warning


def test_chance_levels():
    got = evaluation.chance(["A"] * 6 + ["B"] * 3 + ["C"], ["A", "B", "C", "D"])
    assert got == {"chance_accuracy": 0.6, "chance_balanced_accuracy": pytest.approx(1 / 3),
                   "chance_roc_auc": 0.5}


def test_tables_for_people_are_rounded_with_empty_cells(tmp_path):
    path = tmp_path / "t.csv"
    write_rounded(path, {
        "metric": ["Y1", "=Y2", "a, b"], "n": [1, 2, 3],
        "figure": [0.39999999999999997, np.nan, -1e-9], "sign": [-0.25, 2 / 3, 1.0]})
    # with the byte-order mark Excel needs to read UTF-8
    assert path.read_text(encoding="utf-8-sig").splitlines() == [
        "metric,n,figure,sign", "Y1,1,0.4,-0.25", "'=Y2,2,,0.6667", '"a, b",3,0.0,1.0']
    write_rounded(path, {"x": [1e-5, np.nan]}, decimals=None)
    assert path.read_text(encoding="utf-8-sig").splitlines() == ["x", "1e-05", ""]


# ---- end to end, through the jobs ---------------------------------------------------
def run_evaluate(folder, words, attention, groups):
    """jobs.classic and jobs.evaluate on tables written where the workflow writes them."""
    groups = list(groups)
    folder.mkdir()
    paths = SimpleNamespace(**{k: [str(folder / f"{k}.csv")] for k in
                               ("words", "attention", "difference", "blocks",
                                "classic_evaluation", "classic_confusion")})
    diff = table(attention - attention.mean(axis=0), groups)
    write_table(table(words, groups), "item", paths.words[0])
    write_table(table(attention, groups), "item", paths.attention[0])
    write_table(diff, "item", paths.difference[0])
    write_columns(paths.blocks[0], jobs.score_blocks(diff, JUDGES, ORDER, 0.0))
    params = SimpleNamespace(words=["Y1"], order=ORDER, baseline="NORMAL",
                             max_loo_items=2000, reference="NORMAL", verdicts=VERDICTS)
    # the verdicts as the verdicts job writes them (their own tests: test_verdicts.py)
    paths.verdicts = [str(folder / "verdicts.csv")]
    write_columns(paths.verdicts[0], {"item": diff.names, "group": groups,
                                      "predicted": groups,
                                      "mt_distance": np.arange(len(groups)),
                                      "mt_flag": ["normal"] * len(groups)})
    jobs.classic(SimpleNamespace(words=paths.words),
                 SimpleNamespace(evaluation=paths.classic_evaluation,
                                 confusion=paths.classic_confusion), params)
    out = SimpleNamespace(evaluation=[str(folder / "evaluation" / "Y1.csv")],
                          confusion=[str(folder / "evaluation" / "Y1_confusion.csv")],
                          summary=str(folder / "evaluation" / "summary.csv"))
    jobs.evaluate(paths, out, params)
    with open(out.summary, encoding="utf-8-sig", newline="") as stream:  # Excel's BOM
        return list(csv.DictReader(stream)), folder / "evaluation" / "summary.csv"


@pytest.mark.parametrize("case", ["thresholded to 0", "single item", "empty group"])
def test_jobs_evaluate_reports_degenerate_input(tmp_path, case):
    x, groups = noisy([4, 4, 4])
    words, attention = x, np.abs(x)
    if case == "thresholded to 0":
        words, attention = np.zeros_like(x), np.full_like(x, 1 / 9)
    elif case == "single item":
        words, attention, groups = x[:1], np.abs(x[:1]), groups[:1]
    elif case == "empty group":
        keep = groups != "ERROR_B"
        words, attention, groups = x[keep], np.abs(x[keep]), groups[keep]
    rows, _ = run_evaluate(tmp_path / "plain", words, attention, groups)
    assert len(rows) == 6 and {"chance_accuracy", "chance_balanced_accuracy",
                               "chance_roc_auc", "warnings"} <= set(rows[0])
    lda = next(r for r in rows if r["method"] == "metrics_lda")
    if case == "thresholded to 0":
        assert lda["accuracy"] == "" and "every feature is constant" in lda["warnings"]
    elif case == "single item":
        assert all(r["accuracy"] == "" for r in rows)
        assert all(r["warnings"].startswith("1 item: leave-one-out needs 2") for r in rows)
    else:
        assert all(r["recall_ERROR_B"] == "" for r in rows)
        assert all((r["accuracy"] != "") == (r["method"] not in evaluation.DETECTION_ONLY)
                   for r in rows)
        assert all("no items of group ERROR_B" in r["warnings"] for r in rows)
    for row in rows:  # rounded to 4 decimals, or empty
        assert all(len(row[k].split(".")[-1]) <= 4 for k in row if k.startswith("recall_"))


def test_sweep_ranking_carries_chance_and_warnings(tmp_path):
    x, groups = noisy([4, 4, 4])
    run_evaluate(tmp_path / "a", x, np.abs(x), groups)
    zeros = np.zeros_like(x)  # instance b: every cell thresholded to 0
    run_evaluate(tmp_path / "b", zeros, np.full_like(x, 1 / 9), groups)
    settings = dict(instances=["a", "b"], values=[{"cutoff": 0.1}, {"cutoff": 1e-5}],
                    rank_by="balanced_accuracy", rank_method="metrics_lda",
                    parameters=["cutoff"])
    summaries = [pd.read_csv(tmp_path / name / "evaluation" / "summary.csv")
                 for name in "ab"]
    ranked = rank_instances(settings["instances"], settings["values"], summaries,
                            "balanced_accuracy", "metrics_lda")
    assert ranked["instance"].tolist() == ["a", "b"]  # b's LDA figures are NaN: last
    assert ranked["chance_balanced_accuracy"].tolist() == [0.3333, 0.3333]
    assert ranked["chance_accuracy"].tolist() == [0.3333, 0.3333]
    assert ranked["warnings"][0] == ""
    assert "Y1: metrics_lda: every feature is constant" in ranked["warnings"][1]
    assert figures.sweep_plot(ranked, ["cutoff"], tmp_path / "plot.png")["chance"] == "--"
    # the job: each instance folder gets params.yaml and links to the folders it read
    sweep = tmp_path / "sweeps" / "s"
    out = SimpleNamespace(summary=str(sweep / "summary.csv"), plot=str(sweep / "summary.png"),
                          best=str(sweep / "best.yaml"))
    instances = [dict(name=n, values=v, config={"x": 1}, params=str(sweep / n / "params.yaml"),
                      folders={"evaluate": str(tmp_path / n)})
                 for n, v in zip("ab", settings["values"])]
    jobs.sweep_summary(None, out, SimpleNamespace(
        sweep="s", parameters=["cutoff"], instances=instances,
        links={"evaluate": output_folders("evaluate")},
        rank_by="balanced_accuracy", rank_method="metrics_lda"))
    assert (sweep / "a" / "evaluation" / "summary.csv").read_bytes() == \
        (tmp_path / "a" / "evaluation" / "summary.csv").read_bytes()
    assert yaml.safe_load((sweep / "b" / "params.yaml").read_text())["swept"] == \
        {"cutoff": 1e-5}
    header, *lines = (sweep / "summary.csv").read_text(encoding="utf-8-sig").splitlines()
    assert header.split(",")[:4] == ["rank", "ties", "instance", "cutoff"]
    assert header.endswith(",chance_accuracy,chance_balanced_accuracy,warnings")
    assert lines[0].startswith("1,1,a,0.1,") and lines[1].startswith("2,1,b,1e-05,")
    assert ",0.3333,0.3333," in lines[0] and lines[0].endswith(",")  # no warnings
    # the first instance's config, ready to run
    best = (sweep / "best.yaml").read_text()
    assert "sweep s: a, ranked 1st" in best and yaml.safe_load(best) == {"x": 1, "sweeps": {}}


# ---- figures: titles and colour bars name what they show ------------------------------
def test_figure_titles_and_colour_bars(tmp_path):
    assert figures.labels("attention", "Y1", 30, 9) == (
        "Y1 attention (words: Y1): 30 items x 9 judges", "attention value")
    assert figures.labels("difference", "Y1") == (
        "Y1 baseline difference (attention - baseline row)", "difference from baseline")
    assert figures.labels("blocks", "Y1") == (
        "Y1: block sign score (agreement), mean |difference|",
        "sign score x relative mean |D|")
    x, groups = noisy([2, 2, 2])
    drawn = figures.heatmap(table(x, groups), JUDGES, ORDER, tmp_path / "d.png",
                            diverging=True, metric="Y2")
    assert drawn == ("Y2 baseline difference (attention - baseline row): 6 items x 9 "
                     "judges", "difference from baseline")
    blocks = jobs.score_blocks(table(x, groups), JUDGES, ORDER, 0.0)
    assert figures.block_grid(blocks, ORDER, tmp_path / "b.png", metric="Y2")[0] \
        == "Y2: block sign score (agreement), mean |difference|"


def test_stale_sweep_folders_are_those_no_instance_owns(tmp_path):
    from soart_core.sweep import stale_folders

    root = tmp_path / "sweeps" / "s"
    for folder in ("a", "b", "gone", "_shared/x", "_shared/old", "jobs", "logs"):
        (root / folder).mkdir(parents=True)
    (root / "summary.csv").write_text("")
    owned = [root / "a", root / "b", root / "_shared" / "x", tmp_path / "plain"]
    assert stale_folders(str(root), [str(p) for p in owned]) == [
        str(root / "gone"), str(root / "_shared" / "old")]
