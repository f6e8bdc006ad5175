"""Inspect: a verdict for every item, labeled or not.

For each words metric, from the items' rows of the baseline difference D:

- `predicted`: the nearest centroid among the labeled items' groups (Euclidean); a
  labeled item's own group centroid leaves it out (leave-one-out), so the verdicts on
  labeled items are honest figures of what an unlabeled one gets.
- `distance`: Taguchi's MT distance D^2 = MD^2 / k of the row from the unit space of
  the labeled reference items (their mean and covariance; k = the number of judges),
  the covariance by Ledoit-Wolf shrinkage (scikit-learn), which stays well defined
  when the reference items are fewer than the judges. A reference item's own distance
  comes from a unit space without it (leave-one-out, k-fold for many), so the
  threshold taken from those distances is not fooled by each item fitting itself.
- `flag`: abnormal where the distance exceeds the threshold: by default the
  `quantile` of the reference items' own distances.
- `sign_{GROUP}`: the seed's block rule on this one row: (n_pos - n_neg) / n over
  that judge group's columns, |x| <= tolerance counting as neither.
"""

import numpy as np

from .layout import UNLABELED

FOLDS = 10


class TooFewLabeled(ValueError):
    """The labeled items cannot place the verdicts (what is missing in the message)."""


def labeled_mask(groups):
    return np.asarray(groups, dtype=object) != UNLABELED


def flags(distance, threshold):
    """abnormal where the distance exceeds the threshold, else normal."""
    return np.where(np.asarray(distance) > threshold, "abnormal", "normal")


def nearest_centroid(x, groups, order):
    """Predicted group of every row from the centroids of the labeled rows; leave-one-out
    for the labeled rows. None where fewer than 2 labeled rows exist."""
    from .evaluation import loo_nearest_centroid

    x = np.asarray(x, dtype=np.float64)
    groups = np.asarray(groups, dtype=object)
    labeled = labeled_mask(groups)
    if labeled.sum() < 2:
        return None
    predicted = np.full(len(x), UNLABELED, dtype=object)
    predicted[labeled] = loo_nearest_centroid(x[labeled], groups[labeled], order)
    if (~labeled).any():
        present = [g for g in order if (groups == g).any()]
        centroids = np.stack([x[groups == g].mean(axis=0) for g in present])
        unlabeled = x[~labeled]
        # |a - c|^2 = |a|^2 - 2 a.c + |c|^2: one matrix product for all rows at once
        dist = ((unlabeled ** 2).sum(axis=1)[:, None] - 2 * unlabeled @ centroids.T
                + (centroids ** 2).sum(axis=1)[None, :])
        predicted[~labeled] = np.array(present, dtype=object)[dist.argmin(axis=1)]
    return predicted


def _distances(unit, rows):
    """D^2 = MD^2 / k of `rows` from the unit space of the rows `unit`, and whether that
    unit space had no spread. Without spread (one row, or rows equal to rounding, as
    under a uniform attention) a covariance means nothing and its pseudo-inverse would
    blow rounding noise up: the distance is then the plain squared one, / k."""
    from sklearn.covariance import LedoitWolf

    k = rows.shape[1]
    # one global scale: the distance does not change, and squares cannot overflow
    scale = max(np.abs(unit).max(), np.abs(rows).max(), np.finfo(float).tiny)
    unit, rows = unit / scale, rows / scale
    spread = np.ptp(unit, axis=0).max() if len(unit) > 1 else 0.0
    if spread <= 1e-9 * max(np.abs(unit).max(), np.finfo(float).tiny):
        return ((rows - unit.mean(axis=0)) ** 2).sum(axis=1) * scale ** 2 / k, True
    return LedoitWolf().fit(unit).mahalanobis(rows) / k, False


def mt_distances(x, reference, max_loo_items=200, folds=FOLDS, seed=0):
    """MT distance D^2 = MD^2 / k of every row of `x` from the unit space of the rows
    where `reference` (a mask) holds; each reference row's own distance from a unit
    space fitted without it (leave-one-out up to `max_loo_items` reference rows,
    `folds`-fold above). Returns (distances, how the reference rows were left out,
    whether some unit space had no spread: see `_distances`)."""
    from sklearn.model_selection import KFold

    x = np.asarray(x, dtype=np.float64)
    members = np.flatnonzero(reference)
    if len(members) < 2:
        raise ValueError(f"{len(members)} reference row(s): a unit space needs 2 or more")
    distances, flat = _distances(x[members], x)
    if len(members) <= max_loo_items:
        splits, how = ((np.delete(np.arange(len(members)), i), [i])
                       for i in range(len(members))), "leave-one-out"
    else:
        splits = KFold(n_splits=folds, shuffle=True, random_state=seed).split(members)
        how = f"{folds}-fold"
    for train, test in splits:
        distances[members[test]], flat_fold = _distances(x[members[train]],
                                                         x[members[test]])
        flat |= flat_fold
    return distances, how, flat


