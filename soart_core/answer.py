"""The answer for a set of items: every detector of the registry run on them against
the judges, and the columns of the answering detector's verdict (summary.csv's first
columns, a batch's verdicts.csv). One function for both, so that an image gets the
same verdict in the workflow's run and in any batch scored against a frozen
reference."""

import numpy as np

from . import detectors, stages
from .detectors import REGISTRY
from .layout import REGION_PLACE
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


def fit_all(judges, judge_groups, *, reference, pixels=None, settings=None):
    """({detector: fitted on the judges}, {detector: why it could not be fitted}) of
    every entry of the registry (detectors.fit); `pixels`: the pixel-level detector's
    detectors.Pixels, None without images; `settings`: {detector: its own settings}
    (config verdicts.detectors)."""
    fitted, skipped = {}, {}
    for name in REGISTRY:
        try:
            fitted[name] = detectors.fit(name, judges, judge_groups, reference=reference,
                                         pixels=pixels,
                                         settings=(settings or {}).get(name))
        except TooFewLabeled as err:
            skipped[name] = str(err)
    return fitted, skipped


def score_all(fitted, items, *, false_alarm, pixels=None):
    """{detector: detectors.calibrated's result} of each `fitted` detector on the items
    (Unscorable propagates: no item is ever left unscored)."""
    return {name: detectors.calibrated(estimator, items, false_alarm=false_alarm,
                                       pixels=pixels)
            for name, estimator in fitted.items()}


def run_all(items, judges, judge_groups, *, reference, false_alarm, pixels=None,
            settings=None):
    """({detector: detectors.run's result}, {detector: why it could not run}): every
    entry of the registry fitted on the judges (fit_all), then on the items
    (score_all)."""
    fitted, skipped = fit_all(judges, judge_groups, reference=reference, pixels=pixels,
                              settings=settings)
    return score_all(fitted, items, false_alarm=false_alarm, pixels=pixels), skipped


def predictions(results, items, judges, judge_groups, *, order, reference, pixels=None):
    """(the attention's columns: weight_{GROUP} and judges_attended, {predictor: the
    defect group each item is most like}) of the items, from the attention detector's
    weights in `results` (run_all's) and detectors.defect_groups (`pixels`: with the
    defect group its defect looks like, detectors.Pixels.defect_group)."""
    weights = results["attention"]["weights"]
    present, by_group = judge_groups_of(weights, judge_groups, order)
    attention = {**{f"weight_{g}": by_group[:, i] for i, g in enumerate(present)},
                 "judges_attended": stages.effective_number(weights)}
    return attention, detectors.defect_groups(
        items, judges, judge_groups, reference, dict(zip(present, by_group.T)),
        looks=None if pixels is None else pixels.defect_group)


def pixel_box(box, places):
    """A defect's pixel box in words, for `where`: `rows 30-41, cols 12-20 in X1 (row 0,
    col 1)` (its top-left pixel's region; `box`: top, left, height, width)."""
    top, left, height, width = (int(v) for v in box)
    tops = np.asarray(places["top"], dtype=np.int64)
    lefts = np.asarray(places["left"], dtype=np.int64)
    inside = np.flatnonzero((tops <= top) & (top < tops + np.asarray(places["height"],
                                                                      dtype=np.int64))
                            & (lefts <= left) & (left < lefts + np.asarray(
                                places["width"], dtype=np.int64)))
    region = region_names(places["feature"], places)[inside[0]] if len(inside) else ""
    return (f"rows {top}-{top + height - 1}, cols {left}-{left + width - 1}"
            + (f" in {region}" if region else ""))


def answer_columns(results, chosen, predicted_by, attention, items, judges, judge_groups,
                   judge_names, places, *, reference, false_alarm, pixels=None):
    """The answer's columns for the items (lists of tables, one per words metric), by
    detector `chosen` of `results` (run_all's) and the defect groups `predicted_by`
    (one predictor's of `predictions`): predicted, score, flag, promise, method,
    where, peak_row, peak_col, nearest_normal, raw_score, then each detector's score
    and flag, the attention's (`attention`: its columns) weight on each judge group
    and judges_attended. `where`: with the images (`pixels`), the defect's pixel box
    on the anomaly map, with its peak; else the regions detector's worst region."""
    answer = results[chosen]
    predicted = np.where(answer["flag"], predicted_by, reference)
    n = len(answer["score"])
    peak_row = peak_col = np.full(n, "", dtype=object)
    if pixels is not None:
        where = np.array([pixel_box(b, places) for b in pixels.box], dtype=object)
        peak_row, peak_col = pixels.peak_row, pixels.peak_col
    elif "regions" in results:
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
               "method": [chosen] * n, "where": list(where), "peak_row": list(peak_row),
               "peak_col": list(peak_col), "nearest_normal": list(nearest),
               "raw_score": answer["raw"]}
    for name, result in results.items():
        columns[f"{name}_score"] = result["score"]
        columns[f"{name}_flag"] = list(np.where(result["flag"], "abnormal", "normal"))
    columns.update({k: v for k, v in attention.items() if k.startswith("weight_")})
    columns["judges_attended"] = attention["judges_attended"]
    return columns


def region_rows(results, names, places):
    """results/verdicts/regions.csv's columns: one row per item and region, its place
    and its score: the anomaly map's maximum there on the pixel-level detector's scale
    (with the images), else the regions detector's (empty without either)."""
    source = next((d for d in ("patches", "regions") if d in results), None)
    if source is None:  # the same columns, no row (figures read them)
        return {"item": [], **{k: [] for k in ("feature",) + REGION_PLACE}, "score": []}
    n_items, n_regions = results[source]["region_score"].shape
    return {"item": np.repeat(np.asarray(names, dtype=object), n_regions),
            **{k: np.tile(np.asarray(places[k], dtype=object), n_items)
               for k in ("feature",) + REGION_PLACE},
            "score": results[source]["region_score"].ravel()}
