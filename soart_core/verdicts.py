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

import functools

import numpy as np

from .groups import (loo_nearest_centroid, membership, present_groups, relative_round,
                     squared_scale)
from . import stages
from .layout import UNLABELED

FOLDS = 10


class TooFewLabeled(ValueError):
    """The labeled items cannot place the verdicts (what is missing in the message)."""


class Unscorable(ValueError):
    """An item whose score is not a number: never a verdict of normal."""


def labeled_mask(groups):
    return np.asarray(groups, dtype=object) != UNLABELED


def flags(distance, threshold):
    """abnormal where the distance exceeds the threshold, else normal."""
    return np.where(np.asarray(distance) > threshold, "abnormal", "normal")


def nearest_centroid(x, groups, order):
    """Predicted group of every row from the centroids of the labeled rows; leave-one-out
    for the labeled rows. None where fewer than 2 labeled rows exist."""
    x = np.asarray(x, dtype=np.float64)
    groups = np.asarray(groups, dtype=object)
    labeled = labeled_mask(groups)
    if labeled.sum() < 2:
        return None
    predicted = np.full(len(x), UNLABELED, dtype=object)
    predicted[labeled] = loo_nearest_centroid(x[labeled], groups[labeled], order)
    if (~labeled).any():
        present = present_groups(groups, order)
        centroids = np.stack([x[groups == g].mean(axis=0) for g in present])
        unlabeled = x[~labeled]
        # |a - c|^2 = |a|^2 - 2 a.c + |c|^2: one matrix product for all rows at once
        dist = ((unlabeled ** 2).sum(axis=1)[:, None] - 2 * unlabeled @ centroids.T
                + (centroids ** 2).sum(axis=1)[None, :])
        dist = relative_round(dist, scale=squared_scale(x))  # ties below resolution
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
        # on the data's scale (1 after dividing by `scale`): below 1e-9 of it, rounding
        plain = np.round(((rows - unit.mean(axis=0)) ** 2).sum(axis=1) / k, 18)
        return plain * scale ** 2, True
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
    present = present_groups(judge_groups, order)
    member = membership(judge_groups, present).astype(float)
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
    distance = relative_round(distance)  # flags and ranks at the data's resolution
    limit = threshold_of(distance[in_reference], threshold, quantile)
    columns = {"item": difference.names, "group": list(groups),
               "predicted": list(predicted), "mt_distance": distance,
               "mt_flag": flags(distance, limit)}
    signs = row_signs(difference.values, judge_groups, order, tolerance)
    columns.update({f"sign_{g}": v for g, v in signs.items()})
    rule = (f"quantile {quantile:g} of the reference items' own distances" if
            threshold == "auto" else "verdicts.mt_threshold")
    row = {"mt_threshold": limit, "rule": rule, "reference_items": int(in_reference.sum()),
           "labeled_items": int(labeled.sum()), "unlabeled_items": int((~labeled).sum()),
           "reference_distances": how,
           "unit_space": ("no spread: plain squared distance / J" if flat else
                          "Ledoit-Wolf covariance")}
    return columns, row


# ---- the default verdict: the items' attention over the judges ---------------------------
SCORE_DECIMALS = 9  # raw scores live in [0, 1]: compared on a 1e-9 grid, ties as ties
RAW_STEP = 10.0 ** -SCORE_DECIMALS


def bounded(raw):
    """Raw distances in [0, inf) onto the raw scale [0, 1): monotone, at its resolution."""
    raw = np.asarray(raw, dtype=np.float64)
    return np.round(raw / (1.0 + raw), SCORE_DECIMALS)


def reference_weight_score(weights, judge_groups, reference):
    """raw = 1 - the weight a row gives the reference group's judges: 0 for an item
    that attends only to normal judges, 1 for one that attends only to error judges.
    Rounded to SCORE_DECIMALS, so that rows equal but for rounding score equal."""
    ref = np.asarray(judge_groups, dtype=object) == reference
    return np.round(1.0 - np.asarray(weights)[:, ref].sum(axis=1), SCORE_DECIMALS)


