"""The contract of every detector of the registry (soart_core.detectors): calibrated on
the judges, its flag holds the false-alarm rate on fresh normal items; an item's
verdict is the same in any batch; its score is strictly increasing in its raw score
and the flag is `score >= 1 - a`. Then the choice of the detector on labeled items."""

import os

import numpy as np
import pytest

from soart_core import detectors, layout
from soart_core.verdicts import TooFewLabeled

ORDER = ["NORMAL", "ERROR_A"]
A = 0.05


def draw(rng, n, shift=0.0, regions=4, metrics=3):
    """n images' metric tables (one per metric, n x regions): correlated regions, and
    a local defect (`shift` in one random region) where asked."""
    base = rng.normal(size=(n, 1, regions)) * 0.5
    tables = [base[:, 0] + rng.normal(size=(n, regions)) for _ in range(metrics)]
    if shift:
        where = rng.integers(regions, size=n)
        for t in tables:
            t[np.arange(n), where] += shift
    return tables


def panel(rng, normal=40, errors=10):
    judges = [np.vstack([a, b]) for a, b in zip(draw(rng, normal), draw(rng, errors, 4.0))]
    groups = np.array(["NORMAL"] * normal + ["ERROR_A"] * errors, dtype=object)
    return judges, groups


# the detectors of metric tables; the pixel-level one's contract: tests/test_patches.py
TABLES = [name for name, d in detectors.REGISTRY.items() if not d.needs_pixels]


def test_the_registry_is_the_layouts_and_the_schemas():
    from soart_core.settings import load_schema

    assert tuple(detectors.REGISTRY) == layout.DETECTORS
    schema = load_schema(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))[
        "properties"]["verdicts"]["properties"]["method"]
    assert schema["enum"] == ["auto", *detectors.REGISTRY]


def test_the_pixel_level_detector_without_images_says_so():
    rng = np.random.default_rng(0)
    judges, groups = panel(rng)
    with pytest.raises(TooFewLabeled, match="images"):
        detectors.run("patches", draw(rng, 5), judges, groups, reference="NORMAL",
                      false_alarm=A)


@pytest.mark.parametrize("name", TABLES)
def test_the_flag_holds_its_rate_on_fresh_normal_items(name):
    flagged = total = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        judges, groups = panel(rng)
        fresh = draw(rng, 1000)
        result = detectors.run(name, fresh, judges, groups, reference="NORMAL",
                               false_alarm=A)
        flagged += int(result["flag"].sum())
        total += len(result["flag"])
    rate = flagged / total
    # conformal: at most (n + 1 - k) / (n + 1) = 0.049 on average over draws of judges;
    # a draw's own rate varies (sd about 0.03 with 40 judges): 20 draws, sd 0.007
    assert 0.01 <= rate <= A + 0.025, rate


@pytest.mark.parametrize("name", TABLES)
def test_a_defect_is_flagged_more_often_than_a_normal_item(name):
    rng = np.random.default_rng(11)
    judges, groups = panel(rng)
    normal = detectors.run(name, draw(rng, 400), judges, groups, reference="NORMAL",
                           false_alarm=A)
    defective = detectors.run(name, draw(rng, 400, 4.0), judges, groups,
                              reference="NORMAL", false_alarm=A)
    assert defective["flag"].mean() > 4 * normal["flag"].mean() + 0.2


@pytest.mark.parametrize("name", TABLES)
def test_an_items_verdict_does_not_depend_on_the_batch(name):
    rng = np.random.default_rng(3)
    judges, groups = panel(rng)
    items = [np.vstack([a, b]) for a, b in zip(draw(rng, 30), draw(rng, 30, 4.0))]
    whole = detectors.run(name, items, judges, groups, reference="NORMAL", false_alarm=A)
    order = rng.permutation(60)
    shuffled = detectors.run(name, [t[order] for t in items], judges, groups,
                             reference="NORMAL", false_alarm=A)
    alone = detectors.run(name, [t[7:8] for t in items], judges, groups,
                          reference="NORMAL", false_alarm=A)
    for key in ("raw", "score", "flag"):
        np.testing.assert_array_equal(shuffled[key], whole[key][order])
        np.testing.assert_array_equal(alone[key], whole[key][7:8])


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("normal", [10, 40])
def test_the_score_is_strictly_monotone_in_raw_and_the_flag_is_its(name, normal):
    rng = np.random.default_rng(5)
    judges, groups = panel(rng, normal=normal)
    items = [np.vstack([a, b]) for a, b in zip(draw(rng, 200), draw(rng, 100, 3.0))]
    result = detectors.run(name, items, judges, groups, reference="NORMAL", false_alarm=A)
    order = np.argsort(result["raw"], kind="stable")
    raw, score = result["raw"][order], result["score"][order]
    assert np.all(np.diff(score)[np.diff(raw) > 0] > 0)
    assert np.all(np.diff(score)[np.diff(raw) == 0] == 0)
    np.testing.assert_array_equal(result["flag"], result["score"] >= 1 - A)
    assert (result["warning"] != "") == (normal < 19)


