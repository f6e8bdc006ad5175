"""Does it discriminate? Leave-one-out classification of the items and block contrast.

Nearest centroid is computed in closed form for all items at once (leaving item i out
moves only its own group's centroid), so it scales to large N; linear discriminant
analysis comes from scikit-learn, leave-one-out up to `max_loo_items` items and
stratified k-fold above that.

Degenerate input (a single item, a single group, a group without items, features that
are the same for every item) never raises: a figure that cannot be computed is NaN (an
empty cell in the tables for people) and a warning says why, in the log and in the
`warnings` column of every summary row. Beside each accuracy stands its chance level.
"""

import logging
import warnings as py_warnings
from dataclasses import replace

import numpy as np

from .groups import loo_nearest_centroid, membership, relative_round
from .layout import DETECTORS
from .stages import distinct_rows
from .verdicts import flags, labeled_mask, mt_distances, threshold_of

LOG = logging.getLogger("soart")
SEP = "; "  # between the warnings of one summary row


def constant_features(features, resolution=1e-9):
    """Is every feature the same for all (2 or more) items, to `resolution` of the
    table's scale? Then nothing tells the items apart: LDA cannot fit, nearest centroid
    sends every item to the first group."""
    x = np.asarray(features, dtype=np.float64)
    if len(x) < 2:
        return False
    scale = float(np.abs(x).max(initial=0.0))
    return bool((np.abs(x - x[:1]) <= resolution * scale).all())


def cross_validated_lda(features, groups, max_loo_items=2000, folds=10, seed=0):
    """Linear discriminant analysis (scikit-learn), leave-one-out or stratified k-fold:
    (predictions, warning), predictions None (and the warning why) where LDA cannot run."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import LeaveOneOut, StratifiedKFold, cross_val_predict

    x = np.asarray(features, dtype=np.float64)
    groups = np.asarray(groups, dtype=object)
    if len(x) < 2:
        return None, "leave-one-out needs 2 items"
    if constant_features(x):
        return None, "every feature is constant"
    names, counts = np.unique(groups.astype(str), return_counts=True)
    warning = ""
    if len(x) <= max_loo_items:
        split = LeaveOneOut()
    else:
        # at least 2 folds, so a group of 1 is missing from one training fold: our
        # warning says so, in place of scikit-learn's
        smallest = int(counts.min())
        splits = max(2, min(folds, smallest))
        if smallest < folds:
            warning = (f"{splits}-fold, not {folds}: group {names[counts.argmin()]} has "
                       f"{smallest} item{'' if smallest == 1 else 's'}")
        split = StratifiedKFold(n_splits=splits, shuffle=True, random_state=seed)
    try:
        with py_warnings.catch_warnings():
            py_warnings.filterwarnings("ignore", message="The least populated class")
            predicted = cross_val_predict(LinearDiscriminantAnalysis(), x, groups, cv=split)
    except IndexError:  # scikit-learn's SVD solver finds a rank of 0
        return None, "no within-group variance left in some training fold"
    except (ValueError, np.linalg.LinAlgError) as err:
        return None, f"scikit-learn failed: {err}"
    return predicted, warning


def confusion(true, predicted, order):
    """Counts: rows the true group, columns the predicted group, both in `order`."""
    return (membership(true, order).T.astype(np.int64)
            @ membership(predicted, order).astype(np.int64))


def group_counts(groups, order):
    return membership(groups, order).sum(axis=0)


def scores(true, predicted, order):
    """accuracy, balanced accuracy (mean recall over present groups) and recall per group.

    `predicted` None (the method could not run): every figure NaN and no counts. A group
    without items has recall NaN, never 0.
    """
    support = group_counts(true, order)
    ran = predicted is not None and support.sum() > 0
    counts = (confusion(true, predicted, order) if ran
              else np.zeros((len(order), len(order)), dtype=np.int64))
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where((support > 0) & ran, np.diag(counts) / support, np.nan)
    result = {"n": int(support.sum()),
              "accuracy": float(np.trace(counts) / support.sum()) if ran else np.nan,
              "balanced_accuracy": float(recall[support > 0].mean()) if ran else np.nan}
    result.update({f"recall_{g}": float(r) for g, r in zip(order, recall)})
    return result, counts


def chance(groups, order):
    """The figures of a guess that ignores the features: always the most frequent group
    (accuracy: the no-information rate) and any fixed group (balanced accuracy)."""
    counts = group_counts(groups, order)
    n, present = counts.sum(), (counts > 0).sum()
    return {"chance_accuracy": float(counts.max() / n) if n else np.nan,
            "chance_balanced_accuracy": float(1 / present) if present else np.nan,
            # a distance that knows nothing ranks error items above normal ones by chance
            "chance_roc_auc": 0.5 if present > 1 else np.nan}


def group_warnings(groups, order):
    """Why leave-one-out can tell little or nothing about these items' groups."""
    counts = group_counts(groups, order)
    n, present = int(counts.sum()), [g for g, c in zip(order, counts) if c]
    found = [f"no items of group {g}" for g, c in zip(order, counts) if c == 0]
    if n < 2:
        return [f"{n} item{'' if n == 1 else 's'}: leave-one-out needs 2 per group"] + found
    if len(present) == 1:
        found.append(f"only group {present[0]} has items: nothing to discriminate")
    return found + [f"group {g} has 1 item: leave-one-out needs 2 per group, so it is "
                    f"never predicted for it" for g, c in zip(order, counts) if c == 1]


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
# the verdicts' MT distance and flag as a detector of the error groups, on the
# difference rows (soart_core.verdicts) and, as the classic baseline, on the metrics
MT_DETECTORS = ("difference_mt", "metrics_mt")
# rows with a detection figure but no accuracy: the MT detectors, and the registry's
# detectors on every metric side by side (metric `all`)
DETECTION_ONLY = MT_DETECTORS + DETECTORS
# the attention detector on one metric alone (summary.csv's {metric}_ columns), with
# the accuracies of its `predicted`
ATTENTION_ALONE = "attention_alone"
# what evaluate.rank_method may name (the schema's enum; tests/test_config.py checks):
# the answer (summary.csv), each detector, then the seed's and the classic methods
RANKED_METHODS = (("answer",) + DETECTORS + (ATTENTION_ALONE,) + ATTENTION_METHODS
                  + CLASSIC_METHODS + MT_DETECTORS)