def left_out_raw(x, learn, temperature, in_reference):
    """(raw, A): each item's raw score (1 - the weight on the reference judges)
    averaged over leaving out each reference judge in turn, rounded as
    reference_weight_score: the item then faces n - 1 reference judges, as each judge
    does in its own leave-one-out score, so that a normal item's raw is exchangeable
    with the judges' (with all n, items would score lower than the judges, and the
    flag would promise more false alarms than it gives); and the items' attention over
    all the judges, A = stages.judge_attention's, from the same scores."""
    scores = -stages.squared_distances(x, learn) / temperature
    rows = np.arange(len(scores))
    top = scores.argmax(axis=1)
    scores -= scores[rows, top][:, None]  # exp() cannot overflow; the top judge: 1
    weights = np.exp(scores)
    total = weights.sum(axis=1)
    other = weights[:, ~in_reference].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        left_out = other[:, None] / (total[:, None] - weights[:, in_reference])
    # an item (all but) equal to one reference judge: without it, total - 1 cancels;
    # those rows' raw without their top judge is computed again from the others alone
    alone = np.flatnonzero(in_reference[top] & (total - 1.0 < 1e-6))
    if alone.size:
        rest = scores[alone]
        rest[np.arange(alone.size), top[alone]] = -np.inf
        rest = np.exp(rest - rest.max(axis=1, keepdims=True))
        without_top = rest[:, ~in_reference].sum(axis=1) / rest.sum(axis=1)
        column = np.cumsum(in_reference)[top[alone]] - 1  # top's column in left_out
        left_out[alone, column] = without_top
    return np.round(left_out.mean(axis=1), SCORE_DECIMALS), weights / total[:, None]


GUMBEL_DRAWS = 200_000  # Monte Carlo draws of the pivot: its (1 - a) quantile to ~0.01


