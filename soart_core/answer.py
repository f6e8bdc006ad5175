"""The answer for a set of items: every detector of the registry run on them against
the judges, and the columns of the answering detector's verdict (summary.csv's first
columns, a batch's verdicts.csv). One function for both, so that an image gets the
same verdict in the workflow's run and in any batch scored against a frozen
reference."""

import numpy as np

from . import detectors, stages
from .detectors import REGISTRY
from .verdicts import TooFewLabeled, judge_groups_of


def promise_of(result, false_alarm):
    """What a detector's flag promises, in words (the `promise` column): `result`
    holds its calibration's warning and its number of reference judges."""
    if result["warning"]:
        return (f"none: {result['reference_judges']} reference judges, "
                f"{int(np.ceil(1 / false_alarm)) - 1} needed for a false-alarm rate of "
                f"{false_alarm:g}; flags only items above every judge")
    return f"false alarm <= {false_alarm:g} on normal items"


def region_names(features, places):
    """Each feature's region in words, for `where`: `X5 (row 1, col 1)`, or the
    feature alone where the tables say nothing of the image (`places`: columns
    region_row and region_col, empty there)."""
    return [f if row == "" else f"{f} (row {row}, col {col})"
            for f, row, col in zip(features, places["region_row"], places["region_col"])]


def run_all(items, judges, judge_groups, *, reference, false_alarm, settings=None):
    """({detector: detectors.run's result}, {detector: why it could not run}) of every
    entry of the registry (Unscorable propagates: no item is ever left unscored);
    `settings`: {detector: its own settings} (config verdicts.detectors)."""
    results, skipped = {}, {}
    for name in REGISTRY:
        try:
            results[name] = detectors.run(name, items, judges, judge_groups,
                                          reference=reference, false_alarm=false_alarm,
                                          settings=(settings or {}).get(name))
        except TooFewLabeled as err:
            skipped[name] = str(err)
    return results, skipped


def predictions(results, items, judges, judge_groups, *, order, reference):
    """(the attention's columns: weight_{GROUP} and judges_attended, {predictor: the
    defect group each item is most like}) of the items, from the attention detector's
    weights in `results` (run_all's) and detectors.defect_groups."""
    weights = results["attention"]["weights"]
    present, by_group = judge_groups_of(weights, judge_groups, order)
    attention = {**{f"weight_{g}": by_group[:, i] for i, g in enumerate(present)},
                 "judges_attended": stages.effective_number(weights)}
    return attention, detectors.defect_groups(items, judges, judge_groups, reference,
                                              dict(zip(present, by_group.T)))


def answer_columns(results, chosen, predicted_by, attention, items, judges, judge_groups,
                   judge_names, places, *, reference, false_alarm):
    """The answer's columns for the items (lists of tables, one per words metric), by
    detector `chosen` of `results` (run_all's) and the defect groups `predicted_by`
    (one predictor's of `predictions`): predicted, score, flag, promise, method,
    where, nearest_normal, raw_score, then each detector's score and flag, the
    attention's (`attention`: its columns) weight on each judge group and
    judges_attended."""
    answer = results[chosen]
    predicted = np.where(answer["flag"], predicted_by, reference)
    n = len(answer["score"])
    if "regions" in results:
        where = np.array(region_names(places["feature"], places), dtype=object)[
            results["regions"]["region_raw"].argmax(axis=1)]
    else:
        where = np.full(n, "", dtype=object)
    in_reference = np.asarray(judge_groups, dtype=object) == reference
    nearest = np.asarray(judge_names, dtype=object)[
        detectors.nearest_reference(items, judges, in_reference)]
    columns = {"predicted": list(predicted), "score": answer["score"],
               "flag": list(np.where(answer["flag"], "abnormal", "normal")),
               "promise": [promise_of(answer, false_alarm)] * n,
               "method": [chosen] * n, "where": list(where),
               "nearest_normal": list(nearest), "raw_score": answer["raw"]}
    for name, result in results.items():
        columns[f"{name}_score"] = result["score"]
        columns[f"{name}_flag"] = list(np.where(result["flag"], "abnormal", "normal"))
    columns.update({k: v for k, v in attention.items() if k.startswith("weight_")})
    columns["judges_attended"] = attention["judges_attended"]
    return columns


def region_rows(results, names, places):
    """results/verdicts/regions.csv's columns: one row per item and region, its place
    and its score on the answer's scale (the regions detector's; empty without it)."""
    if "regions" not in results:
        return {"item": [], "feature": [], "score": []}
    n_items, n_regions = results["regions"]["region_score"].shape
    return {"item": np.repeat(np.asarray(names, dtype=object), n_regions),
            **{k: np.tile(np.asarray(places[k], dtype=object), n_items)
               for k in ("feature",) + REGION_PLACE},
            "score": results["regions"]["region_score"].ravel()}


REGION_PLACE = ("region_row", "region_col", "top", "left", "height", "width")
