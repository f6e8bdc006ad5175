"""The stage arithmetic on small arrays, against hand-computed values and the plain formula."""

import numpy as np
import pytest
from scipy.special import softmax

from soart_core import stages


def full_attention(x, wq, wk, wv):
    """The seed's formula with the full N x N matrix."""
    q, k, v = x @ wq, x @ wk, x @ wv
    return softmax(q @ k.T / k.shape[1] ** 0.5, axis=1) @ v


def test_normalise_uses_the_learning_range():
    learn = np.array([[1.0, 3.0], [2.0, 5.0]])
    lo, hi = stages.value_range(learn)
    assert (lo, hi) == (1.0, 5.0)
    np.testing.assert_array_equal(stages.normalise(learn, lo, hi, 2.0),
                                  [[0.0, 1.0], [0.5, 2.0]])
    # validation values outside the learning range go outside [0, s]
    np.testing.assert_array_equal(stages.normalise([[0.0, 7.0]], lo, hi, 2.0), [[-0.5, 3.0]])


def test_normalise_rejects_a_constant_table():
    with pytest.raises(ValueError, match="hi > lo"):
        stages.normalise([[1.0]], 1.0, 1.0, 2.0)


def test_threshold_cuts_below_and_powers_the_rest():
    x = np.array([[0.2, 0.5, 1.5], [-1.0, 0.49999, 2.0]])
    np.testing.assert_array_equal(stages.threshold(x, 0.5, 2.0),
                                  [[0.0, 0.25, 2.25], [0.0, 0.0, 4.0]])
    np.testing.assert_array_equal(stages.threshold(x, 0.3, 1.0),
                                  [[0.0, 0.5, 1.5], [0.0, 0.49999, 2.0]])
    assert np.isnan(stages.threshold([[-0.5]], -1.0, 0.5)).all()


def test_weight_matrix_is_the_transposed_table():
    learn = np.arange(6.0).reshape(3, 2)  # 3 judges, 2 features
    w = stages.weight_matrix(learn)
    assert w.shape == (2, 3) and w.flags.c_contiguous
    np.testing.assert_array_equal(w, learn.T)


@pytest.mark.parametrize("n,j,d,chunk", [
    (50, 7, 4, 16),  # N not divisible by the chunk
    (10, 9, 4, 64),  # N smaller than one chunk
    (33, 1, 3, 5),  # J = 1
    (1, 4, 2, None),  # one item
    (257, 32, 8, None),  # automatic chunk
    (64, 16, 4, 1),  # one row per chunk
    (40, 3, 8, 7),  # d >= J: the plain order of products
    (40, 8, 8, 9),  # d == J
])
def test_chunked_attention_equals_the_full_matrix(n, j, d, chunk):
    rng = np.random.default_rng(n * 1000 + j)
    x = rng.uniform(-1, 2, (n, d))  # negative cells too, as normalised items can be
    wq, wk, wv = (rng.uniform(-1, 4, (d, j)) for _ in range(3))
    expected = full_attention(x, wq, wk, wv)
    for workers in (1, 2):
        got = stages.attention(x, wq, wk, wv, chunk_rows=chunk, workers=workers)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


def test_attention_survives_large_scores():
    # scores of several hundred would overflow exp() without the max shift
    x = np.full((5, 2), 10.0)
    w = np.full((2, 3), 10.0)
    got = stages.attention(x, w, w, w)
    np.testing.assert_allclose(got, full_attention(x, w, w, w), rtol=1e-12)
    assert np.isfinite(got).all()


def test_float32_attention_is_close():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 2, (300, 4))
    wq, wk, wv = (rng.uniform(0, 1, (4, 12)) for _ in range(3))
    got = stages.attention(x, wq, wk, wv, dtype=np.float32)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, full_attention(x, wq, wk, wv), rtol=1e-4)


def test_auto_chunk_rows_bounds():
    assert stages.auto_chunk_rows(20_000) * 20_000 * 8 <= 48 << 20
    assert stages.auto_chunk_rows(10) == 10
    assert stages.auto_chunk_rows(10_000_000) == 16
    assert stages.auto_chunk_rows(100) == 100


def test_rounding_is_the_seeds():
    """Hand-computed: halves exactly representable in binary go to the even neighbour;
    2.675 (stored as 2.67499999999999982...) gives 2.68 as the seed's
    round(np.float64(x), 2) does (Python's round of a float gives 2.67)."""
    got = stages.round_half_even(np.array([0.125, 0.375, -0.625, 2.675, 1.0049]), 2)
    assert got.tolist() == [0.12, 0.38, -0.62, 2.68, 1.0]
    assert stages.round_half_even(np.array([1.23456789]), None)[0] == 1.23456789


def test_baselines():
    out = np.array([[1.0, 10.0], [3.0, 20.0], [8.0, 60.0]])
    groups = ["NORMAL", "NORMAL", "ERROR_A"]
    np.testing.assert_array_equal(stages.baseline_row(out, groups, "group_mean", "NORMAL"),
                                  [2.0, 15.0])
    np.testing.assert_array_equal(stages.baseline_row(out, groups, "mean"), [4.0, 30.0])
    np.testing.assert_array_equal(stages.baseline_row(out, groups, "median"), [3.0, 20.0])
    np.testing.assert_array_equal(stages.difference(out, [2.0, 15.0]),
                                  [[-1.0, -5.0], [1.0, 5.0], [6.0, 45.0]])
    with pytest.raises(ValueError, match="no labeled items.*set baseline.method: median"):
        stages.baseline_row(out, groups, "group_mean", "ERROR_B")


def test_block_scores_by_hand():
    d = np.array([[0.5, -0.5, 2.0],
                  [0.05, -1.0, 3.0],
                  [-2.0, -3.0, 0.0]])
    items = ["A", "A", "B"]
    judges = ["A", "A", "B"]
    blocks = stages.block_scores(d, items, judges, ["A", "B"], tolerance=0.1)
    assert blocks["item_group"] == ["A", "A", "B", "B"]
    assert blocks["judge_group"] == ["A", "B", "A", "B"]
    # block (A, A): 0.5 pos, -0.5 neg, 0.05 zero (|x| <= 0.1), -1 neg
    assert list(blocks["n"]) == [4, 2, 2, 1]
    assert list(blocks["n_pos"]) == [1, 2, 0, 0]
    assert list(blocks["n_neg"]) == [2, 0, 2, 0]
    assert list(blocks["n_zero"]) == [1, 0, 0, 1]
    np.testing.assert_array_equal(blocks["sign_score"], [-0.25, 1.0, -1.0, 0.0])
    np.testing.assert_array_equal(blocks["agreement"], [0.5, 1.0, 1.0, 0.0])
    # mean |D| per block: (0.5 + 0.5 + 0.05 + 1) / 4, (2 + 3) / 2, (2 + 3) / 2, 0
    np.testing.assert_allclose(blocks["mean_abs"], [0.5125, 2.5, 2.5, 0.0], rtol=1e-15)


def test_block_scores_follow_the_configured_order_and_skip_absent_groups():
    d = np.ones((2, 2))
    blocks = stages.block_scores(d, ["B", "A"], ["A", "A"], ["C", "B", "A"])
    assert blocks["item_group"] == ["B", "A"] and blocks["judge_group"] == ["A", "A"]
    with pytest.raises(ValueError, match="tolerance"):
        stages.block_scores(d, ["A", "A"], ["A", "A"], ["A"], tolerance=-1)