DETECTION = ("detection_rate", "false_alarm_rate", "roc_auc")
# the likely cause of features that are the same for every item, by the table read
CONSTANT_HINTS = {"metrics": " (all cells thresholded to 0?)",
                  "attention": " (uniform attention?)",
                  "difference": " (attention equal to its baseline?)"}


def _method(metric, method, groups, features, predicted, reason="", *, order):
    """One method's summary row (a dict; `warnings` its own) and confusion rows (a list
    of dicts). `reason`: why `predicted` is None or less than it should be."""
    figures, counts = scores(groups, predicted, order)
    own = ""
    if len(groups) > 1:  # below that, the metric's warning says it all
        own = (f"every feature is constant{CONSTANT_HINTS[method.split('_')[0]]}"
               if constant_features(features) else reason)
    confusion = [{"method": method, "true_group": g,
                  **{f"predicted_{p}": int(c) for p, c in zip(order, row)}}
                 for g, row in zip(order, counts)]
    return ({"metric": metric, "method": method, **figures,
             **dict.fromkeys(DETECTION, np.nan),
             "warnings": f"{method}: {own}" if own else ""}, confusion)


def detector(metric, method, groups, distance, flag, *, order, reference, reason=""):
    """A detector's summary row (a dict) on the labeled items: the detection rate (the
    error groups' items flagged), the false-alarm rate (the reference items flagged)
    and the ROC AUC of the distance, reference against error items. `distance` None:
    it could not run (`reason` says why)."""
    from sklearn.metrics import roc_auc_score

    groups = np.asarray(groups, dtype=object)
    normal, error = groups == reference, (groups != reference) & labeled_mask(groups)
    figures = dict.fromkeys(DETECTION, np.nan)
    if distance is not None:
        distance = relative_round(distance)
    if distance is not None and len(distance) > 1 and np.ptp(distance) == 0:
        reason = reason or "every distance is the same (uniform attention?)"
    if distance is not None:
        flagged = np.asarray(flag) == "abnormal"
        if error.any():
            figures["detection_rate"] = float(flagged[error].mean())
        if normal.any():
            figures["false_alarm_rate"] = float(flagged[normal].mean())
        if error.any() and normal.any():
            both = normal | error
            figures["roc_auc"] = float(roc_auc_score(error[both], distance[both]))
    return {"metric": metric, "method": method, "n": int(labeled_mask(groups).sum()),
            "accuracy": np.nan, "balanced_accuracy": np.nan,
            **{f"recall_{g}": np.nan for g in order}, **figures,
            "warnings": f"{method}: {reason}" if reason else ""}


