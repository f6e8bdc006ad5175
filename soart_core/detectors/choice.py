"""Which detector answers, and which defect group: each chosen on the labeled items,
with its honest (nested) figure."""

import numpy as np

from .. import stages
from ..evaluation import hanley_mcneil, tied_auc, wilson
from ..groups import relative_round, squared_scale
from ..verdicts import SCORE_DECIMALS
from ._common import side_by_side

DEFAULT = "attention"  # without labeled defects to choose by (docs/results.md)


def nearest_reference(items, judges, in_reference):
    """Each item's most similar reference judge (its row among the judges): the nearest
    in the judge-scaled features of every metric side by side (ties below the
    judges' resolution: the first)."""
    ll, x = stages.scale_features(side_by_side(judges), side_by_side(items))
    rows = np.flatnonzero(in_reference)
    return rows[_nearest(x, ll[rows], ll)]


def _nearest(x, targets, judges):
    """Each row of `x`'s nearest row of `targets`, squared distances compared on a grid
    of 1e-9 of the judges' own scale (never the batch's): a tie is a tie, to the first."""
    return relative_round(stages.squared_distances(x, targets),
                          scale=squared_scale(judges)).argmin(axis=1)


def _pick(results, is_error, is_reference, rows):
    """The detector whose flag best tells the labeled items `rows` apart: the most
    defective items flagged less the reference items flagged, as shares (Youden's J;
    each holds its false-alarm rate on new items by calibration, but with few judges a
    flag may promise none), ties by ROC AUC at the scores' resolution, then registry
    order; with every detector's figures."""
    best, best_key, figures = None, None, {}
    error, normal = rows[is_error[rows]], rows[is_reference[rows]]
    for name, result in results.items():
        detected = int(result["flag"][error].sum())
        alarms = int(result["flag"][normal].sum())
        auc = tied_auc(is_error[rows], result["score"][rows], decimals=SCORE_DECIMALS)
        figures[name] = {"detected": detected, "false_alarms": alarms, "roc_auc": auc}
        # integer counts over common denominators: compared exactly, ties are ties
        key = (detected * len(normal) - alarms * len(error),
               -1.0 if np.isnan(auc) else round(auc, SCORE_DECIMALS))
        if best_key is None or key > best_key:
            best, best_key = name, key
    return best, figures


def choose(results, groups, reference, folds=5, seed=0):
    """(chosen detector, why in words, {detector: its figures on the labeled items},
    the nested figures) from the labeled items' `groups` (unlabeled: "").

    The pick (_pick): the detector whose flag best tells the labeled defective items
    from the labeled reference ones. Its honest figure is nested: the labeled items in
    `folds` stratified folds, each fold's items flagged by the detector picked on the
    other folds; detection, false alarm (Wilson 95 % intervals) and ROC AUC
    (Hanley-McNeil) of those out-of-fold verdicts. Without 2 labeled defective and 2
    labeled reference items, DEFAULT, and the figures are NaN."""
    from sklearn.model_selection import StratifiedKFold

    groups = np.asarray(groups, dtype=object)
    labeled = np.flatnonzero(groups != "")
    is_error = (groups != reference) & (groups != "")
    is_reference = groups == reference
    n_error, n_normal = int(is_error.sum()), int(is_reference.sum())
    nested = dict.fromkeys(NESTED, np.nan)
    if n_error < 2 or n_normal < 2 or not results:
        fallback = DEFAULT if DEFAULT in results else next(iter(results), DEFAULT)
        return (fallback, f"the default: {n_error} labeled defective and {n_normal} "
                          f"labeled {reference} item(s), 2 of each are needed to choose",
                {}, nested)
    chosen, figures = _pick(results, is_error, is_reference, labeled)
    k = min(folds, n_error, n_normal)
    flag = np.zeros(len(groups), bool)
    score = np.zeros(len(groups))
    picks = []
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for train, test in splitter.split(labeled, is_error[labeled]):
        picked, _ = _pick(results, is_error, is_reference, labeled[train])
        picks.append(picked)
        flag[labeled[test]] = results[picked]["flag"][labeled[test]]
        score[labeled[test]] = results[picked]["score"][labeled[test]]
    detected, alarms = int(flag[is_error].sum()), int(flag[is_reference].sum())
    both = is_error | is_reference
    auc = tied_auc(is_error[both], score[both], decimals=SCORE_DECIMALS)
    nested.update(zip(NESTED, (detected / n_error, *wilson(detected, n_error),
                               alarms / n_normal, *wilson(alarms, n_normal),
                               auc, *hanley_mcneil(auc, n_error, n_normal))))
    mine = figures[chosen]
    why = (f"its flag tells the labeled items apart best ({mine['detected']} of {n_error} "
           f"defective, {mine['false_alarms']} of {n_normal} {reference} flagged); picked "
           f"the same way inside {k}-fold cross-validation (folds picked "
           f"{', '.join(sorted(set(picks)))}) it detects {nested['detection_rate']:.2f} "
           f"[{nested['detection_low']:.2f}, {nested['detection_high']:.2f}] at a "
           f"false-alarm rate of {nested['false_alarm_rate']:.2f} "
           f"[{nested['false_alarm_low']:.2f}, {nested['false_alarm_high']:.2f}]")
    return chosen, why, figures, nested


