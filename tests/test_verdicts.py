"""Inspect: a verdict for every item, labeled or not; unlabeled items through every
stage; the verdicts' arithmetic by hand; their errors and their evaluation."""

import shutil

import numpy as np
import pandas as pd
import pytest

import in_process
from conftest import copy_workflow, write_yaml
from soart_core import verdicts
from soart_core.example import GROUPS, file_names, make_tables
from soart_core.tables import Table, write_columns

ORDER = list(GROUPS)


def read(path):
    return pd.read_csv(path, keep_default_na=False)  # an unlabeled group stays ""


# ---- the arithmetic, on arrays -------------------------------------------------------
def test_nearest_centroid_leaves_labeled_items_out():
    x = np.array([[0.0], [0.2], [10.0], [10.4], [9.0], [0.1]])
    groups = np.array(["A", "A", "B", "B", "", ""], dtype=object)
    predicted = verdicts.nearest_centroid(x, groups, ["A", "B"])
    # unlabeled rows go to the nearest full centroid (A at 0.1, B at 10.2)
    assert list(predicted[4:]) == ["B", "A"]
    # labeled: against their own group's centroid without them, so still their own here
    assert list(predicted[:4]) == ["A", "A", "B", "B"]


def ledoit_wolf(x):
    """The Ledoit-Wolf (2004) shrunk covariance, as the paper writes it (Lemma 3.2,
    Theorem 3.3): S shrunk towards m I by b^2 / d^2, with <A, B> = tr(A B') / p."""
    n, p = x.shape
    centred = x - x.mean(axis=0)
    sample = centred.T @ centred / n

    def norm2(a):
        return np.trace(a @ a.T) / p

    m = np.trace(sample) / p
    d2 = norm2(sample - m * np.eye(p))
    b2_bar = sum(norm2(np.outer(row, row) - sample) for row in centred) / n ** 2
    shrink = min(b2_bar, d2) / d2
    return x.mean(axis=0), shrink * m * np.eye(p) + (1 - shrink) * sample


def mt_distance(rows, reference):
    """Squared Mahalanobis distance from the reference's shrunk unit space, over k."""
    mean, cov = ledoit_wolf(reference)
    diff = rows - mean
    return np.einsum("ij,ij->i", diff @ np.linalg.inv(cov), diff) / reference.shape[1]


def test_mt_distance_is_mahalanobis_over_k_with_ledoit_wolf():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6))
    reference = np.zeros(40, bool)
    reference[:25] = True
    distances, how, flat = verdicts.mt_distances(x, reference, max_loo_items=200)
    assert how == "leave-one-out" and not flat
    np.testing.assert_allclose(distances[25:], mt_distance(x[25:], x[:25]), rtol=1e-9)
    # a reference row's own distance: from the unit space of the other 24
    alone = mt_distance(x[3:4], np.delete(x[:25], 3, axis=0))
    np.testing.assert_allclose(distances[3], alone[0], rtol=1e-9)
    # many reference rows: k-fold instead, every reference row still left out once
    distances_k, how_k, _ = verdicts.mt_distances(x, reference, max_loo_items=10)
    assert how_k == "10-fold" and np.all(distances_k[:25] > 0)
    np.testing.assert_allclose(distances_k[25:], distances[25:], rtol=1e-12)


def test_fewer_reference_judges_than_items_still_works():
    """Ledoit-Wolf: a unit space of 4 reference rows in 9 dimensions is still usable."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 9))
    reference = np.arange(10) < 4
    distances, _, _ = verdicts.mt_distances(x, reference)
    assert np.all(np.isfinite(distances)) and np.all(distances >= 0)


def test_a_unit_space_without_spread_gives_plain_distances():
    """Rows equal up to rounding (a uniform attention): no covariance to invert, so no
    rounding noise blown up into distances; the plain squared distance instead."""
    x = np.full((12, 9), 1 / 9)
    x[8] += 0.3
    distances, _, flat = verdicts.mt_distances(x, np.arange(12) < 4)
    assert flat
    np.testing.assert_array_equal(np.delete(distances, 8), 0.0)
    np.testing.assert_allclose(distances[8], 0.09, rtol=1e-12)


def test_threshold_and_row_signs():
    assert verdicts.threshold_of(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), "auto", 0.5) == 3.0
    assert verdicts.threshold_of(np.array([1.0]), 2.5, 0.95) == 2.5
    diff = np.array([[0.5, -0.5, 2.0, 1e-6], [1.0, 1.0, -3.0, -2.0]])
    signs = verdicts.row_signs(diff, ["A", "A", "B", "B"], ["A", "B"], tolerance=1e-5)
    np.testing.assert_array_equal(signs["A"], [0.0, 1.0])  # (1 - 1) / 2, (2 - 0) / 2
    np.testing.assert_array_equal(signs["B"], [0.5, -1.0])  # 1e-6 counts as neither


def test_too_few_reference_items_is_one_clear_error():
    table = Table("d.csv", ["a", "b", "c"], ["N", "E", ""], ["j1", "j2"],
                  np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="1 labeled item.s. of the reference group N: the "
                                         "verdicts' unit space needs 2 or more"):
        verdicts.verdict_table(table, ["N", "E"], order=["N", "E"], reference="N",
                               tolerance=0.0, threshold="auto", quantile=0.95,
                               max_loo_items=200)


# ---- through the workflow ------------------------------------------------------------
def hidden_label_tables(folder, seed=3, per_group=30):
    """Generated tables whose groups are well apart; half the items' labels hidden
    (empty class cells). Returns (truth, hidden) per item."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(GROUPS, per_group)
    hidden = rng.random(len(truth)) < 0.5
    folder.mkdir(parents=True, exist_ok=True)
    for metric, (learn, valid) in make_tables(judges_per_group=4, items_per_group=per_group,
                                              seed=seed).items():
        learn_name, valid_name = file_names(metric)
        write_columns(folder / learn_name, learn)
        write_columns(folder / valid_name, {**valid, "class": np.where(hidden, "", truth)})
    return truth, hidden