def mt_detector(metric, method, table, *, order, reference, verdicts):
    """The MT distance of `table`'s labeled rows from its reference rows' unit space,
    flagged by the `verdicts` settings' auto threshold rule, as a detector row."""
    table = labeled(table)
    groups = np.asarray(table.groups, dtype=object)
    normal = groups == reference
    if normal.sum() < 2:
        return detector(metric, method, groups, None, None, order=order,
                        reference=reference, reason=f"{int(normal.sum())} {reference} "
                                                    f"item(s): a unit space needs 2")
    distance, _, flat = mt_distances(table.values, normal, verdicts["mt_max_loo_items"])
    distance = relative_round(distance)  # ranks and flags at the data's resolution
    limit = threshold_of(distance[normal], "auto", verdicts["mt_quantile"])
    return detector(metric, method, groups, distance, flags(distance, limit), order=order,
                    reference=reference,
                    reason="the reference items do not vary" if flat else "")


def labeled(table):
    """The Table's labeled rows (an unlabeled item, group "", has no answer to score)."""
    keep = labeled_mask(table.groups)
    if keep.all():
        return table
    return replace(table, names=[n for n, k in zip(table.names, keep) if k],
                   groups=[g for g, k in zip(table.groups, keep) if k],
                   values=table.values[keep])


def classic(metric, words, *, order, reference, verdicts, max_loo_items=2000):
    """The classic baselines on one metric's thresholded validation table (a Table):
    nearest centroid, LDA and the MT distance of the metrics themselves, on the
    labeled items. (summary rows, confusion rows), lists of dicts."""
    words = labeled(words)
    groups = np.asarray(words.groups, dtype=object)
    lda, reason = cross_validated_lda(words.values, groups, max_loo_items)
    predictions = {"metrics_nearest_centroid": (loo_nearest_centroid(words.values, groups,
                                                                     order), ""),
                   "metrics_lda": (lda, reason)}
    done = [_method(metric, m, groups, words.values, *predictions[m], order=order)
            for m in CLASSIC_METHODS]
    mt = mt_detector(metric, "metrics_mt", words, order=order, reference=reference,
                     verdicts=verdicts)
    return [row for row, _ in done] + [mt], [r for _, rows in done for r in rows]


def intervals(row, support, reference):
    """95 % intervals of a summary row's figures, from the figures and the labeled
    items' group sizes `support` ({group: n}): Wilson for the rates (detection over the
    error items, false alarm over the reference items), Hanley-McNeil for the ROC AUC,
    a normal interval for the balanced accuracy (`balanced_accuracy_interval`)."""
    n_normal = int(support.get(reference, 0))
    n_error = int(sum(n for g, n in support.items() if g != reference))
    out = {}
    for figure, n in (("detection_rate", n_error), ("false_alarm_rate", n_normal)):
        rate = row.get(figure, np.nan)
        low, high = (np.nan, np.nan) if np.isnan(rate) else wilson(round(rate * n), n)
        out.update({f"{figure}_low": low, f"{figure}_high": high})
    low, high = hanley_mcneil(row.get("roc_auc", np.nan), n_error, n_normal)
    out.update({"roc_auc_low": low, "roc_auc_high": high})
    recalls = [row.get(f"recall_{g}", np.nan) for g in support]
    if np.isnan(row.get("balanced_accuracy", np.nan)):
        low, high = np.nan, np.nan
    else:
        low, high = balanced_accuracy_interval(np.nan_to_num(recalls), list(support.values()))
    out.update({"balanced_accuracy_low": low, "balanced_accuracy_high": high})
    return out


def _arrange(row, common, chance_levels, contrast, support=None, reference=None):
    """A summary row in its columns' order: each accuracy beside its chance level and
    its 95 % interval (`intervals`), the block contrast, then the metric's warnings
    (`common`) and the method's own."""
    own = str(row.get("warnings") or "")  # a classic table from before has none
    ci = intervals(row, support or {}, reference)
    return {"metric": row["metric"], "method": row["method"], "n": row["n"],
            "accuracy": row["accuracy"],
            "chance_accuracy": chance_levels["chance_accuracy"],
            "balanced_accuracy": row["balanced_accuracy"],
            "balanced_accuracy_low": ci["balanced_accuracy_low"],
            "balanced_accuracy_high": ci["balanced_accuracy_high"],
            "chance_balanced_accuracy": chance_levels["chance_balanced_accuracy"],
            **{k: v for k, v in row.items() if k.startswith("recall_")},
            **{k2: v2 for k in DETECTION for k2, v2 in
               ((k, row.get(k, np.nan)), (f"{k}_low", ci[f"{k}_low"]),
                (f"{k}_high", ci[f"{k}_high"]))},
            "chance_roc_auc": chance_levels["chance_roc_auc"], **contrast,
            "warnings": SEP.join(common + ([own] if own else []))}


