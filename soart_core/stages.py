"""The arithmetic of the six stages (docs/method.md), as pure functions on numpy arrays.

Nothing here reads files or knows about Snakemake; `soart_core.tables` does the I/O.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from .groups import membership, present_groups
from .progress import Progress

BASELINES = ("group_mean", "mean", "median")


# 1. normalise ---------------------------------------------------------------------------
def value_range(learn):
    """lo and hi over every cell of a learning table (one pair per metric, not per column)."""
    return float(np.min(learn)), float(np.max(learn))


def normalise(table, lo, hi, scale):
    """(table - lo) / (hi - lo) * scale, in the seed's order of operations."""
    if not hi > lo:
        raise ValueError(f"normalise needs hi > lo, got lo={lo!r}, hi={hi!r}")
    return (np.asarray(table, dtype=np.float64) - lo) / (hi - lo) * scale


# 2. threshold ---------------------------------------------------------------------------
def threshold(table, cutoff, power):
    """x < cutoff -> 0, otherwise x ** power (NaN stays NaN: callers check)."""
    table = np.asarray(table, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return np.where(table < cutoff, 0.0, np.power(table, power))


# 3. weight-build ------------------------------------------------------------------------
def weight_matrix(learn_thresholded):
    """W = (thresholded learning table)^T: d features x J judges."""
    return np.ascontiguousarray(np.asarray(learn_thresholded, dtype=np.float64).T)


# 4. attention ---------------------------------------------------------------------------
def auto_chunk_rows(n_items, itemsize=8, budget_bytes=48 << 20):
    """Items per chunk so that one chunk's score block (rows x N) takes `budget_bytes`.

    Large enough for the matrix products to run at full speed, small enough that memory
    stays N x J plus a few such blocks (one per worker thread).
    """
    rows = budget_bytes // max(1, n_items * itemsize)
    return int(min(max(rows, 16), 1024, max(n_items, 1)))


def attention(words, w_query, w_key, w_value, *, chunk_rows=None, dtype=np.float64,
              workers=1):
    """softmax(Q K^T / sqrt(J)) V with Q = X W_Q, K = X W_K, V = X W_V (docs/method.md, stage 4).

    Computed in row chunks, the softmax done per chunk, so that memory grows like N x J
    plus one chunk per worker and never N x N. Chunks run on `workers` threads (the
    job's `threads:`), each with a single-threaded BLAS, so that the softmax's
    element-wise work runs on every core it was given too.

    The scores have rank at most d (features): Q K^T = X (W_Q W_K^T) X^T and
    A V = (A X) W_V. When d < J the two N x N products therefore run with inner size d
    instead of J, the same numbers in a cheaper order (tested to 1e-12 relative).
    """
    x = np.asarray(words, dtype=dtype)
    w_query, w_key, w_value = (np.asarray(w, dtype=dtype) for w in (w_query, w_key, w_value))
    n_items, n_features = x.shape
    n_judges = w_key.shape[1]
    root_j = dtype(n_judges ** 0.5)
    if n_features < n_judges:  # scores = left @ right.T, out = (A @ basis) @ w_out
        left, right, basis, w_out = x @ (w_query @ w_key.T) / root_j, x, x, w_value
    else:
        left, right, basis, w_out = (x @ w_query) / root_j, x @ w_key, x @ w_value, None
    out = np.empty((n_items, w_value.shape[1]), dtype=dtype)
    if n_items == 0:
        return out
    right_t = np.ascontiguousarray(right.T)
    rows = chunk_rows or auto_chunk_rows(n_items, np.dtype(dtype).itemsize)

    def run(start):
        stop = min(start + rows, n_items)
        scores = left[start:stop] @ right_t
        scores -= scores.max(axis=1, keepdims=True)  # softmax's shift: exp() cannot overflow
        np.exp(scores, out=scores)
        total = scores.sum(axis=1, keepdims=True)
        mixed = scores @ basis
        if w_out is not None:
            mixed = mixed @ w_out
        np.divide(mixed, total, out=out[start:stop])  # normalise J columns, not N

    starts = range(0, n_items, rows)
    workers = min(workers, len(starts))
    progress = Progress("attention", n_items)  # a line every 10 s, from 5 s on
    if workers == 1:
        for start in starts:
            run(start)
            progress.update(min(start + rows, n_items))
        progress.finish()
        return out
    with threadpool_limits(limits=1, user_api="blas"), \
            ThreadPoolExecutor(max_workers=workers) as pool:
        for k, _ in enumerate(pool.map(run, starts), 1):
            progress.update(min(k * rows, n_items))
    progress.finish()
    return out


def round_half_even(table, decimals):
    """The seed's rounding: `round(np.float64, 5)`, which is numpy's rounding."""
    if decimals is None:
        return table
    return np.round(table, decimals)


# 5. baseline-difference -----------------------------------------------------------------
def baseline_row(out, item_groups, method, group=None):
    """Per-judge baseline b (length J): mean of `group`'s rows, or mean/median of all rows."""
    out = np.asarray(out, dtype=np.float64)
    if method == "group_mean":
        mask = np.asarray(item_groups) == group
        if not mask.any():
            raise ValueError(f"group '{group}' has no labeled items, and baseline.method "
                             f"group_mean takes their mean; label some {group} items, or "
                             f"set baseline.method: median (or mean) to use all items")
        return out[mask].mean(axis=0)
    if method == "mean":
        return out.mean(axis=0)
    if method == "median":
        return np.median(out, axis=0)
    raise ValueError(f"unknown baseline method '{method}', expected one of {BASELINES}")


def difference(out, baseline):
    """D = out - b, b broadcast over the rows."""
    return np.asarray(out, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)[None, :]


# 6. block-scoring -----------------------------------------------------------------------
def block_scores(diff, item_groups, judge_groups, order, tolerance=0.0):
    """Sign counts per (item group, judge group) block of D, groups in `order`.

    Returns a dict of equal-length columns (item_group, judge_group, n, n_pos, n_neg,
    n_zero, sign_score, agreement, mean_abs); groups with no rows or no
    columns give no block.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    diff = np.asarray(diff, dtype=np.float64)
    item_groups = np.asarray(item_groups)
    judge_groups = np.asarray(judge_groups)
    items, judges = present_groups(item_groups, order), present_groups(judge_groups, order)
    # membership matrices turn every block's count into one matrix product
    rows = membership(item_groups, items).T.astype(np.float64)
    cols = membership(judge_groups, judges).astype(np.float64)
    n_pos = rows @ (diff > tolerance).astype(np.float64) @ cols
    n_neg = rows @ (diff < -tolerance).astype(np.float64) @ cols
    n = np.outer(rows.sum(axis=1), cols.sum(axis=0))
    # how large the block's differences are: signs of 1e-5 and of 5 count alike
    mean_abs = (rows @ np.abs(diff) @ cols / n).ravel()
    n_pos, n_neg, n = (np.rint(a).astype(np.int64).ravel() for a in (n_pos, n_neg, n))
    return {
        "item_group": np.repeat(items, len(judges)).tolist(),
        "judge_group": np.tile(np.array(judges, dtype=object), len(items)).tolist(),
        "n": n,
        "n_pos": n_pos,
        "n_neg": n_neg,
        "n_zero": n - n_pos - n_neg,
        "sign_score": (n_pos - n_neg) / n,
        "agreement": np.maximum(n_pos, n_neg) / n,
        "mean_abs": mean_abs,
    }


# 4b. attention variants (docs/method.md, "Variants of the attention") ---------------------
RESOLUTION = 1e-9  # relative to a table's scale: differences below it are rounding noise


def feature_scale(learn, resolution=RESOLUTION):
    """(mean, sd) of each feature (column) over the judges (learning rows), by which
    scale_features z-scores it; sd 1 where the judges do not vary (below `resolution`
    of the table's scale): such a feature is only centred."""
    learn = np.asarray(learn, dtype=np.float64)
    mean, sd = learn.mean(axis=0), learn.std(axis=0)
    scale = max(float(np.abs(learn).max(initial=0.0)), np.finfo(float).tiny)
    return mean, np.where(sd > resolution * scale, sd, 1.0)


def scale_features(learn, *tables, resolution=RESOLUTION):
    """Each feature (column) z-scored by the judges' (learning rows') mean and standard
    deviation (feature_scale), so that no feature or metric outweighs another by its
    units alone. Returns the scaled learning table, then each of `tables`."""
    mean, sd = feature_scale(learn, resolution)
    return [(np.asarray(t, dtype=np.float64) - mean) / sd for t in (learn, *tables)]


def squared_distances(x, learn):
    """|x_i - l_j|^2 for every item i and judge j (N x J), never below 0."""
    x, learn = np.asarray(x, dtype=np.float64), np.asarray(learn, dtype=np.float64)
    d2 = ((x ** 2).sum(axis=1)[:, None] - 2.0 * x @ learn.T
          + (learn ** 2).sum(axis=1)[None, :])
    return np.maximum(d2, 0.0)


def judge_temperature(learn):
    """tau = median squared distance between two different judges: the scores'
    unit, from the learning table alone (so no item's row depends on the batch). 1.0
    where the judges do not differ (every distance is then 0 and the weights uniform)."""
    d2 = squared_distances(learn, learn)
    pairs = d2[~np.eye(len(d2), dtype=bool)]
    tau = float(np.median(pairs)) if pairs.size else 0.0
    return tau if tau > 0 else 1.0


def judge_attention(x, learn, temperature, *, leave_out_self=False):
    """A = softmax over the judges j of -|x_i - l_j|^2 / tau, items x judges: each
    item's row depends on that item and the judges only. `leave_out_self` (x is the
    learning table itself): judge i gives itself no weight (leave-one-out)."""
    scores = -squared_distances(x, learn) / temperature
    if leave_out_self:
        np.fill_diagonal(scores, -np.inf)
    scores -= scores.max(axis=1, keepdims=True)  # exp() cannot overflow
    np.exp(scores, out=scores)
    return scores / scores.sum(axis=1, keepdims=True)


def effective_number(weights):
    """exp(entropy) of each row of softmax weights: how many judges (or items) a row
    attends to in effect, 1 (all weight on one) to the row's length (uniform)."""
    w = np.asarray(weights, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(w > 0, w * np.log(np.where(w > 0, w, 1.0)), 0.0)
    return np.exp(-terms.sum(axis=1))


def seed_effective_number(words, w_query, w_key, *, chunk_rows=None, max_rows=None):
    """exp(entropy) of each item's softmax weights over the N items in the seed's
    attention (the same scores as `attention`, in row chunks): near 1 when the softmax
    saturates on one item, near N when it is flat. `max_rows`: only the first so many
    items' rows (each still over all N items), to bound the cost."""
    x = np.asarray(words, dtype=np.float64)
    n_items = len(x) if max_rows is None else min(len(x), max_rows)
    left = (x[:n_items] @ np.asarray(w_query, dtype=np.float64)) / np.sqrt(
        np.asarray(w_key).shape[1])
    right_t = np.ascontiguousarray((x @ np.asarray(w_key, dtype=np.float64)).T)
    out = np.empty(n_items)
    rows = chunk_rows or auto_chunk_rows(len(x))
    for start in range(0, n_items, rows):  # chunks bound memory, as in `attention`
        scores = left[start:start + rows] @ right_t
        scores -= scores.max(axis=1, keepdims=True)
        weights = np.exp(scores)
        out[start:start + rows] = effective_number(weights / weights.sum(axis=1,
                                                                          keepdims=True))
    return out


def distinct_rows(table, resolution=RESOLUTION):
    """How many rows of `table` differ by more than `resolution` of its scale (rows
    rounded to that grid, then counted)."""
    table = np.asarray(table, dtype=np.float64)
    if len(table) == 0:
        return 0
    scale = max(float(np.abs(table).max(initial=0.0)), np.finfo(float).tiny)
    return len(np.unique(np.round(table / (resolution * scale)), axis=0))


def variant_inputs(words, learn, weights, *, features, feature_scale):
    """The attention variants' inputs: [(x, learn, (W_Q, W_K, W_V))], one per words
    metric (`features` per_metric) or one for all (combined: the metrics' features side
    by side, and each role's weight matrix the combined learning table: the roles
    have no metric to choose then). `words`, `learn`: lists of arrays in words order;
    `weights`: (W_Q, W_K, W_V) of the role metrics. `feature_scale` judges: every
    feature z-scored by its judges (`scale_features`), the weight matrices too."""
    scaled = feature_scale == "judges"
    if features == "combined":
        words, learn = [np.hstack(words)], [np.hstack(learn)]
        weights = None
    done = []
    for x, ll in zip(words, learn):
        if scaled:
            ll, x = scale_features(ll, x)
        if weights is None:
            w = (ll.T,) * 3
        elif scaled:
            w = tuple(scale_features(np.asarray(m).T)[0].T for m in weights)
        else:
            w = tuple(weights)
        done.append((np.asarray(x, dtype=np.float64), np.asarray(ll, dtype=np.float64), w))
    return done
