"""The detectors of the summary's verdict: one registry entry each.

A detector is fitted on the judges alone (the learning tables: judges x features per
metric, the features of a metric being its regions) and gives every item a raw score
in [0, 1], higher = more abnormal, from that item and the judges only, so that an
item's verdict is the same in any batch. It gives each reference judge a raw score
too, out of sample (the judge left out of what it is compared with), and
`verdicts.calibrate` turns both into one score and one flag at the promised
false-alarm rate. Every entry:

- `attention`: the items' attention over the judges, every metric's features side by
  side, each scaled by the judges (verdicts.judge_verdicts' arithmetic); raw = the
  weight on the other groups' judges.
- `regions`: each region of the image on its own. A region's r = the largest over the
  metrics of -log10 of the two-sided p-value of its value beside the same region of
  the reference judges (Student t predictive distribution from their mean and
  standard deviation; a judge's beside the other judges); the image's raw is its
  worst region's, mapped to [0, 1) as r / (1 + r). Sees a small local defect that one
  score over all regions drowns; says where (`region_raw`).
- `mt`: Taguchi's MT distance of the metrics side by side (D^2 = MD^2 / k, Ledoit-Wolf
  covariance) from the unit space of the reference judges (a judge's own from the
  others), mapped to [0, 1) as D^2 / (1 + D^2).
- `patches`: the image itself, patch by patch (soart_core.patches: each patch against
  the nearest of the reference judges' patches; a judge's against the other judges');
  raw = the anomaly map's maximum m, mapped to [0, 1) as m / (1 + m). Needs the images
  (`pixels`: a Pixels of the items and the reference judges); says where, to the pixel.

`needs`: what the entry needs of the judges, checked before it runs.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import stages
from .groups import relative_round, squared_scale
from .evaluation import hanley_mcneil, tied_auc, wilson
from .verdicts import (SCORE_DECIMALS, TooFewLabeled, Unscorable, calibrate, left_out_raw,
                       mt_distances, reference_weight_score)


@dataclass(frozen=True)
class Detector:
    name: str
    # (items, judges, in_reference, pixels) -> (raw of the items, raw of the reference
    # judges out of sample, {extra name: per-item array}); items and judges: lists of
    # tables, one per metric; pixels: a Pixels or None (tables without images)
    raw: Callable
    needs: str  # in words, for the error when the judges cannot fit it
    min_reference: int  # reference judges needed
    needs_other_groups: bool  # judges outside the reference group needed
    needs_pixels: bool = False  # the images themselves (images_dir)


@dataclass(frozen=True)
class Pixels:
    """What the pixel-level detector saw (soart_core.patches), in the rows of the
    items and of the reference judges: each one's map maximum (`item_raw`,
    `judge_raw`, the judges' out of sample), and the items' peak (row, col), the
    defect's pixel box (n x 4: top, left, height, width; image coordinates) and each
    region's map maximum (`item_regions`, n x regions, in the features' order)."""
    item_raw: np.ndarray
    judge_raw: np.ndarray
    peak_row: np.ndarray
    peak_col: np.ndarray
    box: np.ndarray
    item_regions: np.ndarray
    defect_group: np.ndarray | None = None  # patches.defect_groups' (None: no defect judges)


def _side_by_side(tables):
    return np.hstack([np.asarray(t, dtype=np.float64) for t in tables])


def attention_raw(items, judges, in_reference, pixels=None, *, feature_scale="judges",
                  temperature=1.0):
    """Its settings (config verdicts.detectors.attention, defaults in the schema):
    `feature_scale` judges (each feature z-scored by the judges) or none (the
    normalised values as they are); `temperature`: the softmax's tau in units of the
    judges' median squared distance (below 1 sharper, above 1 flatter)."""
    ll, x = _side_by_side(judges), _side_by_side(items)
    if feature_scale == "judges":
        ll, x = stages.scale_features(ll, x)
    tau = stages.judge_temperature(ll) * float(temperature)
    own = stages.judge_attention(ll, ll, tau, leave_out_self=True)
    groups = np.where(in_reference, "reference", "other")
    raw, weights = left_out_raw(x, ll, tau, in_reference)
    return raw, reference_weight_score(own[in_reference], groups, "reference"), {
        "weights": weights}


def _bounded(raw):
    """[0, inf) onto [0, 1), monotone, at the raw scores' resolution."""
    return np.round(raw / (1.0 + raw), SCORE_DECIMALS)


MAX_SURPRISE = 300.0  # -log10 of the smallest p-value told apart


def _surprise(value, mean, sd, n):
    """-log10 of the two-sided p-value of `value` under the Student t predictive
    distribution of a new draw from n draws with `mean` and `sd`: (value - mean) /
    (sd sqrt(1 + 1/n)) ~ t(n - 1). So a region against n reference judges and a judge
    against the other n - 1 are on one scale."""
    from scipy.stats import t

    statistic = np.abs(value - mean) / (sd * np.sqrt(1.0 + 1.0 / n))
    with np.errstate(divide="ignore"):
        surprise = -(np.log(2.0) + t.logsf(statistic, n - 1)) / np.log(10.0)
    # beyond float64's smallest p-value (a region whose judges do not vary, and an
    # item that does): as surprising as can be told, not infinite
    return np.minimum(surprise, MAX_SURPRISE)