def evaluate_metric(metric, attention, difference, blocks, classic_rows, classic_confusion,
                    *, order, baseline, verdict=None, reference=None, summary=None,
                    words=None, health=None, logged=None):
    """Every method's figures for one words metric: (summary rows, confusion rows).

    Nearest centroid on the difference and the attention rows (Tables with the same
    items), then the classic baselines' rows as `classic` made them; the chance levels,
    the block contrast of `blocks` (the block table's columns) and the warnings about
    the items' groups go on every row. Each distinct warning is logged once. Only the
    labeled items are scored. `baseline`: the baseline group (block contrast);
    `reference`: the reference group (the unit space of the detectors; default the
    baseline group). `verdict` (the verdict table's columns) adds the
    `difference_mt` detector; `summary` (the verdict
    summary's columns) the `attention_alone` row, the attention on this metric alone. `words` (the
    validation Table) and `health` (attention_health's dict) add their warnings: rows
    that are all the same (then the only warning: the methods' own would guess at
    causes), a collapsed attention. `logged`: a set of warnings said already in this
    run (the rows-all-the-same one is said once, not per metric).
    """
    attention, difference = labeled(attention), labeled(difference)
    groups = np.asarray(attention.groups, dtype=object)
    done = [_method(metric, method, groups, table.values,
                    loo_nearest_centroid(table.values, groups, order), order=order)
            for method, table in zip(ATTENTION_METHODS, (difference, attention))]
    contrast = block_contrast(blocks["item_group"], blocks["judge_group"],
                              blocks["sign_score"], baseline)
    common = group_warnings(groups, order)
    if np.isnan(contrast["block_contrast"]):
        common.append(f"block contrast needs {baseline} items and error items with "
                      f"judges of their own group")
    if words is not None and constant_features(labeled(words).values):
        common.append(collapsed(words.values))
    elif health and health.get("warning"):
        common.append(health["warning"])
    levels = chance(groups, order)
    support = dict(zip(order, group_counts(groups, order)))
    detectors = []
    if summary is not None:  # the attention detector on this metric alone
        detectors.append(verdict_row(metric, ATTENTION_ALONE, summary, order=order,
                                     reference=reference or baseline,
                                     prefix=f"{metric}_")[0])
    if verdict is not None:
        keep = labeled_mask(verdict["group"])
        distance = np.asarray(verdict["mt_distance"], dtype=np.float64)[keep]
        unscored = np.isnan(distance).all()  # no unit space: verdicts.unscored_mt
        detectors.append(detector(metric, "difference_mt",
                                  np.asarray(verdict["group"], dtype=object)[keep],
                                  None if unscored else distance,
                                  None if unscored else np.asarray(verdict["mt_flag"])[keep],
                                  order=order, reference=reference,
                                  reason="no MT verdicts: too few labeled reference items"
                                  if unscored else ""))
    rows = [_arrange(row, common, levels, contrast, support, reference or baseline)
            for row in [r for r, _ in done] + detectors + list(classic_rows)]
    logged = set() if logged is None else logged
    same = any(COLLAPSED in w for w in common)
    for text in dict.fromkeys(w for row in rows for w in row["warnings"].split(SEP) if w):
        if COLLAPSED in text:  # the same for every metric: said once per run
            if COLLAPSED not in logged:
                LOG.warning(f"evaluation: {text}")
            logged.add(COLLAPSED)
        elif not same:  # rows all the same: the methods' own warnings follow from it
            LOG.warning(f"evaluation of {metric}: {text}")
    return rows, [r for _, rows_ in done for r in rows_] + list(classic_confusion)


def rows_to_columns(rows):
    """A list of dicts (same keys) as {key: list}, for `tables.write_columns`."""
    return {key: [row[key] for row in rows] for key in rows[0]} if rows else {}


def columns_to_rows(columns):
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*(columns[n] for n in names))]


