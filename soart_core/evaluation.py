"""Does it discriminate? Leave-one-out classification of the items and block contrast.

Nearest centroid is computed in closed form for all items at once (leaving item i out
moves only its own group's centroid), so it scales to large N; linear discriminant
analysis comes from scikit-learn, leave-one-out up to `max_loo_items` items and
stratified k-fold above that.
"""

import numpy as np


def loo_nearest_centroid(features, groups, order):
    """Leave-one-out nearest-centroid predictions (Euclidean), one group name per row.

    A group with a single member cannot be predicted for that member (no centroid
    without it); ties go to the group first in `order`.
    """
    x = np.asarray(features, dtype=np.float64)
    groups = np.asarray(groups)
    present = [g for g in order if (groups == g).any()]
    member = groups[:, None] == np.array(present, dtype=object)[None, :]  # N x G
    counts = member.sum(axis=0).astype(np.float64)
    sums = member.T.astype(np.float64) @ x  # G x d
    # squared distance of every row to every full centroid (a group at a time: memory
    # N x d, not N x G x d) ...
    centroids = sums / counts[:, None]
    dist = np.column_stack([((x - c) ** 2).sum(axis=1) for c in centroids])
    # ... and to its own group's centroid without itself
    own = member.argmax(axis=1)
    own_n = counts[own] - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        own_centroid = (sums[own] - x) / own_n[:, None]
    own_dist = ((x - own_centroid) ** 2).sum(axis=1)
    dist[np.arange(len(x)), own] = np.where(own_n > 0, own_dist, np.inf)
    return np.array(present, dtype=object)[dist.argmin(axis=1)]


def cross_validated_lda(features, groups, max_loo_items=2000, folds=10, seed=0):
    """Linear discriminant analysis (scikit-learn), leave-one-out or stratified k-fold."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import LeaveOneOut, StratifiedKFold, cross_val_predict

    x = np.asarray(features, dtype=np.float64)
    groups = np.asarray(groups, dtype=object)
    _, counts = np.unique(groups.astype(str), return_counts=True)
    if len(x) <= max_loo_items:
        split = LeaveOneOut()
    else:
        split = StratifiedKFold(n_splits=min(folds, int(counts.min())), shuffle=True,
                                random_state=seed)
    return cross_val_predict(LinearDiscriminantAnalysis(), x, groups, cv=split)


def confusion(true, predicted, order):
    """Counts: rows the true group, columns the predicted group, both in `order`."""
    true, predicted = np.asarray(true, dtype=object), np.asarray(predicted, dtype=object)
    labels = np.array(order, dtype=object)
    return ((true[:, None] == labels[None, :]).T.astype(np.int64)
            @ (predicted[:, None] == labels[None, :]).astype(np.int64))


def scores(true, predicted, order):
    """accuracy, balanced accuracy (mean recall over present groups) and recall per group."""
    counts = confusion(true, predicted, order)
    support = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, np.diag(counts) / support, np.nan)
    result = {"n": int(support.sum()),
              "accuracy": float(np.trace(counts) / support.sum()),
              "balanced_accuracy": float(np.nanmean(recall))}
    result.update({f"recall_{g}": float(r) for g, r in zip(order, recall)})
    return result, counts


def block_contrast(item_groups, judge_groups, sign_scores, reference):
    """Mean |sign_score| over the error groups' own-judge blocks and over the reference
    (NORMAL) items' blocks, and their difference: high when errors stand out."""
    item_groups = np.asarray(item_groups, dtype=object)
    judge_groups = np.asarray(judge_groups, dtype=object)
    magnitude = np.abs(np.asarray(sign_scores, dtype=np.float64))
    own = (item_groups == judge_groups) & (item_groups != reference)
    normal = item_groups == reference
    error_own = float(magnitude[own].mean()) if own.any() else float("nan")
    normal_mean = float(magnitude[normal].mean()) if normal.any() else float("nan")
    return {"block_error_own": error_own, "block_normal": normal_mean,
            "block_contrast": error_own - normal_mean}


ATTENTION_METHODS = ("difference_nearest_centroid", "attention_nearest_centroid")
# the classic baselines read only the thresholded validation metrics
CLASSIC_METHODS = ("metrics_nearest_centroid", "metrics_lda")


def _method(metric, method, groups, predicted, order):
    """One method's summary row (a dict) and confusion rows (a list of dicts)."""
    figures, counts = scores(groups, predicted, order)
    confusion = [{"method": method, "true_group": g,
                  **{f"predicted_{p}": int(c) for p, c in zip(order, row)}}
                 for g, row in zip(order, counts)]
    return {"metric": metric, "method": method, **figures}, confusion


def classic(metric, words, *, order, max_loo_items=2000):
    """The classic baselines on one metric's thresholded validation table (a Table):
    (summary rows, confusion rows), lists of dicts."""
    groups = np.asarray(words.groups, dtype=object)
    predictions = {"metrics_nearest_centroid": loo_nearest_centroid(words.values, groups,
                                                                    order),
                   "metrics_lda": cross_validated_lda(words.values, groups, max_loo_items)}
    done = [_method(metric, m, groups, predictions[m], order) for m in CLASSIC_METHODS]
    return [row for row, _ in done], [r for _, rows in done for r in rows]


def evaluate_metric(metric, attention, difference, blocks, classic_rows, classic_confusion,
                    *, order, reference):
    """Every method's figures for one words metric: (summary rows, confusion rows).

    Nearest centroid on the difference and the attention rows (Tables with the same
    items), then the classic baselines' rows as `classic` made them; the block contrast
    of `blocks` (the block table's columns) goes on every row.
    """
    groups = np.asarray(attention.groups, dtype=object)
    done = [_method(metric, method, groups,
                    loo_nearest_centroid(table.values, groups, order), order)
            for method, table in zip(ATTENTION_METHODS, (difference, attention))]
    contrast = block_contrast(blocks["item_group"], blocks["judge_group"],
                              blocks["sign_score"], reference)
    rows = [{**row, **contrast} for row in [r for r, _ in done] + list(classic_rows)]
    return rows, [r for _, rows_ in done for r in rows_] + list(classic_confusion)


def rows_to_columns(rows):
    """A list of dicts (same keys) as {key: list}, for `tables.write_columns`."""
    return {key: [row[key] for row in rows] for key in rows[0]} if rows else {}


def columns_to_rows(columns):
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*(columns[n] for n in names))]
