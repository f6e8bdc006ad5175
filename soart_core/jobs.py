"""One function per stage: read the stage's input files, run its arithmetic
(soart_core.stages) with the checks that turn bad input or a bad setting into an
`InputError` naming the file, line and column, and write its outputs.

Every job function is named after its stage (soart_core.pipeline.STAGES) and takes
`(inputs, outputs, params)`: objects with named attributes, one run's files and
tunables (a plain run's rule gives its own; a sweep's job one run's of `params.runs`;
tests pass `types.SimpleNamespace`). Stages that run once per words
metric take lists in `params.words` order. pandas, scikit-learn and matplotlib are
imported only where they are used: their imports cost more than the work of most
stages.
"""

import logging
import os
import shutil
from dataclasses import replace

import numpy as np
import yaml

from . import stages
from .errors import InputError, excerpt
from .layout import (ANSWER_COLUMNS, BLOCK_TEXT, MT_TEXT, REGION_PLACE, ROLES, SUMMARY_TEXT,
                     UNLABELED, verdict_summary_text)
from .layout import defect_figures as defect_figures_named  # (jobs.defect_figures draws)
from .tables import (Table, line_of, read_columns, read_table, write_atomic,
                     write_columns, write_rounded, write_table, write_text)

# Each job imports the soart modules of its own stage in its body (and its stage
# declares them: soart_core.pipeline, `modules`), so that a job runs, and its code
# digest covers, only what it needs: a change to figures.py reruns the figures alone.

THRESHOLD_TEXT = ("metric", "rule", "reference_distances", "unit_space")
LOG = logging.getLogger("soart")


# ---- the stages on in-memory Tables, with their checks ------------------------------
def _first_bad(values):
    """(row, column) of the first non-finite cell in reading order, or None."""
    bad = ~np.isfinite(values)
    return tuple(int(i) for i in np.argwhere(bad)[0]) if bad.any() else None


def normalise_pair(learn, valid, scale):
    """Stage 1: scale both tables with the learning table's lo and hi."""
    lo, hi = stages.value_range(learn.values)
    if not hi > lo:
        raise InputError(learn.path, f"every cell of the learning table is {lo!r}: "
                                     f"normalise divides by hi - lo = 0")
    with np.errstate(over="ignore", invalid="ignore"):
        done = [replace(t, values=stages.normalise(t.values, lo, hi, scale))
                for t in (learn, valid)]
    for before, after in zip((learn, valid), done):
        bad = _first_bad(after.values)
        if bad:  # hi - lo overflows, or is so small (subnormal) that dividing overflows
            raise InputError(before.path, f"value {float(before.values[bad])!r} cannot be "
                                          f"normalised: (x - lo) / (hi - lo) with lo = "
                                          f"{lo!r}, hi = {hi!r} of {learn.path} is not a "
                                          f"finite float64; rescale the metric's tables",
                             line=before.line(bad[0]), column=before.columns[bad[1]])
        far = np.abs(after.values) > UNSCORABLE * scale
        if far.any():  # finite, but no sum over it keeps the others' last decimal
            row, col = np.argwhere(far)[0]
            raise InputError(before.path, f"value {float(before.values[row, col]):.6g} lies "
                                          f"over {UNSCORABLE:g} learning ranges outside "
                                          f"[{lo:.6g}, {hi:.6g}] of {learn.path}: no item "
                                          f"can be scored beside it (every sum over it "
                                          f"loses the others' decimals); check the value",
                             line=before.line(row), column=before.columns[col])
    return done[0], done[1], lo, hi


FAR_OUTSIDE = 10.0  # learning ranges beyond the learning table: surely a wrong value
# learning ranges beyond which a value is refused: float64 keeps 16 digits, so a sum
# over a value 1e10 ranges away keeps other items' differences to 1e-6 of a range at
# best, below the attention's 5 decimals
UNSCORABLE = 1e10
LONE_OUTLIER = 1000.0  # median absolute deviations from a learning table's median


def implausible_values(learn, valid, lo, hi):
    """Warnings (text) about values that are finite but surely wrong, as they silently
    dominate the result: a learning value far from all the others (it alone sets the
    normalise range), a validation value many learning ranges outside it (that item
    then dominates every item's attention)."""
    found = []
    centre = np.median(learn.values)
    spread = np.median(np.abs(learn.values - centre))
    if spread > 0:
        far = np.abs(learn.values - centre) > LONE_OUTLIER * spread
        if far.any():
            row, col = np.argwhere(far)[0]
            found.append(f"{learn.path}, line {learn.line(row)}, column "
                         f"'{excerpt(learn.columns[col])}': value "
                         f"{float(learn.values[row, col]):.6g} is over {LONE_OUTLIER:g} "
                         f"median absolute deviations from the table's median "
                         f"{centre:.6g}, and sets its normalise range alone "
                         f"({int(far.sum())} such cell(s)); check it")
    outside = np.maximum(lo - valid.values, valid.values - hi) / (hi - lo)
    far = outside > FAR_OUTSIDE
    if far.any():
        row, col = np.unravel_index(np.argmax(outside), outside.shape)
        found.append(f"{valid.path}, line {valid.line(row)}, column "
                     f"'{excerpt(valid.columns[col])}': value "
                     f"{float(valid.values[row, col]):.6g} lies {outside[row, col]:.3g} "
                     f"learning ranges outside [{lo:.6g}, {hi:.6g}] of {learn.path} "
                     f"({int(far.sum())} cell(s) beyond {FAR_OUTSIDE:g}); such an item "
                     f"dominates every item's attention: check it")
    return found


def source_line(lines_path, source, row):
    """The line of data row `row` of input table `source`, from normalise's lines.csv
    (read only for a message)."""
    lines = read_columns(lines_path, text=("table",), integers=("line",))
    return int(lines["line"][lines["table"] == source][row])


def threshold_table(table, cutoff, power, setting, source, line=line_of):
    """Stage 2: x < cutoff -> 0, else x ** power; a NaN or inf it makes is an error of
    `setting`, blamed on the input file `source` (the table's rows are its rows, row r
    at line(r))."""
    values = stages.threshold(table.values, cutoff, power)
    bad = _first_bad(values)
    if bad:
        raise InputError(source, f"{setting} (cutoff {cutoff}, power {power}) turns this "
                                 f"value, normalised to {float(table.values[bad])!r}, into "
                                 f"{values[bad]}; choose a cutoff that keeps such values "
                                 f"out, or an integer power, or check the value",
                         line=line(bad[0]), column=table.columns[bad[1]])
    return replace(table, values=values)