# ---- confidence intervals (95 %), closed form so that they are exact and deterministic -----
Z95 = 1.959963984540054


def wilson(successes, n, z=Z95):
    """Wilson score interval of a rate successes / n: (low, high); NaN for n = 0."""
    if n == 0:
        return np.nan, np.nan
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def hanley_mcneil(auc, n_pos, n_neg, z=Z95):
    """Hanley & McNeil (1982) standard error of a ROC AUC, as a normal interval clipped
    to [0, 1]: (low, high)."""
    if not (n_pos and n_neg) or np.isnan(auc):
        return np.nan, np.nan
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc)
           + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    half = z * np.sqrt(max(var, 0.0))
    return float(max(auc - half, 0.0)), float(min(auc + half, 1.0))


def balanced_accuracy_interval(recalls, supports, z=Z95):
    """Normal interval of a balanced accuracy (the mean of G recalls, each binomial on
    its group's n_g items): variance sum r_g (1 - r_g) / n_g / G^2, with each recall
    moved half an item from 0 and 1 (so that a perfect score has an interval)."""
    r, n = np.asarray(recalls, dtype=float), np.asarray(supports, dtype=float)
    keep = n > 0
    if not keep.any():
        return np.nan, np.nan
    r, n = r[keep], n[keep]
    shrunk = np.clip(r, 0.5 / n, 1 - 0.5 / n)
    half = z * np.sqrt((shrunk * (1 - shrunk) / n).sum()) / len(r)
    centre = r.mean()
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def tied_auc(is_error, score, decimals=None):
    """ROC AUC of `score` (higher = more abnormal), error items against reference ones,
    ties counting half; `decimals`: the score rounded first, so that differences below
    its resolution are ties, not ranks."""
    from sklearn.metrics import roc_auc_score

    score = np.asarray(score, dtype=np.float64)
    if decimals is not None:
        score = np.round(score, decimals)
    is_error = np.asarray(is_error, dtype=bool)
    if is_error.all() or not is_error.any():
        return np.nan
    return float(roc_auc_score(is_error, score))


def detector_figures(groups, score, flag, predicted, *, order, reference, decimals=None):
    """A method's figures with 95 % intervals on labeled items: ROC AUC of `score`
    (Hanley-McNeil), detection and false-alarm rates of `flag` (Wilson), balanced
    accuracy of `predicted` (normal approximation); None inputs give NaN."""
    groups = np.asarray(groups, dtype=object)
    keep = labeled_mask(groups)
    groups = groups[keep]
    normal, error = groups == reference, groups != reference
    out = {}
    auc = np.nan
    if score is not None:
        auc = tied_auc(error, np.asarray(score)[keep], decimals)
    out["roc_auc"] = auc
    out["roc_auc_ci"] = hanley_mcneil(auc, int(error.sum()), int(normal.sum()))
    for name, mask in (("detection_rate", error), ("false_alarm_rate", normal)):
        if flag is None or not mask.any():
            out[name], out[name + "_ci"] = np.nan, (np.nan, np.nan)
            continue
        hits = int((np.asarray(flag)[keep][mask] == "abnormal").sum())
        out[name] = hits / int(mask.sum())
        out[name + "_ci"] = wilson(hits, int(mask.sum()))
    if predicted is None:
        out["balanced_accuracy"], out["balanced_accuracy_ci"] = np.nan, (np.nan, np.nan)
    else:
        figures, _ = scores(groups, np.asarray(predicted, dtype=object)[keep], order)
        support = group_counts(groups, order)
        recalls = [figures[f"recall_{g}"] for g in order]
        out["balanced_accuracy"] = figures["balanced_accuracy"]
        out["balanced_accuracy_ci"] = balanced_accuracy_interval(
            np.nan_to_num(recalls), support)
    return out


# ---- the summary's verdicts and the attention's health ----------------------------------
COLLAPSED = (": every validation item's row is the same (to 1e-9 of the table's scale), "
             "so nothing tells the items apart: every figure is at chance or empty, every "
             "flag the same")


def collapsed(values):
    """The one warning for validation rows that are all the same (`values` of them)."""
    zero = not np.any(np.asarray(values))
    return "every feature is constant" + (
        CONSTANT_HINTS["metrics"] if zero else "") + COLLAPSED