# the nested figures of the pick-then-predict procedure, with their 95 % intervals
NESTED = ("detection_rate", "detection_low", "detection_high", "false_alarm_rate",
          "false_alarm_low", "false_alarm_high", "roc_auc", "roc_auc_low", "roc_auc_high")


# ---- which defect group: `predicted` where the answer flags ------------------------------
# each fitted on the judges alone: the error group whose judges the item attends to most
# (the attention's weights), whose judges' centroid is nearest (features scaled by the
# judges), LDA on the error groups' judges (shrunk covariance), or whose judges' defects
# look most like the item's (soart_core.patches.defect_groups: the anomaly map's worst
# part, with the images)
PREDICTORS = ("attention", "centroid", "lda", "looks")


def defect_groups(items, judges, judge_groups, reference, attention_weights, looks=None):
    """{predictor: the error group each item is most like} (`attention_weights`:
    {group: each item's attention weight on that group's judges}; `looks`: the group
    whose judges' defects look most like each item's, None without images); a
    predictor the judges cannot fit (LDA: 2 error groups of 2 judges or more; looks:
    the images and judges of an error group) is left out."""
    groups = np.asarray(judge_groups, dtype=object)
    errors = [g for g in attention_weights if g != reference]
    # weights in [0, 1] compared at the raw scores' resolution: a tie is a tie
    done = {"attention": np.array(errors, dtype=object)[np.round(np.column_stack(
        [attention_weights[g] for g in errors]), SCORE_DECIMALS).argmax(axis=1)]}
    ll, x = stages.scale_features(side_by_side(judges), side_by_side(items))
    centroids = np.stack([ll[groups == g].mean(axis=0) for g in errors])
    done["centroid"] = np.array(errors, dtype=object)[_nearest(x, centroids, ll)]
    counts = [int((groups == g).sum()) for g in errors]
    if len(errors) > 1 and min(counts) >= 2:
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

        mine = np.isin(groups, errors)
        lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
        done["lda"] = np.asarray(lda.fit(ll[mine], groups[mine]).predict(x), dtype=object)
    if looks is not None:
        done["looks"] = np.asarray(looks, dtype=object)
    return done


def choose_predictor(predictions, groups, reference, folds=5, seed=0):
    """(chosen predictor, why, {predictor: labeled defective items it names right},
    nested {accuracy, accuracy_low, accuracy_high, n}) from the labeled defective
    items' `groups`: the predictor naming most of them right (ties: PREDICTORS order),
    its honest accuracy nested in `folds`-fold cross-validation over them. Without 2
    labeled defective items of 2 groups: attention."""
    from sklearn.model_selection import KFold

    groups = np.asarray(groups, dtype=object)
    defective = np.flatnonzero((groups != reference) & (groups != ""))
    right = {name: int((predictions[name][defective] == groups[defective]).sum())
             for name in PREDICTORS if name in predictions}
    nested = dict.fromkeys(("accuracy", "accuracy_low", "accuracy_high", "n"), np.nan)
    if len(defective) < 2 or len(set(groups[defective])) < 2:
        return ("attention", f"the default: {len(defective)} labeled defective item(s) of "
                             f"{len(set(groups[defective]))} group(s), 2 groups are needed "
                             f"to choose", right, nested)

    def pick(rows):
        return max(right, key=lambda n: (int((predictions[n][rows] == groups[rows]).sum()),
                                         -PREDICTORS.index(n)))

    chosen = pick(defective)
    correct = 0
    for train, test in KFold(n_splits=min(folds, len(defective)), shuffle=True,
                             random_state=seed).split(defective):
        picked = pick(defective[train])
        correct += int((predictions[picked][defective[test]] == groups[defective[test]]).sum())
    low, high = wilson(correct, len(defective))
    nested.update(accuracy=correct / len(defective), accuracy_low=low, accuracy_high=high,
                  n=len(defective))
    why = (f"it names most labeled defective items' group right ({right[chosen]} of "
           f"{len(defective)}); picked the same way in cross-validation it names "
           f"{nested['accuracy']:.2f} [{low:.2f}, {high:.2f}] right")
    return chosen, why, right, nested