@pytest.fixture(scope="module")
def hidden_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hidden")
    truth, hidden = hidden_label_tables(root / "tables")
    workdir = copy_workflow(root / "wf")
    in_process.run(workdir, config=[f"data_dir={root / 'tables'}"])
    return workdir, truth, hidden


def test_unlabeled_items_get_verdicts_better_than_chance(hidden_run):
    workdir, truth, hidden = hidden_run
    results = workdir / "results"
    for metric in ("Y1", "Y2", "Y3"):
        table = read(results / "verdicts" / f"{metric}.csv")
        assert len(table) == len(truth)  # every item, in input order
        assert (table["group"] == np.where(hidden, "", truth)).all()
        assert set(table["mt_flag"]) <= {"normal", "abnormal"}
        assert list(table.columns[-3:]) == ["sign_NORMAL", "sign_ERROR_A", "sign_ERROR_B"]
        accuracy = (table["predicted"].to_numpy()[hidden] == truth[hidden]).mean()
        assert accuracy >= 0.55, (metric, accuracy)  # chance: 1/3
    summary = read(results / "verdicts" / "summary.csv")
    assert (summary["predicted"].to_numpy()[hidden] == truth[hidden]).mean() >= 0.6
    thresholds = read(results / "verdicts" / "mt_thresholds.csv")
    assert (thresholds["unlabeled_items"] == hidden.sum()).all()
    assert (thresholds["reference_items"] == ((truth == "NORMAL") & ~hidden).sum()).all()


def test_blocks_and_evaluation_use_the_labeled_items(hidden_run):
    workdir, truth, hidden = hidden_run
    results = workdir / "results"
    blocks = read(results / "blocks" / "Y2.csv")
    labeled = pd.Series(truth[~hidden]).value_counts()
    for row in blocks.itertuples():
        assert row.n == labeled[row.item_group] * 4  # 4 judges per group
    summary = read(results / "evaluation" / "summary.csv")
    assert (summary["n"] == (~hidden).sum()).all()
    detectors = summary[summary["method"].isin(["difference_mt", "metrics_mt"])]
    assert len(detectors) == 6 and (detectors["roc_auc"].astype(float) > 0.5).all()
    assert (detectors["chance_roc_auc"].astype(float) == 0.5).all()
    figures = sorted(p.name for p in (results / "figures").glob("*_mt.png"))
    assert figures == ["Y1_mt.png", "Y2_mt.png", "Y3_mt.png"]
    assert (results / "figures" / "answer.png").is_file()
    assert (results / "figures" / "where.png").is_file()


def test_images_directly_in_valid_are_unlabeled_items(tmp_path):
    workdir = copy_workflow(tmp_path / "wf", tables=False)
    valid = workdir / "resources" / "example" / "images" / "valid"
    moved = []
    for group in ORDER:
        for path in sorted((valid / group).glob("*_0[89].png")):
            moved.append(shutil.move(path, valid / f"new_{path.name}"))
    in_process.run(workdir, "verdicts")
    table = read(workdir / "results" / "verdicts" / "Y3.csv")
    unlabeled = table[table["group"] == ""]
    assert len(table) == 30 and len(unlabeled) == len(moved) == 6
    assert sorted(unlabeled["item"]) == sorted(f"valid/new_valid_{g}_0{i}.png"
                                                for g in ORDER for i in (8, 9))
    assert set(unlabeled["predicted"]) <= set(ORDER)


def test_a_learning_image_without_a_group_is_an_error(tmp_path):
    workdir = copy_workflow(tmp_path / "wf", tables=False)
    learn = workdir / "resources" / "example" / "images" / "learn"
    shutil.move(learn / "NORMAL" / "learn_NORMAL_03.png", learn / "loose.png")
    proc = in_process.run(workdir, check=False)
    assert proc.returncode == 1
    assert "learn/loose.png: a learning image (a judge) needs its group" in proc.stdout


def test_no_labeled_reference_items(tmp_path):
    """Items with no labeled reference among them (a folder of new images): the answer
    needs the judges only. group_mean falls back to the median with one warning, the
    per-metric MT says it has no unit space, and every item gets its verdict."""
    workdir = copy_workflow(tmp_path / "wf")
    for path in (workdir / "resources" / "example").glob("valid_*.csv"):
        frame = pd.read_csv(path)
        frame.loc[frame["class"] == "NORMAL", "class"] = ""
        frame.to_csv(path, index=False)
    proc = in_process.run(workdir)
    warnings = [l for l in proc.stdout.splitlines() if l.startswith("soart: warning")]
    assert sum("group 'NORMAL' has no labeled items, so group_mean has nothing to "
               "average: the median of all items instead" in w for w in warnings) == 1
    assert sum("no MT verdicts (0 labeled item(s) of the reference group NORMAL" in w
               for w in warnings) == 3
    summary = pd.read_csv(workdir / "results" / "verdicts" / "summary.csv",
                          keep_default_na=False)
    assert len(summary) == 30 and set(summary["flag"]) <= {"normal", "abnormal"}
    assert set(summary["Y1_mt_flag"]) == {"unscored"}
    median = write_yaml(tmp_path / "median.yaml", {"baseline": {"method": "median"}})
    proc = in_process.run(workdir, "difference", configfiles=[median])
    assert "group_mean has nothing to average" not in proc.stdout