def test_a_detector_says_what_it_needs():
    rng = np.random.default_rng(0)
    judges, groups = panel(rng, normal=2, errors=3)
    with pytest.raises(TooFewLabeled, match="detector regions needs 3 or more reference"):
        detectors.run("regions", draw(rng, 5), judges, groups, reference="NORMAL",
                      false_alarm=A)
    only_normal = [t[:2] for t in judges]
    with pytest.raises(TooFewLabeled, match="detector attention needs reference judges "
                                            "and judges of another group"):
        detectors.run("attention", draw(rng, 5), only_normal, groups[:2],
                      reference="NORMAL", false_alarm=A)


def test_the_region_score_says_where():
    """A defect in one region: its top region is that one, and the image's score is its
    worst region's."""
    rng = np.random.default_rng(8)
    judges, groups = panel(rng)
    items = draw(rng, 50)
    for t in items:
        t[:, 2] += 6.0
    result = detectors.run("regions", items, judges, groups, reference="NORMAL",
                           false_alarm=A)
    assert np.all(result["region_raw"].argmax(axis=1) == 2)
    np.testing.assert_allclose(result["region_score"].max(axis=1), result["score"])


# ---- the choice on labeled items ------------------------------------------------------
def results_where(flags):
    """Fake detector results: {name: flags (True = abnormal) and matching scores}."""
    return {name: {"flag": np.array(f), "score": np.array(f, dtype=float) * 0.5 + 0.25}
            for name, f in flags.items()}


def test_auto_picks_the_detector_that_tells_the_labeled_items_apart():
    groups = np.array(["NORMAL"] * 6 + ["ERROR_A"] * 6 + [""] * 2, dtype=object)
    good = [False] * 6 + [True] * 6 + [True, False]
    loud = [True] * 6 + [True] * 6 + [True, True]  # flags everything: J = 0
    quiet = [False] * 14
    chosen, why, figures, nested = detectors.choose(
        results_where({"attention": quiet, "regions": loud, "mt": good}), groups, "NORMAL")
    assert chosen == "mt" and figures["mt"] == {"detected": 6, "false_alarms": 0,
                                                "roc_auc": 1.0}
    assert nested["detection_rate"] == 1.0 and nested["false_alarm_rate"] == 0.0
    assert "6 of 6 defective, 0 of 6 NORMAL flagged" in why
    chosen, _, _, _ = detectors.choose(
        results_where({"attention": good, "regions": loud, "mt": quiet}), groups, "NORMAL")
    assert chosen == "attention"


def test_a_tie_goes_to_the_registry_order_and_few_labels_to_the_default():
    groups = np.array(["NORMAL"] * 4 + ["ERROR_A"] * 4, dtype=object)
    same = [False] * 4 + [True] * 4
    chosen, _, _, _ = detectors.choose(results_where({"regions": same, "mt": same}),
                                       groups, "NORMAL")
    assert chosen == "regions"
    one = np.array(["NORMAL"] * 4 + ["ERROR_A"] + [""] * 3, dtype=object)
    chosen, why, _, nested = detectors.choose(
        results_where({"attention": same, "mt": same}), one, "NORMAL")
    assert chosen == detectors.DEFAULT and why.startswith("the default: 1 labeled "
                                                          "defective and 4")
    assert np.isnan(nested["detection_rate"])