@functools.lru_cache(maxsize=None)
def gumbel_factor(n, a):
    """c such that, for n + 1 independent draws of one Gumbel law, the last exceeds the
    mean of the first n plus c times their sd (ddof 1) with probability a: the ratio
    is pivotal (the same for any location and scale), so mean + c sd is the (1 - a)
    prediction bound of a new draw, as mean + t_{1-a,n-1} sd sqrt(1 + 1/n) is for a
    normal. Why a Gumbel: a detector's raw score is a maximum (over windows, regions
    or judges), and maxima have a heavier right tail than a normal's. On fresh normal
    images of real surfaces with 10 judges where 0.05 was asked, the normal's bound
    flagged 0.103 of them by the patches detector (benchmarks/patches.py fresh) and
    0.044 by the attention (benchmarks/false_alarm.py), the Gumbel's 0.084 and 0.025.
    By Monte Carlo on fixed draws (uniforms through -log(-log u)), rounded to 2
    decimals (about what the draws resolve), so that it is the same number on any
    machine."""
    rng = np.random.default_rng(20261207)
    ratios = []
    chunk = max(1, 2 ** 21 // (n + 1))  # 16 MB at once; any chunks: one stream
    for start in range(0, GUMBEL_DRAWS, chunk):
        x = -np.log(-np.log(rng.random((min(chunk, GUMBEL_DRAWS - start), n + 1))))
        ratios.append((x[:, n] - x[:, :n].mean(axis=1)) / x[:, :n].std(axis=1, ddof=1))
    return round(float(np.quantile(np.concatenate(ratios), 1 - a)), 2)


def conformal_rank(n, a):
    """k = ceil((n + 1)(1 - a)): with n judges, the flag above the k-th lowest holds a
    false-alarm rate of a (k > n: no rank does)."""
    return int(np.ceil(np.round((n + 1) * (1 - a), 9)))  # ceil at the data's resolution


def calibrate(raw, reference_raw, false_alarm):
    """(score, flag line on the raw scale, warning) from the reference judges'
    out-of-sample raw scores r_(1) <= ... <= r_(n); raw scores live in [0, 1].

    `score` is one strictly increasing map of raw onto [0, 1], linear between knots:
    (0, 0); at each reference level v, (b + g / 2) / (n + 1) with b the reference
    scores strictly below v and g = (n + 1)(1 - a) - (k - 1) in (0, 1], k =
    ceil((n + 1)(1 - a)); (r_(k) + one step of raw's resolution, 1 - a); (1, 1). So a
    normal item scores near the share of the judges it exceeds, none scores 0, and the
    flag, `score >= 1 - a`, is raised exactly for raw > r_(k), which for an item
    exchangeable with the judges happens with probability <= (n + 1 - k) / (n + 1) <= a
    (conformal). With fewer judges than that needs (k > n) no rank holds the rate: a
    knot (limit, 1 - a) is put above all of them and above the (1 - a) prediction bound
    of a Gumbel fitted to their logits (gumbel_factor), and a warning says what the
    flag can promise."""
    reference_raw = np.sort(np.asarray(reference_raw, dtype=np.float64))
    n = len(reference_raw)
    a = float(false_alarm)
    k = conformal_rank(n, a)
    g = (n + 1) * (1 - a) - (k - 1)
    levels, counts = np.unique(reference_raw, return_counts=True)
    xp = list(levels)
    fp = list(((np.cumsum(counts) - counts) + g / 2) / (n + 1))
    warning = ""
    if k <= n:
        # the flag from one step of raw's resolution above r_(k) on, not later
        step = float(reference_raw[k - 1]) + RAW_STEP
        at = int(np.searchsorted(levels, step))
        if at == len(levels) or levels[at] > step:
            xp.insert(at, step)
            fp.insert(at, 1 - a)
    else:
        logits = np.log(np.clip(reference_raw, 1e-6, 1 - 1e-6)
                        / (1 - np.clip(reference_raw, 1e-6, 1 - 1e-6)))
        # the one-sided (1 - a) prediction bound of a new draw from that Gumbel
        tail = (logits.mean() + gumbel_factor(n, a) * logits.std(ddof=1)
                if n > 1 else np.inf)
        limit = max(float(reference_raw[-1]), float(1 / (1 + np.exp(-tail))))
        # strictly between the last judge and 1, so the map stays strictly increasing
        limit = min(max(limit, float(levels[-1]) + RAW_STEP), 1 - RAW_STEP)
        if limit > levels[-1]:
            xp, fp = xp + [limit], fp + [1 - a]
        warning = (f"{n} reference judges: holding a false-alarm rate of {a:g} needs "
                   f"{int(np.ceil(1 / a)) - 1} or more; the flag can promise no rate, and "
                   f"flags items above all of them and above the {1 - a:g} prediction "
                   f"bound of a Gumbel fitted to their logit scores (raw {limit:.6g})")
    if xp[0] > 0:
        xp, fp = [0.0] + xp, [0.0] + fp
    if xp[-1] < 1:
        xp, fp = xp + [1.0], fp + [1.0]
    score = np.interp(np.asarray(raw, dtype=np.float64), xp, fp)
    line = float(np.interp(1 - a, fp, xp))  # the raw score where the flag starts
    return score, line, warning


def judge_groups_of(weights, judge_groups, order):
    """{group: total weight a row gives that group's judges} in `order` (present only)."""
    judge_groups = np.asarray(judge_groups, dtype=object)
    present = present_groups(judge_groups, order)
    member = membership(judge_groups, present)
    return present, np.asarray(weights) @ member.astype(np.float64)


def judge_verdicts(valid, learn, judge_groups, *, order, reference, false_alarm,
                   scale="judges"):
    """The verdict of every item from its attention over the judges.

    `valid` (items) and `learn` (judges): lists of tables (one per metric, same
    features), put side by side after each feature is scaled by the judges
    (stages.scale_features). A = softmax_j(-|x_i - l_j|^2 / tau), tau the judges' median
    squared distance; raw = 1 - the weight on the reference judges (an item's averaged
    over leaving out each reference judge: left_out_raw); the reference judges' own
    raw scores, each from its attention over the other judges (leave-one-out),
    calibrate `score` and the flag (`calibrate`). Nothing depends on
    the other items: an item's verdict is the same in any batch.
    `predicted`: the reference group where not flagged, else the error group whose
    judges get the most weight.
    Returns (columns, details) dicts."""
    x = np.hstack([np.asarray(v, dtype=np.float64) for v in valid])
    ll = np.hstack([np.asarray(t, dtype=np.float64) for t in learn])
    if scale == "judges":
        ll, x = stages.scale_features(ll, x)
    judge_groups = np.asarray(judge_groups, dtype=object)
    in_reference = judge_groups == reference
    if not in_reference.any():
        raise TooFewLabeled(f"no judges of the reference group {reference}: the score is "
                            f"the weight on them")
    if (~in_reference).sum() < 1:
        raise TooFewLabeled(f"no judges outside the reference group {reference}: the "
                            f"score is the weight on the other groups' judges")
    tau = stages.judge_temperature(ll)
    own = stages.judge_attention(ll, ll, tau, leave_out_self=True)
    raw, weights = left_out_raw(x, ll, tau, in_reference)
    reference_raw = reference_weight_score(own[in_reference], judge_groups, reference)
    if not np.isfinite(raw).all():
        raise Unscorable(f"item row {int(np.flatnonzero(~np.isfinite(raw))[0])} cannot be "
                         f"scored: its attention over the judges is not a number")
    score, limit, warning = calibrate(raw, reference_raw, false_alarm)
    flagged = score >= 1 - false_alarm  # one scale: the flag is a score
    present, by_group = judge_groups_of(weights, judge_groups, order)
    errors = [i for i, g in enumerate(present) if g != reference]
    best_error = np.array(present, dtype=object)[errors][by_group[:, errors].argmax(axis=1)]
    predicted = np.where(flagged, best_error, reference)
    columns = {"predicted": predicted, "score": score, "raw": raw,
               "flag": np.where(flagged, "abnormal", "normal"),
               **{f"weight_{g}": by_group[:, i] for i, g in enumerate(present)},
               "judges_attended": stages.effective_number(weights)}
    details = {"raw_line": limit, "temperature": tau,
               "reference_judges": int(in_reference.sum()), "warning": warning}
    return columns, details
