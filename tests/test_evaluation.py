"""The evaluation figures against hand-computed cases and scikit-learn."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from soart_core import evaluation
from soart_core.groups import loo_nearest_centroid

ORDER = ["NORMAL", "ERROR_A", "ERROR_B"]


def separable(n_per_group=5, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = np.repeat(centres, n_per_group, axis=0) + rng.normal(0, 0.5, (3 * n_per_group, 2))
    return x, np.repeat(ORDER, n_per_group)


def test_perfectly_separable_groups_give_accuracy_one():
    x, groups = separable()
    lda, warning = evaluation.cross_validated_lda(x, groups)
    assert warning == ""
    for predicted in (loo_nearest_centroid(x, groups, ORDER), lda):
        figures, counts = evaluation.scores(groups, predicted, ORDER)
        assert figures["accuracy"] == 1.0 and figures["balanced_accuracy"] == 1.0
        np.testing.assert_array_equal(counts, np.diag([5, 5, 5]))


def test_shuffled_labels_give_chance_on_average():
    rng = np.random.default_rng(1)
    accuracies = []
    for _ in range(200):
        x = rng.normal(size=(30, 3))
        groups = rng.permutation(np.repeat(ORDER, 10))
        predicted = loo_nearest_centroid(x, groups, ORDER)
        accuracies.append(evaluation.scores(groups, predicted, ORDER)[0]["accuracy"])
    # chance is 1/3; leave-one-out on pure noise sits a little below it
    assert 0.2 < np.mean(accuracies) < 0.4


def test_leave_one_out_by_hand():
    # 1-D: A = {0, 2}, B = {3, 10}. Leaving out 2: A's centroid is 0 (distance 2), B's is
    # 6.5 (4.5) -> A. Leaving out 3: B's centroid 10 (7), A's 1 (2) -> A, a miss.
    x = np.array([[0.0], [2.0], [3.0], [10.0]])
    groups = np.array(["A", "A", "B", "B"])
    predicted = loo_nearest_centroid(x, groups, ["A", "B"])
    assert predicted.tolist() == ["A", "A", "A", "B"]
    figures, counts = evaluation.scores(groups, predicted, ["A", "B"])
    assert figures["accuracy"] == 0.75
    assert figures["recall_A"] == 1.0 and figures["recall_B"] == 0.5
    np.testing.assert_array_equal(counts, [[2, 0], [1, 1]])


def test_a_single_member_group_is_never_predicted_for_itself():
    x = np.array([[0.0], [1.0], [5.0]])
    predicted = loo_nearest_centroid(x, ["A", "A", "B"], ["A", "B"])
    assert predicted.tolist() == ["A", "A", "A"]


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_closed_form_equals_sklearn_leave_one_out(data):
    from sklearn.model_selection import LeaveOneOut, cross_val_predict
    from sklearn.neighbors import NearestCentroid

    n = data.draw(st.integers(6, 25))
    d = data.draw(st.integers(1, 4))
    x = data.draw(arrays(np.float64, (n, d), elements=st.integers(-50, 50).map(float)))
    assume(len(np.unique(x, axis=0)) >= 3)  # sklearn refuses a fold without variance
    groups = np.array(["A", "B", "C"] * n)[:n]
    ours = loo_nearest_centroid(x, groups, ["A", "B", "C"])
    theirs = cross_val_predict(NearestCentroid(), x, groups, cv=LeaveOneOut())
    # integer cells can tie; then only the distances must agree
    if not np.array_equal(ours, theirs):
        for i in np.flatnonzero(ours != theirs):
            rest = np.arange(n) != i
            dist = {g: np.sum((x[i] - x[rest & (groups == g)].mean(axis=0)) ** 2)
                    for g in (ours[i], theirs[i])}
            assert dist[ours[i]] == pytest.approx(dist[theirs[i]])


def test_block_contrast_by_hand():
    items = ["NORMAL"] * 3 + ["ERROR_A"] * 3
    judges = ["NORMAL", "ERROR_A", "ERROR_B"] * 2
    signs = [0.2, -0.4, 0.0, -1.0, 0.8, 0.5]
    got = evaluation.block_contrast(items, judges, signs, "NORMAL")
    assert got["block_error_own"] == pytest.approx(0.8)
    assert got["block_normal"] == pytest.approx(0.2)
    assert got["block_contrast"] == pytest.approx(0.6)


def test_large_heatmaps_show_group_means_of_rows():
    from soart_core.figures import _bin_rows

    values = np.arange(10.0)[:, None] * np.ones((1, 2))
    spans = [("A", 0, 6), ("B", 6, 10)]
    binned, new_spans, size = _bin_rows(values, spans, max_rows=4)
    assert size == 3
    np.testing.assert_array_equal(binned[:, 0], [1.0, 4.0, 7.0, 9.0])  # never across groups
    assert new_spans == [("A", 0, 2), ("B", 2, 4)]
    assert _bin_rows(values, spans, max_rows=100)[2] == 1