def test_a_region_whose_judges_do_not_vary_is_scored_not_infinite():
    """Digits' empty corners: every reference judge 0 there; an item with ink there is
    as surprising as can be told, and still scored (a number, flagged)."""
    rng = np.random.default_rng(9)
    judges, groups = panel(rng)
    for t in judges:
        t[:, 0] = 0.0
    items = draw(rng, 3)
    items[0][:, 0] = 0.0
    for t in items[1:]:
        t[:, 0] = 0.0
    items[0][1, 0] = 5.0
    result = detectors.run("regions", items, judges, groups, reference="NORMAL",
                           false_alarm=A)
    assert np.isfinite(result["raw"]).all() and result["flag"][1]


def test_the_defect_group_predictor_is_chosen_on_the_labeled_defects():
    """The predictor naming most labeled defective items' group right answers; with one
    labeled defect group there is nothing to choose by: attention."""
    groups = np.array(["NORMAL"] * 3 + ["ERROR_A"] * 4 + ["ERROR_B"] * 4 + [""] * 2,
                      dtype=object)
    truth = np.where(groups == "", "ERROR_A", groups)
    wrong = np.where(truth == "ERROR_A", "ERROR_B", "ERROR_A")
    predictions = {"attention": wrong.astype(object), "centroid": truth.astype(object),
                   "lda": truth.astype(object)}
    chosen, why, right, nested = detectors.choose_predictor(predictions, groups, "NORMAL")
    assert chosen == "centroid" and right == {"attention": 0, "centroid": 8, "lda": 8}
    assert nested["accuracy"] == 1.0 and nested["n"] == 8
    assert why.startswith("it names most labeled defective items' group right (8 of 8)")
    one = np.where(groups == "ERROR_B", "", groups)
    chosen, why, _, nested = detectors.choose_predictor(predictions, one, "NORMAL")
    assert chosen == "attention" and why.startswith("the default: 4 labeled defective "
                                                    "item(s) of 1 group(s)")


def test_every_predictor_names_a_defect_group_from_the_judges_alone():
    rng = np.random.default_rng(12)
    centres = {"NORMAL": 0.0, "ERROR_A": 3.0, "ERROR_B": -3.0}
    groups = np.repeat(list(centres), 6).astype(object)
    judges = [np.array([rng.normal(centres[g], 0.5, size=4) for g in groups])]
    items = [np.vstack([rng.normal(3.0, 0.5, size=(5, 4)), rng.normal(-3.0, 0.5, size=(5, 4))])]
    weights = {g: np.zeros(10) for g in centres}
    weights["ERROR_A"][:5] = weights["ERROR_B"][5:] = 1.0
    done = detectors.defect_groups(items, judges, groups, "NORMAL", weights)
    want = ["ERROR_A"] * 5 + ["ERROR_B"] * 5
    for name in detectors.PREDICTORS:
        if name == "looks":  # what the defect looks like: the images' (test_patches.py)
            assert name not in done
            continue
        assert list(done[name]) == want, name
    alone = detectors.defect_groups([t[3:4] for t in items], judges, groups, "NORMAL",
                                    {g: w[3:4] for g, w in weights.items()})
    assert {n: list(v) for n, v in alone.items()} == {n: list(v[3:4]) for n, v in done.items()}


def test_a_tie_below_the_judges_resolution_is_a_tie():
    """Two judges (and two group centroids) equal but for the last bits: every item,
    whatever those bits, is named after the first, never after the rounding noise."""
    base = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [3.0, 3.0], [-3.0, -3.0]])
    noisy = base.copy()
    noisy[1] = noisy[0] * (1 + 1e-15)  # judge 1 equals judge 0 to rounding
    groups = np.array(["NORMAL", "NORMAL", "NORMAL", "ERROR_A", "ERROR_B"], dtype=object)
    items = [np.array([[0.0, 1.0 + 1e-16], [0.0, 1.0 - 1e-16]])]
    nearest = detectors.nearest_reference(items, [noisy], groups == "NORMAL")
    assert list(nearest) == [0, 0]
    twins = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [2.0, 2.0 + 1e-14]])
    tied = detectors.defect_groups([np.array([[3.0, 3.0], [1.0, 1.0]])], [twins],
                                   np.array(["NORMAL", "NORMAL", "ERROR_A", "ERROR_B"],
                                            dtype=object), "NORMAL",
                                   {"ERROR_A": np.array([0.5, 0.5]),
                                    "ERROR_B": np.array([0.5 + 1e-15, 0.5])})
    assert list(tied["centroid"]) == ["ERROR_A", "ERROR_A"]
    assert list(tied["attention"]) == ["ERROR_A", "ERROR_A"]