def build_weights(learn_by_metric, roles):
    """Stage 3: {role: W} with W = thresholded learning table of roles[role], d x J."""
    weights = {}
    for role in ROLES:
        learn = learn_by_metric[roles[role]]
        weights[role] = Table(learn.path, list(learn.columns), None, list(learn.names),
                              stages.weight_matrix(learn.values))
    return weights


def attend(words, weights, *, decimals=5, chunk_rows=None, dtype="float64", source=None,
           workers=1, line=line_of):
    """Stage 4: the attention of the items (`words`) over the judges, items x judges.

    Scores beyond float64 (or float32) make NaN rows; that is an error blamed on the
    largest cell of the words table, whose item drives every score it takes part in,
    at its line in the input file `source`."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = stages.attention(words.values, weights["query"].values,
                               weights["key"].values, weights["value"].values,
                               chunk_rows=chunk_rows, dtype=np.dtype(dtype).type,
                               workers=workers)
    if _first_bad(out):
        row, col = np.unravel_index(np.argmax(np.abs(words.values)), words.values.shape)
        raise InputError(source or words.path,
                         f"the attention overflows {dtype} (its scores pass "
                         f"{np.finfo(dtype).max:.3g}): item '{excerpt(words.names[row])}' "
                         f"has the largest value, {words.values[row, col]:.6g} after "
                         f"normalising and thresholding, far outside the learning "
                         f"table's range; check the value", line=line(row),
                         column=words.columns[col])
    values = stages.round_half_even(out.astype(np.float64), decimals)
    return Table(words.path, words.names, words.groups, list(weights["value"].columns),
                 values)


def baseline_difference(attention, method, group=None):
    """Stage 5: subtract the per-judge baseline row; returns (D, b)."""
    try:
        base = stages.baseline_row(attention.values, attention.groups, method, group)
    except ValueError as err:
        raise InputError(attention.path, f"baseline: {err}") from None
    return replace(attention, values=stages.difference(attention.values, base)), base


def score_blocks(difference, judge_groups, order, tolerance):
    """Stage 6: sign counts per (item group, judge group) block, as named columns."""
    return stages.block_scores(difference.values, difference.groups, judge_groups, order,
                               tolerance)


# ---- the jobs: files in, files out -------------------------------------------------------
def metrics(inputs, outputs, params):
    """Stage 0 (optional): the metric tables, in the seed's layout, from images:
    `inputs.images` with their [set, group] in `params.labels` (soart_core.images.
    find_images lists both)."""
    from .images import image_metrics, read_gray, region_boxes

    images = [(path, set_name, group)
              for path, (set_name, group) in zip(inputs.images, params.labels)]
    kinds = list(dict.fromkeys(params.kinds[m] for m in params.metrics))
    rows, features = image_metrics(
        images, kinds=kinds, grayscale=params.grayscale, crop=params.crop, grid=params.grid,
        sn_ratio=params.sn_ratio, sn_max_db=params.sn_max_db,
        reference_group=params.reference_group, max_pixels=params.max_pixels, log=LOG.info,
        patch_settings=params.patches)
    first = read_gray(images[0][0], params.grayscale, params.crop, params.max_pixels)
    write_columns(outputs.regions, region_boxes(first.shape, params.grid, params.crop))
    root = os.path.commonpath([os.path.dirname(path) for path, _, _ in images])
    for metric, learn_path, valid_path in zip(params.metrics, outputs.learn, outputs.valid):
        kind = 3 + kinds.index(params.kinds[metric])
        for set_name, path in (("learn", learn_path), ("valid", valid_path)):
            chosen = [row for row in rows if row[1] == set_name]
            values = np.array([row[kind] for row in chosen])
            write_columns(path, {"image": [os.path.relpath(row[0], root) for row in chosen],
                                 **dict(zip(features, values.T)),
                                 params.group_column: [row[2] for row in chosen]})


def region_places(features, geometry):
    """normalise/regions.csv: each feature's region (soart_core.images.region_boxes),
    from the metrics stage's geometry (images), or empty where the tables say nothing of
    it (a user's tables)."""
    if geometry:
        boxes = read_columns(geometry[0], text=("feature",), integers=REGION_PLACE)
        at = {f: i for i, f in enumerate(boxes["feature"])}
        rows = [at[f] for f in features]
        return {"feature": list(features), **{k: boxes[k][rows] for k in REGION_PLACE}}
    return {"feature": list(features), **{k: [""] * len(features) for k in REGION_PLACE}}


def patches(inputs, outputs, params):
    """The pixel-level detector (soart_core.patches): fitted on the reference judges'
    images, every image's anomaly map (a reference judge's out of sample), its peak,
    the defect's box, each region's maximum and, for the other images, the defect
    group its defect looks like; the fitted model in plain files."""
    from . import patches as pixel
    from .images import read_gray, region_labels

    images = list(zip(inputs.images, params.labels))
    root = os.path.commonpath([os.path.dirname(path) for path in inputs.images])
    read = [read_gray(path, params.grayscale, params.crop, params.max_pixels)
            for path in inputs.images]
    first = inputs.images[0]
    for path, image in zip(inputs.images, read):  # read_gray reads any size
        if image.shape != read[0].shape:
            raise InputError(path, f"image is {image.shape[1]} x {image.shape[0]} pixels "
                                   f"(width x height) after cropping, but {first} is "
                                   f"{read[0].shape[1]} x {read[0].shape[0]}; all images "
                                   f"must have one size")
    pixels = np.array(read)
    smallest = params.settings["patch"] * max(params.settings["scales"])
    if min(pixels.shape[1:]) < smallest:
        raise InputError(first, f"image is {pixels.shape[2]} x {pixels.shape[1]} pixels "
                                f"(width x height) after cropping, too small for a patch of "
                                f"{params.settings['patch']} pixels at scale "
                                f"{max(params.settings['scales'])} (config keys "
                                f"patches.patch, patches.scales): lower them, or use larger "
                                f"images")
    is_judge = np.array([s == "learn" and g == params.reference for _, (s, g) in images])
    if is_judge.sum() < 2:
        raise InputError(first, f"the pixel-level detector needs 2 or more learning images "
                                f"of {params.reference}; there are {int(is_judge.sum())}")
    model = pixel.fit(pixels[is_judge], params.settings)
    LOG.info(f"patches: {int(is_judge.sum())} reference judges, search {model.search}, "
             f"radius {model.settings['radius']} px")
    maps = np.empty(pixels.shape, dtype=np.float32)
    maps[is_judge] = pixel.judge_maps(model)
    maps[~is_judge] = pixel.score(model, pixels[~is_judge])
    groups = np.array([g for _, (_, g) in images], dtype=object)
    defect_judge = np.array([s == "learn" for _, (s, _) in images]) & ~is_judge
    if defect_judge.any():  # what each defect group's judges' defects look like
        pixel.learn_defects(model, pixel.signatures(model, pixels[defect_judge],
                                                    maps[defect_judge]),
                            groups[defect_judge])
    seen = pixel.evidence(model, pixels, maps, region_labels(pixels.shape[1:], params.grid),
                          (params.crop[0], params.crop[1]) if params.crop else (0, 0))
    write_columns(outputs.scores, {
        "image": [os.path.relpath(path, root) for path in inputs.images],
        "set": [s for _, (s, _) in images], "group": list(groups), "raw": seen["raw"],
        "peak_row": seen["peak_row"], "peak_col": seen["peak_col"],
        **{k: seen["box"][:, i] for i, k in enumerate(("top", "left", "height", "width"))},
        "looks": [""] * len(maps) if seen["looks"] is None else
        np.where(is_judge, "", seen["looks"]),
        **{f"X{k}": seen["regions"][:, k] for k in range(seen["regions"].shape[1])}})
    write_atomic(outputs.maps, lambda out: np.save(out, maps, allow_pickle=False),
                 binary=True)
    model.save(outputs.model, outputs.model_settings)


def read_pixels(path, items, judges):
    """The pixel-level detector's detectors.Pixels for the `items` and the reference
    `judges` (their names, as the tables' rows) from patches/scores.csv."""
    from .detectors import Pixels

    scores = read_columns(path, text=("image", "set", "group", "looks"))
    at = {(s, name): k for k, (s, name) in enumerate(zip(scores["set"], scores["image"]))}
    rows = np.array([at[("valid", name)] for name in items], dtype=np.int64)
    own = np.array([at[("learn", name)] for name in judges], dtype=np.int64)
    features = sorted((c for c in scores if c.startswith("X")), key=lambda c: int(c[1:]))
    looks = scores["looks"][rows].astype(object)
    return Pixels(item_raw=scores["raw"][rows], judge_raw=scores["raw"][own],
                  peak_row=scores["peak_row"][rows].astype(np.int64),
                  peak_col=scores["peak_col"][rows].astype(np.int64),
                  box=np.column_stack([scores[k][rows] for k in ("top", "left", "height",
                                                                 "width")]).astype(np.int64),
                  item_regions=np.column_stack([scores[c][rows] for c in features]),
                  defect_group=looks if (looks != "").all() and len(looks) else None)


def normalise(inputs, outputs, params):
    """Read and check every input table; scale each metric by its learning lo and hi."""
    from .inputs import load_inputs  # (it imports pandas, 0.7 s: paid by this job only)

    files = {m: {"learn": learn, "valid": valid}
             for m, learn, valid in zip(params.metrics, inputs.learn, inputs.valid)}
    groups = params.groups
    tables = load_inputs(files, params.features, group_column=groups["column"],
                         order=groups["order"], valid_counts=groups["valid_counts"],
                         id_column=params.id_column, encoding=params.encoding,
                         delimiter=params.delimiter, decimal=params.decimal)
    learn, valid = next(iter(tables.values()))
    LOG.info(f"features ({params.features!r}): {', '.join(learn.columns)}")
    for what, table in (("judges", learn), ("items", valid)):
        missing = [g for g in groups["order"] if g not in set(table.groups)]
        if missing:
            LOG.warning(f"groups.order lists {', '.join(missing)}, but no {what} in "
                        f"{table.path} belong to it")
    done = {m: normalise_pair(learn, valid, params.scale)
            for m, (learn, valid) in tables.items()}  # every table checked before a write
    for m, (learn, valid) in tables.items():
        for warning in implausible_values(learn, valid, done[m][2], done[m][3]):
            LOG.warning(warning)
    for m, learn_path, valid_path in zip(params.metrics, outputs.learn, outputs.valid):
        write_table(done[m][0], "judge", learn_path)
        write_table(done[m][1], "item", valid_path)
    write_columns(outputs.range, {"metric": list(done),
                                  "lo": [d[2] for d in done.values()],
                                  "hi": [d[3] for d in done.values()],
                                  "scale": [float(params.scale)] * len(done)})
    tables_in_order = [t for m in params.metrics for t in done[m][:2]]
    write_columns(outputs.lines, {
        "table": np.concatenate([[t.path] * len(t.names) for t in tables_in_order]),
        "line": np.concatenate([t.line_numbers() for t in tables_in_order])})
    learn, valid, _, _ = done[params.metrics[0]]
    write_columns(outputs.regions, region_places(learn.columns, inputs.geometry))
    write_columns(outputs.judge_groups, {"judge": learn.names, "group": learn.groups})
    write_columns(outputs.item_groups, {"item": valid.names, "group": valid.groups})


def threshold(inputs, outputs, params):
    """x < cutoff -> 0, else x ** power; learning and validation tables apart."""
    todo = [(src, dst, "judge", params.learn, "threshold.learn", params.sources[m]["learn"])
            for m, src, dst in zip(params.metrics, inputs.learn, outputs.learn)]
    todo += [(src, dst, "item", params.valid, "threshold.valid", params.sources[m]["valid"])
             for m, src, dst in zip(params.metrics, inputs.valid, outputs.valid)]
    done = [(threshold_table(read_table(src, key), s["cutoff"], s["power"], name, source,
                             line=lambda row, source=source: source_line(inputs.lines,
                                                                         source, row)),
             key, dst)
            for src, dst, key, s, name, source in todo]  # every table checked first
    for table, key, dst in done:
        write_table(table, key, dst)


def weights(inputs, outputs, params):
    """W_Q, W_K, W_V (features x judges) from the role metrics' learning tables."""
    learn = {m: read_table(path, "judge") for m, path in zip(params.metrics, inputs.learn)}
    built = build_weights(learn, params.roles)
    for role, path in zip(ROLES, outputs.weights):
        write_table(built[role], "feature", path)


# the seed's own attention (attention.over, .features, .feature_scale): the one form
# that must equal the seed's script value for value; the others are variants
SEED_FORM = ("items", "per_metric", "none")


def attention_mode(params):
    """(over, features, feature_scale) of the attention job's params."""
    return params.over, params.features, params.feature_scale


def attention(inputs, outputs, params, threads=1):
    """The attention of each words metric's items over the judges, on `threads` cores:
    the seed's form, or a variant (docs/method.md, "Variants of the attention")."""
    w = {role: read_table(path, "feature") for role, path in zip(ROLES, inputs.weights)}
    if attention_mode(params) != SEED_FORM:
        return attention_variant(inputs, outputs, params, w)
    LOG.info("attention over the items (the seed's form): each item's row depends on "
             "every item of the batch, so its verdicts from these rows do too")
    for metric, words_path, out_path in zip(params.words, inputs.words, outputs.attention):
        out = attend(read_table(words_path, "item"), w, decimals=params.decimals,
                     chunk_rows=params.chunk_rows, dtype=params.dtype,
                     source=params.sources[metric]["valid"], workers=threads,
                     line=lambda row, source=params.sources[metric]["valid"]:
                     source_line(inputs.lines, source, row))
        write_table(out, "item", out_path, decimals=params.decimals)


def attention_variant(inputs, outputs, params, weights):
    """attention.over judges (softmax over the judges), features combined (one
    attention over the words metrics side by side, written for each of them) and
    feature_scale judges (each feature z-scored by the judges), any combination."""
    over, features, feature_scale = attention_mode(params)
    words = [read_table(path, "item") for path in inputs.words]
    learn = [read_table(path, "judge") for path in inputs.learn]
    for table in learn[1:]:
        if table.names != learn[0].names:
            raise InputError(table.path, f"its judges differ from those of {learn[0].path}; "
                                         f"attention.features combined needs the same judges")
    runs = stages.variant_inputs([t.values for t in words], [t.values for t in learn],
                                 [weights[r].values for r in ROLES], features=features,
                                 feature_scale=feature_scale)
    LOG.info(f"attention over the {over}, features {features}, feature_scale "
             f"{feature_scale}" + (": each item's row depends on that item and the judges "
                                   "alone" if over == "judges" else
                                   ": each item's row depends on every item of the batch"))
    outs = []
    for x, ll, w in runs:
        if over == "judges":
            values = stages.judge_attention(x, ll, stages.judge_temperature(ll))
            columns = list(learn[0].names)
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                values = stages.attention(x, *w, chunk_rows=params.chunk_rows,
                                          dtype=np.dtype(params.dtype).type)
            columns = list(weights["value"].columns)
        if _first_bad(values):
            raise InputError(words[0].path, f"the attention ({over}, {features}, "
                                            f"{feature_scale}) overflows float64: a value far "
                                            f"outside the learning table's range; check it")
        outs.append((columns, stages.round_half_even(values.astype(np.float64),
                                                     params.decimals)))
    if features == "combined":
        outs = outs * len(words)
    for table, (columns, values), out_path in zip(words, outs, outputs.attention):
        write_table(Table(table.path, table.names, table.groups, columns, values), "item",
                    out_path, decimals=params.decimals)


def difference(inputs, outputs, params):
    """Subtract the per-judge baseline row from each attention table. group_mean of a
    group without labeled items (a folder of new images only) takes the median of all
    items instead, with a warning: the answer needs no labels, and neither may this."""
    tables = [read_table(src, "item") for src in inputs.attention]
    method = params.method
    if method == "group_mean" and not (np.asarray(tables[0].groups, dtype=object)
                                       == params.group).any():
        LOG.warning(f"baseline: group '{params.group}' has no labeled items, so "
                    f"group_mean has nothing to average: the median of all items instead "
                    f"(set baseline.method: median to choose it)")
        method = "median"
    for table, diff_path, base_path in zip(tables, outputs.difference, outputs.baseline):
        diff, base = baseline_difference(table, method, params.group)
        write_table(diff, "item", diff_path)
        write_columns(base_path, {"judge": diff.columns, "baseline": base})


def blocks(inputs, outputs, params):
    """Sign agreement per (item group, judge group) block of each difference table."""
    judge_groups = read_columns(inputs.judge_groups, text=("judge", "group"))["group"]
    for src, dst in zip(inputs.difference, outputs.blocks):
        write_columns(dst, score_blocks(read_table(src, "item"), judge_groups,
                                        params.order, params.tolerance))


def classic(inputs, outputs, params):
    """The classic baselines (nearest centroid, LDA, MT on the metrics themselves) on
    each words metric's thresholded validation table."""
    from . import evaluation
    from .evaluation import rows_to_columns

    for i, metric in enumerate(params.words):
        rows, confusion = evaluation.classic(metric, read_table(inputs.words[i], "item"),
                                    order=params.order, max_loo_items=params.max_loo_items,
                                    reference=params.reference, verdicts=params.verdicts)
        # every digit (evaluate rounds what people read); NaN as an empty cell
        write_rounded(outputs.evaluation[i], rows_to_columns(rows), decimals=None)
        write_columns(outputs.confusion[i], rows_to_columns(confusion))


def evaluate(inputs, outputs, params):
    """Leave-one-out classification figures and block contrast, per words metric, with
    the classic baselines' rows (job `classic`). The tables for people (per metric and
    the summary) show figures rounded; the confusion counts are exact."""
    from . import evaluation
    from .detectors import REGISTRY
    from .evaluation import collapsed, columns_to_rows, constant_features, rows_to_columns

    verdict_summary_ = (read_columns(inputs.summary, text=verdict_summary_text(params.words))
                        if hasattr(inputs, "summary") else None)
    healths = (attention_health(inputs, params) if all(
        hasattr(inputs, k) for k in ("words", "learn", "weights")) else {})
    summary, logged = [], set()
    words = ([read_table(path, "item") for path in inputs.words]
             if hasattr(inputs, "words") else [])
    same = bool(words) and all(constant_features(evaluation.labeled(t).values) for t in words)
    if verdict_summary_ is not None:
        # the answer, then each detector of the registry alone (metric all)
        answer, confusion = evaluation.verdict_row("all", "answer", verdict_summary_,
                                                   order=params.order,
                                                   reference=params.reference)
        rows = [answer] + [evaluation.verdict_row("all", name, verdict_summary_,
                                                  order=params.order,
                                                  reference=params.reference,
                                                  prefix=f"{name}_", accuracies=False)[0]
                           for name in REGISTRY if f"{name}_flag" in verdict_summary_]
        if same:  # the one reason, as on every metric's rows
            for row in rows:
                row["warnings"] = ""
        rows = evaluation.summary_rows(
            "all", rows, verdict_summary_["group"], order=params.order,
            reference=params.reference, common=[collapsed(words[0].values)] if same else [])
        selection = read_columns(inputs.selection, text=("detector", "chosen", "why"))
        rows[0] = evaluation.with_nested(rows[0], selection)
        summary += rows
        write_columns(outputs.answer_confusion, rows_to_columns(confusion))
    for i, metric in enumerate(params.words):
        classic_rows = columns_to_rows(read_columns(
            inputs.classic_evaluation[i], text=SUMMARY_TEXT,
            integers=("n",)))
        classic_confusion = columns_to_rows(read_columns(
            inputs.classic_confusion[i], text=("method", "true_group"),
            integers=[f"predicted_{g}" for g in params.order]))
        rows, confusion = evaluation.evaluate_metric(
            metric, read_table(inputs.attention[i], "item"),
            read_table(inputs.difference[i], "item"),
            read_columns(inputs.blocks[i], text=BLOCK_TEXT),
            classic_rows, classic_confusion, order=params.order, baseline=params.baseline,
            verdict=read_columns(inputs.verdicts[i], text=MT_TEXT),
            reference=params.reference, summary=verdict_summary_,
            words=words[i] if words else None,
            health=healths.get(metric), logged=logged)
        write_rounded(outputs.evaluation[i], rows_to_columns(rows))
        write_columns(outputs.confusion[i], rows_to_columns(confusion))
        summary += rows
    write_rounded(outputs.summary, rows_to_columns(summary))
    if healths and hasattr(outputs, "health"):
        write_rounded(outputs.health, rows_to_columns(list(healths.values())))
    for health in healths.values():
        LOG.info(f"attention of {health['metric']}: {health['distinct_rows']} distinct rows "
                 f"of {health['items']}; a row attends to {health['attended_mean']:.3g} of "
                 f"{health['attended_of']} {health['attention_over']} in effect (mean "
                 f"exp(entropy))")


HEALTH_ROWS = 2000  # the seed's form: the first so many items' softmax rows (over all N)


def attention_health(inputs, params):
    """{metric: evaluation.attention_health} for the attention as configured: its
    distinct rows, and exp(entropy) of its softmax rows, over the judges (the attention
    table's own rows) or, in the seed's form, over the items (recomputed from the
    words and weights for up to HEALTH_ROWS items)."""
    from . import evaluation

    over, features, feature_scale = attention_mode(params)
    attention_tables = [read_table(path, "item") for path in inputs.attention]
    if over == "judges":
        attended = [stages.effective_number(np.clip(t.values, 0, None))
                    for t in attention_tables]
    else:
        words = [read_table(path, "item").values for path in inputs.words]
        learn = [read_table(path, "judge").values for path in inputs.learn]
        weights = [read_table(path, "feature").values for path in inputs.weights]
        runs = stages.variant_inputs(words, learn, weights, features=features,
                                     feature_scale=feature_scale)
        attended = [stages.seed_effective_number(x, w[0], w[1], max_rows=HEALTH_ROWS)
                    for x, _, w in runs]
        if features == "combined":
            attended = attended * len(words)
    return {m: evaluation.attention_health(m, t.values, a, over)
            for m, t, a in zip(params.words, attention_tables, attended)}


def verdicts(inputs, outputs, params):
    """A verdict for every item, labeled or not, per words metric, and the metrics
    combined (soart_core.verdicts)."""
    from .evaluation import collapsed, constant_features
    from .verdicts import TooFewLabeled, verdict_table

    judge_groups = read_columns(inputs.judge_groups, text=("judge", "group"))["group"]
    valid = [read_table(path, "item") for path in getattr(inputs, "valid", [])]
    same = bool(valid) and all(constant_features(v.values) for v in valid)
    if same:  # the one reason for everything below: said once
        LOG.warning(f"verdicts: {collapsed(valid[0].values)}")
    tables, thresholds = [], []
    for metric, path in zip(params.words, inputs.difference):
        difference = read_table(path, "item")
        try:
            columns, row = verdict_table(
                difference, judge_groups, order=params.order, reference=params.reference,
                tolerance=params.tolerance,
                threshold=params.verdicts["mt_threshold"],
                quantile=params.verdicts["mt_quantile"],
                max_loo_items=params.verdicts["mt_max_loo_items"])
        except TooFewLabeled as err:  # the MT's unit space is the labeled items': none
            LOG.warning(f"verdicts of {metric}: no MT verdicts ({err}); the answer "
                        f"(summary.csv) needs the judges only")
            columns, row = unscored_mt(difference, judge_groups, params, str(err))
        tables.append(columns)
        thresholds.append({"metric": metric, **row})
        if row["unit_space"].startswith("no spread") and not same:
            LOG.warning(f"verdicts of {metric}: the reference items' rows do not vary "
                        f"(uniform attention?): distances are plain squared distances")
        LOG.info(f"verdicts of {metric}: MT threshold {row['mt_threshold']:.6g}, "
                 f"{int((columns['mt_flag'] == 'abnormal').sum())} of {len(columns['mt_flag'])} "
                 f"items flagged abnormal")
    for columns, path in zip(tables, outputs.verdicts):
        write_columns(path, columns)
    write_columns(outputs.mt_thresholds,
                  {k: [t[k] for t in thresholds] for k in thresholds[0]})
    summary, calibration, selection, regions, predictors = verdict_summary(
        inputs, params, judge_groups, tables, valid, same)
    write_rounded(outputs.predictors, predictors, decimals=None)  # NaN: an empty cell
    write_columns(outputs.summary, summary, bom=True)  # the answer, read in Excel
    write_rounded(outputs.answer, answer_table(summary), decimals=ANSWER_DECIMALS)
    write_columns(outputs.calibration, calibration)
    write_rounded(outputs.selection, selection, decimals=None)  # NaN: an empty cell
    write_columns(outputs.regions, regions or {"item": [], "feature": [], "score": []})


ANSWER_DECIMALS = 3  # the answer as people read it (summary.csv keeps every digit)


def answer_table(summary):
    """results/verdicts/answer.csv, summary.csv for people: the answer's columns, the
    flagged items first, each part by score, highest first (then input order)."""
    flagged = np.asarray(summary["flag"], dtype=object) == "abnormal"
    score = np.asarray(summary["score"], dtype=np.float64)
    order = np.lexsort((np.arange(len(score)), -score, ~flagged))
    return {k: np.asarray(summary[k], dtype=object if k != "score" else np.float64)[order]
            for k in ANSWER_COLUMNS}


def unscored_mt(difference, judge_groups, params, why):
    """A metric's MT verdicts where the labeled items cannot make its unit space: every
    distance NaN, every MT flag `unscored`, the threshold row saying why."""
    from .verdicts import row_signs

    n = len(difference.names)
    columns = {"item": difference.names, "group": list(difference.groups),
               "predicted": [""] * n, "mt_distance": np.full(n, np.nan),
               "mt_flag": np.full(n, "unscored", dtype=object)}
    signs = row_signs(difference.values, judge_groups, params.order, params.tolerance)
    columns.update({f"sign_{g}": v for g, v in signs.items()})
    groups = np.asarray(difference.groups, dtype=object)
    labeled = groups != UNLABELED
    row = {"mt_threshold": np.nan, "rule": f"none: {why}",
           "reference_items": int((groups == params.reference).sum()),
           "labeled_items": int(labeled.sum()), "unlabeled_items": int((~labeled).sum()),
           "reference_distances": "", "unit_space": "none"}
    return columns, row


def verdict_summary(inputs, params, judge_groups, mt_tables, valid, same=False):
    """results/verdicts/summary.csv: one verdict per item, the detector's that answers
    (verdicts.method: one of soart_core.detectors.REGISTRY, or auto: chosen on the
    labeled items, detectors.choose; soart_core.answer), then each detector's score and
    flag, the judge attention per metric alone and each metric's MT distance and flag
    on its difference rows (which depend on the batch). Also returns the calibration's
    table, the selection's, and results/verdicts/regions.csv's columns. `valid`: the
    words metrics' normalised validation tables, as read by the caller."""
    from . import answer, detectors
    from .detectors import REGISTRY
    from .verdicts import TooFewLabeled, Unscorable, judge_verdicts

    learn = [read_table(path, "judge") for path in inputs.learn]
    false_alarm = params.verdicts["false_alarm"]
    items, judges = [t.values for t in valid], [t.values for t in learn]
    kwargs = dict(judge_groups=judge_groups, order=params.order,
                  reference=params.reference, false_alarm=false_alarm)
    done = {}
    for name, ll, vv in [(m, [l], [v]) for m, l, v in zip(params.words, learn, valid)]:
        try:
            done[name] = judge_verdicts([t.values for t in vv], [t.values for t in ll],
                                        **kwargs)
        except TooFewLabeled as err:
            raise InputError(ll[0].path, f"no verdicts: {err}") from None
        except Unscorable as err:
            raise InputError(vv[0].path, f"no verdict: {err}") from None
    # with the images: what the pixel-level detector saw (the reference judges by name)
    pixels = (read_pixels(inputs.patches, valid[0].names,
                          [n for n, g in zip(learn[0].names, judge_groups)
                           if g == params.reference])
              if getattr(inputs, "patches", None) else None)
    try:
        results, skipped = answer.run_all(items, judges, judge_groups,
                                          reference=params.reference,
                                          false_alarm=false_alarm, pixels=pixels,
                                          settings=params.verdicts["detectors"])
    except Unscorable as err:
        raise InputError(valid[0].path, f"no verdict: {err}") from None
    if "attention" not in results:  # the predicted group is the attention's
        raise InputError(learn[0].path, f"no verdicts: {skipped['attention']}")
    groups = np.asarray(valid[0].groups, dtype=object)
    method = params.verdicts["method"]
    if method == "auto":
        chosen, why, figures, nested = detectors.choose(results, groups, params.reference)
    elif method in results:
        chosen, why, figures, nested = method, "verdicts.method names it", {}, {}
    else:
        raise InputError(learn[0].path, f"verdicts.method {method}: {skipped[method]}")
    attention, predicted_by = answer.predictions(results, items, judges, judge_groups,
                                                 order=params.order,
                                                 reference=params.reference, pixels=pixels)
    predictor, predictor_why, right, predictor_nested = detectors.choose_predictor(
        predicted_by, groups, params.reference)
    places = read_columns(inputs.regions, text=("feature",) + REGION_PLACE)
    summary = {"item": valid[0].names, "group": list(groups),
               **answer.answer_columns(results, chosen, predicted_by[predictor], attention,
                                       items, judges, judge_groups, learn[0].names, places,
                                       reference=params.reference,
                                       false_alarm=false_alarm, pixels=pixels)}
    for metric, mt in zip(params.words, mt_tables):
        alone, _ = done[metric]
        summary.update({f"{metric}_predicted": list(alone["predicted"]),
                        f"{metric}_score": alone["score"],
                        f"{metric}_raw_score": alone["raw"],
                        f"{metric}_flag": list(alone["flag"]),
                        f"{metric}_mt_distance": mt["mt_distance"],
                        f"{metric}_mt_flag": list(mt["mt_flag"])})
    calibration = {"verdict": [], "raw_line": [], "reference_judges": [],
                   "false_alarm": [], "warning": []}
    for name, result in results.items():
        calibration["verdict"].append(name)
        calibration["raw_line"].append(result["line"])
        calibration["reference_judges"].append(result["reference_judges"])
        calibration["false_alarm"].append(false_alarm)
        calibration["warning"].append(result["warning"])
    for name, (_, details) in done.items():
        calibration["verdict"].append(f"attention_{name}")
        for key in ("raw_line", "reference_judges", "warning"):
            calibration[key].append(details[key])
        calibration["false_alarm"].append(false_alarm)
    chosen_result = results[chosen]
    if chosen_result["warning"]:
        LOG.warning(f"verdicts: {chosen_result['warning']}")
    selection = {"detector": list(REGISTRY),
                 "chosen": [name == chosen for name in REGISTRY],
                 **{k: [figures.get(n, {}).get(k, np.nan) for n in REGISTRY]
                    for k in ("detected", "false_alarms", "roc_auc")},
                 "why": [why if n == chosen else skipped.get(n, "") for n in REGISTRY],
                 **{f"nested_{k}": [nested.get(k, np.nan) if n == chosen else np.nan
                                    for n in REGISTRY] for k in detectors.NESTED}}
    regions = answer.region_rows(results, valid[0].names, places)
    predictors = {"predictor": list(detectors.PREDICTORS),
                  "chosen": [n == predictor for n in detectors.PREDICTORS],
                  "named_right": [right.get(n, np.nan) for n in detectors.PREDICTORS],
                  "why": [predictor_why if n == predictor else
                          "" if n in predicted_by else "the judges cannot fit it"
                          for n in detectors.PREDICTORS],
                  **{f"nested_{k}": [predictor_nested[k] if n == predictor else np.nan
                                     for n in detectors.PREDICTORS]
                     for k in ("accuracy", "accuracy_low", "accuracy_high")}}
    LOG.info(f"verdicts (summary): predicted by {predictor}, because {predictor_why}")
    flagged = int(chosen_result["flag"].sum())
    LOG.info(f"verdicts (summary): detector {chosen}, because {why}; flag from raw score "
             f"{chosen_result['line']:.6g} (false-alarm rate {false_alarm:g} on the reference "
             f"judges, leave-one-out): {flagged} of {len(groups)} items flagged abnormal; "
             f"no item's verdict depends on the batch. The per-metric MT distances do "
             f"(their unit space is the batch's reference items)")
    if np.unique(chosen_result["raw"]).size == 1 and len(chosen_result["raw"]) > 1 and not same:
        LOG.warning("verdicts: every item has the same score (to 1e-9): the items' rows "
                    "carry nothing that tells them apart")
    return (answer_first(summary, list(results), params.words), calibration, selection,
            regions, predictors)


METRIC_COLUMNS = ("predicted", "score", "raw_score", "flag", "mt_distance", "mt_flag")


def answer_first(summary, detector_names, words):
    """summary.csv's columns in the order a person reads them: the answer's first (item,
    group, predicted, score, flag, promise, method, where, nearest_normal, raw_score,
    and any other column of answer.answer_columns' that is no detector's and no
    metric's), then each detector's score and flag, the attention's weight on each
    judge group and judges_attended, then each words metric's own columns."""
    per_detector = {f"{d}_{k}" for d in detector_names for k in ("score", "flag")}
    per_metric = {f"{m}_{k}" for m in words for k in METRIC_COLUMNS}

    def part(key):
        if key in per_metric:
            return 2
        if key in per_detector or key.startswith("weight_") or key == "judges_attended":
            return 1
        return 0

    return {key: summary[key] for key in sorted(summary, key=part)}  # (stable)


def figures(inputs, outputs, params):
    """Heatmaps of attention and difference, and the grid of block sign scores; their
    titles name the words metric."""
    from . import figures as draw
    from .images import read_gray

    judge_groups = read_columns(inputs.judge_groups, text=("judge", "group"))["group"]
    for i, metric in enumerate(params.words):
        draw.heatmap(read_table(inputs.attention[i], "item"), judge_groups, params.order,
                     outputs.attention[i], diverging=False, metric=metric)
        draw.heatmap(read_table(inputs.difference[i], "item"), judge_groups, params.order,
                     outputs.difference[i], diverging=True, metric=metric)
        draw.block_grid(read_columns(inputs.blocks[i], text=BLOCK_TEXT), params.order,
                        outputs.blocks[i], metric=metric)
    thresholds = read_columns(inputs.mt_thresholds, text=THRESHOLD_TEXT)
    for i, metric in enumerate(params.words):
        draw.verdict_plot(read_columns(inputs.verdicts[i], text=MT_TEXT),
                          thresholds["mt_threshold"][i], params.order, outputs.mt[i],
                          metric=metric)
    summary = read_columns(inputs.summary, text=verdict_summary_text(params.words))
    draw.answer_plot(summary, params.false_alarm, params.order, outputs.answer)
    regions = read_columns(inputs.regions, text=("item", "feature") + REGION_PLACE)
    images, by_name = None, {}
    if getattr(inputs, "images", None):  # images mode: the flagged images themselves
        root = os.path.commonpath([os.path.dirname(p) for p in inputs.images])
        by_name = {os.path.relpath(p, root): p for p in inputs.images}
        flagged = np.asarray(summary["flag"], dtype=object) == "abnormal"
        images = {name: read_gray(by_name[name], params.grayscale, params.crop)
                  for name in np.asarray(summary["item"], dtype=object)[flagged]
                  if name in by_name}
    draw.where_plot(summary, regions, outputs.where, images)
    # the folder holds this run's figures only (a flag since lifted leaves none behind)
    shutil.rmtree(outputs.defects, ignore_errors=True)
    os.makedirs(outputs.defects)
    if getattr(inputs, "maps", None):
        defect_figures(inputs, outputs.defects, params, summary, by_name)


def defect_figures(inputs, folder, params, summary, by_name):
    """figures/defects/: one figure per flagged image (layout.defect_figures: the
    highest scores, named by rank and path), as figures.defect_figure draws it."""
    from . import figures as draw
    from .images import read_gray

    scores = read_columns(inputs.patches, text=("image", "set", "group", "looks"))
    at = {(s, n): k for k, (s, n) in enumerate(zip(scores["set"], scores["image"]))}
    maps = np.load(inputs.maps, allow_pickle=False, mmap_mode="r")
    top, left = (params.crop[0], params.crop[1]) if params.crop else (0, 0)
    items = list(summary["item"])
    files = defect_figures_named(items, summary["flag"], summary["score"])
    for name, file_name in files.items():
        k = items.index(name)
        row = at[("valid", name)]
        box = [int(scores[c][row]) - offset for c, offset in
               (("top", top), ("left", left), ("height", 0), ("width", 0))]
        peak = (int(scores["peak_row"][row]) - top, int(scores["peak_col"][row]) - left)
        judge = str(summary["nearest_normal"][k])
        draw.defect_figure(
            read_gray(by_name[name], params.grayscale, params.crop), np.asarray(maps[row]),
            box, peak, read_gray(by_name[judge], params.grayscale, params.crop)
            if judge in by_name else None, os.path.join(folder, file_name),
            title=f"{name}: score {float(summary['score'][k]):.3f}, "
                  f"{summary['predicted'][k]}, {summary['where'][k]}", judge_name=judge)
    flagged = sum(f == "abnormal" for f in summary["flag"])
    if flagged > len(files):
        LOG.info(f"figures: {len(files)} of {flagged} flagged images drawn one by one "
                 f"(the highest scores)")


def sweep_summary(inputs, outputs, params):
    """A sweep's instance folders get their params.yaml and links to the stage folders
    they share (so that each holds the plain layout); the instances are ranked by their
    evaluation figures (as their summaries show them, rounded) in a table and a plot
    per parameter."""
    from . import figures as draw
    from .sweep import best_config, rank_instances, stale_folders

    import pandas as pd  # (0.4 s to import: only the jobs that use it)

    summaries = []
    for instance in params.instances:
        path = instance["params"]
        root = os.path.dirname(path)
        os.makedirs(root, exist_ok=True)
        for stage, folder in instance["folders"].items():
            if os.path.normpath(folder) == os.path.normpath(root):
                continue
            for name in params.links[stage]:
                link = os.path.join(root, name)
                if os.path.islink(link):
                    os.remove(link)
                os.symlink(os.path.relpath(os.path.join(folder, name), root), link)
        write_text(path, yaml.safe_dump({"sweep": params.sweep, "instance": instance["name"],
                                         "swept": instance["values"],
                                         "config": instance["config"]}, sort_keys=False))
        summaries.append(pd.DataFrame(read_columns(
            os.path.join(instance["folders"]["evaluate"], "evaluation", "summary.csv"),
            text=SUMMARY_TEXT, integers=("n",))))
    # folders of grid values since removed: the sweep holds only the current grid's
    owned = [os.path.dirname(i["params"]) for i in params.instances] + \
        [folder for i in params.instances for folder in i["folders"].values()]
    for folder in stale_folders(os.path.dirname(outputs.summary), owned):
        shutil.rmtree(folder)
        LOG.info(f"removed {folder}: no instance of the current grid reads it")
    ranked = rank_instances([i["name"] for i in params.instances],
                            [i["values"] for i in params.instances], summaries,
                            params.rank_by, params.rank_method)
    # rank_instances rounded its figures; the swept values stay as they are
    write_rounded(outputs.summary, {c: ranked[c].to_numpy() for c in ranked.columns},
                  decimals=None)
    draw.sweep_plot(ranked, params.parameters, outputs.plot)
    write_text(outputs.best, best_config(ranked, {i["name"]: i["config"]
                                                  for i in params.instances},
                                         params.sweep, params.rank_by, params.rank_method))


def workbook(inputs, outputs, params):
    """The results as one Excel workbook (soart_core.workbook); the per-item verdicts
    and the answer sheet where the rule names them."""
    from .workbook import package_versions, write_workbook

    versions = package_versions()
    write_workbook(outputs.workbook, words=params.words, attention=inputs.attention,
                   difference=inputs.difference, blocks=inputs.blocks,
                   summary=inputs.summary, judge_groups=inputs.judge_groups,
                   order=params.order, verdicts=getattr(inputs, "verdicts", None),
                   verdict_summary=getattr(inputs, "verdict_summary", None),
                   max_items=params.max_items, settings=params.settings, versions=versions,
                   tolerance=params.tolerance, decimals=params.decimals)
    LOG.info(f"workbook: {len(params.words)} words metrics, up to {params.max_items} "
             f"items per sheet; made with " + ", ".join(f"{k} {v}" for k, v in
                                                      versions.items()))


# ---- the line's daily batches: a frozen reference (soart_core.reference) ----------------
def chosen_in(path, key):
    """The `key` of the row marked `chosen` in verdicts/selection.csv or predictors.csv."""
    table = read_columns(path, text=(key, "chosen", "why"))
    return str(table[key][list(table["chosen"]).index("true")])


def reference(inputs, outputs, params):
    """results/reference/: everything the answer learns from the judges, with its id."""
    from . import reference as soart_reference
    from .provenance import library_versions

    ranges = read_columns(inputs.range, text=("metric",))
    places = read_columns(inputs.regions, text=("feature",) + REGION_PLACE)
    judges = read_columns(inputs.judge_groups, text=("judge", "group"))
    chosen = chosen_in(inputs.selection, "detector")
    predictor = chosen_in(inputs.predictors, "predictor")
    at = {m: i for i, m in enumerate(ranges["metric"])}
    settings = {
        "words": list(params.words), "kinds": {m: params.kinds[m] for m in params.words},
        "image": params.image, "order": list(params.order), "reference": params.reference,
        "false_alarm": params.false_alarm, "method": chosen, "predictor": predictor,
        "detectors": params.detectors,
        "ranges": {m: [float(ranges[k][at[m]]) for k in ("lo", "hi", "scale")]
                   for m in params.words},
        "judge_names": list(judges["judge"]), "judge_groups": list(judges["group"]),
        "places": {k: [str(v) for v in places[k]] for k in ("feature",) + REGION_PLACE},
        "code": params.code, "libraries": library_versions()}
    images = [path for path, (set_name, group) in zip(inputs.images, params.labels)
              if set_name == "learn" and group == params.reference]
    ref_id = soart_reference.build(os.path.dirname(outputs.reference),
                                   learn_paths=inputs.learn, normal_images=images,
                                   patches_model=(inputs.patches_model,
                                                  inputs.patches_settings),
                                   settings=settings)
    LOG.info(f"reference {ref_id}: {len(judges['judge'])} judges, detector {chosen}")


def batch(inputs, outputs, params):
    """One batch of new images scored against the frozen reference: its verdicts
    (summary.csv's answer columns and the reference's id), where-regions, rejected
    images and answer figure, then its record (reference.write_record), last. An empty
    batch, or one whose every image is rejected, gets its files with no verdict row.
    `params.refused`: [name, why] of files no rule can read (reference.refused_name):
    rejected under skip, one error under stop."""
    from . import figures as draw, reference as soart_reference

    ref = soart_reference.load(os.path.dirname(inputs.reference))
    refused = [(str(name), str(why)) for name, why in getattr(params, "refused", [])]
    if refused and params.on_bad_image == "stop":
        raise InputError(refused[0][0], refused[0][1])
    verdicts, regions, rejected = soart_reference.score_images(
        ref, list(inputs.images), on_bad_image=params.on_bad_image)
    names = {path: name for path, name in zip(inputs.images, params.names)}
    kept = [names[p] for p in verdicts["item"]]
    regions["item"] = [names[p] for p in regions["item"]]
    rejected = {"item": [names[p] for p in rejected["item"]] + [n for n, _ in refused],
                "reason": list(rejected["reason"]) + [why for _, why in refused]}
    answer_columns = [k for k in verdicts if k not in ("item", "reference")]
    verdicts = {"item": kept, "group": [params.groups[n] for n in kept],
                **{k: verdicts[k] for k in answer_columns},
                "reference": list(verdicts["reference"])}
    flags = list(verdicts.get("flag", []))
    if not kept:  # the answer's columns, no row (an empty day, every image rejected)
        verdicts = {"item": [], "group": [], "predicted": [], "score": [], "flag": [],
                    "method": [], "reference": []}
    write_columns(outputs.regions, regions)
    write_columns(outputs.rejected, rejected, bom=True)
    draw.answer_plot(verdicts, ref.settings["false_alarm"], ref.settings["order"],
                     outputs.answer)
    write_columns(outputs.verdicts, verdicts, bom=True)
    soart_reference.write_record(outputs.record, batch=params.batch, reference=ref,
                                 images=len(kept), flagged=flags.count("abnormal"),
                                 rejected=len(rejected["item"]),
                                 on_bad_image=params.on_bad_image, code=params.code)
    LOG.info(f"batch {params.batch}: {len(kept)} image(s) scored against reference "
             f"{ref.id}, {flags.count('abnormal')} flagged, {len(rejected['item'])} "
             f"rejected")


def drift(inputs, outputs, params):
    """results/batches/drift.csv and drift.png: each batch's flag rate on a p-chart
    around the false-alarm rate of the reference that scored it (its record)."""
    from . import figures as draw, reference as soart_reference

    records = {name: soart_reference.read_record(path)
               for name, path in zip(params.batches, inputs.records)}
    rows = soart_reference.drift(params.batches, records)
    write_columns(outputs.drift, rows, bom=True)
    draw.p_chart(rows, outputs.plot)
    for name, n, drifting in zip(rows["batch"], rows["images"], rows["drifting"]):
        if drifting:
            LOG.warning(f"batch {name}: its flag rate leaves the p-chart's control limits "
                        f"(drift.csv): the line or the reference has changed")
        if not n:
            LOG.warning(f"batch {name}: no image scored (an empty folder, or every image "
                        f"rejected: rejected.csv)")