def threshold_of(reference_distances, threshold, quantile):
    """The flag's threshold: a number as configured, or (auto) the quantile of the
    reference items' own distances."""
    if threshold != "auto":
        return float(threshold)
    return float(np.quantile(reference_distances, quantile))


def row_signs(diff, judge_groups, order, tolerance):
    """{judge group: (n_pos - n_neg) / n per row}, the block rule on single rows."""
    diff = np.asarray(diff, dtype=np.float64)
    judge_groups = np.asarray(judge_groups, dtype=object)
    present = [g for g in order if (judge_groups == g).any()]
    member = (judge_groups[:, None] == np.array(present, dtype=object)[None, :]).astype(float)
    signed = (diff > tolerance).astype(float) - (diff < -tolerance).astype(float)
    scores = signed @ member / member.sum(axis=0)[None, :]
    return {g: scores[:, i] for i, g in enumerate(present)}


def verdict_table(difference, judge_groups, *, order, reference, tolerance, threshold,
                  quantile, max_loo_items):
    """One metric's verdicts (a dict of columns) and its threshold row (a dict).

    `difference` is the metric's difference Table (items x judges). Raises TooFewLabeled
    with what is missing where the labeled items cannot place the verdicts."""
    groups = np.asarray(difference.groups, dtype=object)
    labeled = labeled_mask(groups)
    in_reference = groups == reference
    if in_reference.sum() < 2:
        raise TooFewLabeled(f"{int(in_reference.sum())} labeled item(s) of the reference "
                         f"group {reference}: the verdicts' unit space needs 2 or more "
                         f"(label more {reference} items in the batch)")
    predicted = nearest_centroid(difference.values, groups, order)
    distance, how, flat = mt_distances(difference.values, in_reference, max_loo_items)
    limit = threshold_of(distance[in_reference], threshold, quantile)
    columns = {"item": difference.names, "group": list(groups),
               "predicted": list(predicted), "distance": distance,
               "flag": flags(distance, limit)}
    signs = row_signs(difference.values, judge_groups, order, tolerance)
    columns.update({f"sign_{g}": v for g, v in signs.items()})
    rule = (f"quantile {quantile:g} of the reference items' own distances" if
            threshold == "auto" else "verdicts.threshold")
    row = {"threshold": limit, "rule": rule, "reference_items": int(in_reference.sum()),
           "labeled_items": int(labeled.sum()), "unlabeled_items": int((~labeled).sum()),
           "reference_distances": how,
           "unit_space": ("no spread: plain squared distance / J" if flat else
                          "Ledoit-Wolf covariance")}
    return columns, row


def combine(metrics, tables, order):
    """Per item, the words metrics together: the vote of `predicted` (ties go to the
    group first in `order`), the largest distance and its metric, and `flag` abnormal
    where any metric flags it. `tables`: one verdict dict of columns per metric."""
    first = tables[0]
    votes = np.array([t["predicted"] for t in tables], dtype=object)  # metrics x items
    counts = np.stack([(votes == g).sum(axis=0) for g in order])  # groups x items
    winner = counts.argmax(axis=0)  # the first of the most voted, in `order`
    predicted = np.array(order, dtype=object)[winner]
    agree = votes == predicted[None, :]
    distances = np.stack([t["distance"] for t in tables])
    flagged = np.stack([np.asarray(t["flag"]) == "abnormal" for t in tables])
    names = np.array(metrics, dtype=object)

    def joined(mask):  # the metrics (of a metrics x items mask) per item, as text
        return [" ".join(names[mask[:, i]]) for i in range(mask.shape[1])]

    return {"item": first["item"], "group": first["group"], "predicted": list(predicted),
            "votes": [f"{a}/{len(metrics)}" for a in agree.sum(axis=0)],
            "predicted_by": joined(agree), "distance": distances.max(axis=0),
            "distance_metric": list(names[distances.argmax(axis=0)]),
            "flag": np.where(flagged.any(axis=0), "abnormal", "normal"),
            "flagged_by": joined(flagged)}