def verdict_row(metric, method, summary, *, order, reference, prefix="", accuracies=True):
    """A summary row (a dict) for the verdicts of results/verdicts/summary.csv: the ROC
    AUC of the raw score (the calibrated score ranks alike), detection and false alarm
    of the flag, and (`accuracies`) those of `predicted`, with its confusion rows
    (a list of dicts). `prefix`: "Y1_" for a metric's own columns, "regions_" for a
    detector's (its `_score`, which ranks as its raw score, and `_flag`). Every
    verdict is out of sample: it is calibrated on the judges, and no item takes part
    in another's."""
    groups = np.asarray(summary["group"], dtype=object)
    keep = labeled_mask(groups)
    raw_name = f"{prefix}raw_score" if f"{prefix}raw_score" in summary else f"{prefix}score"
    raw = np.asarray(summary[raw_name], dtype=np.float64)[keep]
    flag = np.asarray(summary[f"{prefix}flag"], dtype=object)[keep]
    row = detector(metric, method, groups[keep], raw, flag, order=order, reference=reference)
    confusion = []
    if accuracies:
        predicted = np.asarray(summary[f"{prefix}predicted"], dtype=object)[keep]
        figures, counts = scores(groups[keep], predicted, order)
        row.update({k: v for k, v in figures.items() if k != "n"})
        confusion = [{"method": method, "true_group": g,
                      **{f"predicted_{p}": int(c) for p, c in zip(order, counts_row)}}
                     for g, counts_row in zip(order, counts)]
    return row, confusion


def with_nested(row, selection):
    """The answer's summary row with the nested figures of verdicts/selection.csv where
    auto chose its detector on these labeled items (the chosen detector's own figures
    on them would be optimistic): detection, false alarm and ROC AUC with their
    intervals, and a note in its warnings."""
    chosen = np.flatnonzero(np.asarray(selection["chosen"]) == "true")
    if not chosen.size or np.isnan(selection["nested_detection_rate"][chosen[0]]):
        return row
    i = int(chosen[0])
    done = dict(row)
    for figure, name in (("detection_rate", "detection"), ("false_alarm_rate", "false_alarm"),
                         ("roc_auc", "roc_auc")):
        done[figure] = float(selection[f"nested_{figure}"][i])
        done[f"{figure}_low"] = float(selection[f"nested_{name}_low"][i])
        done[f"{figure}_high"] = float(selection[f"nested_{name}_high"][i])
    note = (f"answer: detection, false alarm and ROC AUC are nested cross-validation "
            f"figures of choosing the detector on these items ({selection['detector'][i]} "
            f"chosen)")
    done["warnings"] = SEP.join(w for w in (row["warnings"], note) if w)
    return done


def attention_health(metric, values, attended, over):
    """The attention's health for one words metric (a dict): its distinct rows (at
    1e-9 of its scale), and how many judges (over judges) or items (over items, the
    seed's form) a row attends to in effect, exp(entropy) of its softmax weights (mean,
    min, max, and of how many); a warning where it collapsed, saturated or went flat."""
    n_rows, n_cols = np.asarray(values).shape
    attended = np.asarray(attended, dtype=np.float64)
    of = n_cols if over == "judges" else n_rows
    distinct = distinct_rows(values)
    warning = ""
    if n_rows > 1 and distinct == 1:
        warning = "the attention collapsed: every item's row is the same"
    elif attended.size and attended.mean() < 1.5 and of > 2:
        warning = f"the softmax saturates: a row attends to about one of the {over}"
    elif attended.size and attended.mean() > 0.95 * of and of > 2:
        warning = f"the softmax is flat: a row attends to almost all the {over} alike"
    return {"metric": metric, "attention_over": over, "items": n_rows,
            "distinct_rows": distinct, "attended_mean": float(attended.mean())
            if attended.size else np.nan,
            "attended_min": float(attended.min()) if attended.size else np.nan,
            "attended_max": float(attended.max()) if attended.size else np.nan,
            "attended_of": of, "warning": warning}


def summary_rows(metric, rows, groups, *, order, reference, common=()):
    """Rows (verdict_row or detector dicts) arranged as every summary row, with their
    chance levels and intervals; no block contrast."""
    groups = np.asarray(groups, dtype=object)
    groups = groups[labeled_mask(groups)]
    support = dict(zip(order, group_counts(groups, order)))
    contrast = dict.fromkeys(("block_error_own", "block_normal", "block_contrast"), np.nan)
    return [_arrange(row, list(common) + group_warnings(groups, order), chance(groups, order),
                     contrast, support, reference) for row in rows]