def region_surprise(items, judges, in_reference):
    """(items x regions, reference judges x regions): for each region, the largest over
    the metrics of how surprising its value is beside the same region of the reference
    judges (_surprise; a judge's beside the other reference judges)."""
    reference = [np.asarray(t, dtype=np.float64)[in_reference] for t in judges]
    n = len(reference[0])
    item_s, judge_s = 0.0, 0.0
    for x, ref in zip(items, reference):
        x = np.asarray(x, dtype=np.float64)
        scale = max(float(np.abs(ref).max(initial=0.0)), 1.0)
        floor = stages.RESOLUTION * scale  # a region whose judges do not vary
        total, squares = ref.sum(axis=0), (ref ** 2).sum(axis=0)
        mean = total / n
        sd = np.sqrt(np.maximum((squares - n * mean ** 2) / (n - 1), 0.0)) + floor
        loo_mean = (total - ref) / (n - 1)
        loo_sd = np.sqrt(np.maximum((squares - ref ** 2 - (n - 1) * loo_mean ** 2)
                                    / (n - 2), 0.0)) + floor
        item_s = np.maximum(item_s, _surprise(x, mean, sd, n))
        judge_s = np.maximum(judge_s, _surprise(ref, loo_mean, loo_sd, n - 1))
    return item_s, judge_s


def regions_raw(items, judges, in_reference, pixels=None):
    item_s, judge_s = region_surprise(items, judges, in_reference)
    return (_bounded(item_s.max(axis=1)), _bounded(judge_s.max(axis=1)),
            {"region_raw": _bounded(item_s)})


def mt_raw(items, judges, in_reference, pixels=None):
    x = np.vstack([_side_by_side(judges)[in_reference], _side_by_side(items)])
    reference = np.arange(len(x)) < int(in_reference.sum())
    distances, _, _ = mt_distances(x, reference, max_loo_items=len(x))
    n = int(in_reference.sum())
    return _bounded(distances[n:]), _bounded(distances[:n]), {}


def patches_raw(items, judges, in_reference, pixels=None):
    return (_bounded(pixels.item_raw), _bounded(pixels.judge_raw),
            {"region_raw": _bounded(pixels.item_regions)})


# (soart_core.layout.DETECTORS names them in this order, for the tables' text columns)
REGISTRY = {
    "attention": Detector("attention", attention_raw,
                          "reference judges and judges of another group (the score is the "
                          "weight on them)", 2, True),
    "regions": Detector("regions", regions_raw,
                        "3 or more reference judges (a region's spread without one of them)",
                        3, False),
    "mt": Detector("mt", mt_raw, "3 or more reference judges (a unit space without one "
                                 "of them)", 3, False),
    "patches": Detector("patches", patches_raw,
                        "the images (images_dir; tables carry no pixels) and 2 or more "
                        "reference judges", 2, False, needs_pixels=True),
}


def fit_check(detector, in_reference, pixels=None):
    """TooFewLabeled, saying what is missing, where the judges cannot fit `detector`."""
    n = int(np.sum(in_reference))
    if n < detector.min_reference or (detector.needs_other_groups
                                      and n == len(in_reference)) or (
            detector.needs_pixels and pixels is None):
        raise TooFewLabeled(f"detector {detector.name} needs {detector.needs}; the judges "
                            f"hold {n} reference judge(s) of {len(in_reference)}")


DEFAULT = "attention"  # without labeled defects to choose by (docs/results.md)


def run(name, items, judges, judge_groups, *, reference, false_alarm, pixels=None,
        settings=None):
    """Detector `name` on the items (lists of tables, one per metric; `pixels`: a
    Pixels, or None without images), calibrated on the judges: {"raw", "score", "flag"
    (bool), "line" (raw where the flag starts), "warning", and the entry's extras}.
    `settings`: the entry's own keyword arguments (config verdicts.detectors.<name>).
    Raises TooFewLabeled (fit_check) or Unscorable (an item whose raw is not a
    number)."""
    detector = REGISTRY[name]
    in_reference = np.asarray(judge_groups, dtype=object) == reference
    fit_check(detector, in_reference, pixels)
    raw, reference_raw, extra = detector.raw(items, judges, in_reference, pixels,
                                             **(settings or {}))
    if not np.isfinite(raw).all():
        raise Unscorable(f"item row {int(np.flatnonzero(~np.isfinite(raw))[0])} cannot be "
                         f"scored by detector {name}: its raw score is not a number")
    score, line, warning = calibrate(raw, reference_raw, false_alarm)
    if "region_raw" in extra:  # each region on the image's scale: the worst is the image
        extra["region_score"] = calibrate(extra["region_raw"].ravel(), reference_raw,
                                          false_alarm)[0].reshape(extra["region_raw"].shape)
    return {"raw": raw, "score": score, "flag": score >= 1 - false_alarm, "line": line,
            "warning": warning, "reference_judges": int(in_reference.sum()), **extra}


def nearest_reference(items, judges, in_reference):
    """Each item's most similar reference judge (its row among the judges): the nearest
    in the judge-scaled features of every metric side by side (ties below the
    judges' resolution: the first)."""
    ll, x = stages.scale_features(_side_by_side(judges), _side_by_side(items))
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
    ll, x = stages.scale_features(_side_by_side(judges), _side_by_side(items))
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
