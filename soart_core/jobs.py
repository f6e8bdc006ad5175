"""One function per workflow job: read the job's input files, run a stage, write its outputs.

Every function takes `(inputs, outputs, params)`: objects with named attributes, as
Snakemake's `snakemake.input`, `.output` and `.params` (or `types.SimpleNamespace` in
tests and sweeps). `workflow/scripts/stage.py` calls the function named as its rule.
Stages that run once per words metric take lists in `params.words` order. Only the
jobs that need pandas, scikit-learn or matplotlib import them: a job's imports cost
more than the work of most stages.
"""

import logging
import os

from . import pipeline
from .layout import BLOCK_TEXT, VERDICT_TEXT
from .tables import (read_columns, read_table, write_columns, write_rounded, write_table,
                     write_text)

THRESHOLD_TEXT = ("metric", "rule", "reference_distances", "unit_space")
LOG = logging.getLogger("soart")
KINDS = ("beta", "eta", "gamma")  # the order of soart_core.images.soart_metrics' results


def metrics(inputs, outputs, params):
    """Stage 0 (optional): the metric tables, in the seed's layout, from images:
    `inputs.images` with their [set, group] in `params.labels` (soart_core.images.
    find_images lists both)."""
    import numpy as np

    from .images import image_metrics

    images = [(path, set_name, group)
              for path, (set_name, group) in zip(inputs.images, params.labels)]
    rows, features = image_metrics(
        images, grayscale=params.grayscale, crop=params.crop, grid=params.grid,
        sn_ratio=params.sn_ratio, sn_max_db=params.sn_max_db,
        reference_group=params.reference_group, max_pixels=params.max_pixels, log=LOG.info)
    root = os.path.commonpath([os.path.dirname(path) for path, _, _ in images])
    for metric, learn_path, valid_path in zip(params.metrics, outputs.learn, outputs.valid):
        kind = 3 + KINDS.index(params.kinds[metric])
        for set_name, path in (("learn", learn_path), ("valid", valid_path)):
            chosen = [row for row in rows if row[1] == set_name]
            values = np.array([row[kind] for row in chosen])
            write_columns(path, {"image": [os.path.relpath(row[0], root) for row in chosen],
                                 **dict(zip(features, values.T)),
                                 params.group_column: [row[2] for row in chosen]})


def normalise(inputs, outputs, params):
    """Read and check every input table; scale each metric by its learning lo and hi."""
    from .inputs import load_inputs

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
    done = {m: pipeline.normalise_pair(learn, valid, params.scale)
            for m, (learn, valid) in tables.items()}  # every table checked before a write
    for m, (learn, valid) in tables.items():
        for warning in pipeline.implausible_values(learn, valid, done[m][2], done[m][3]):
            LOG.warning(warning)
    for m, learn_path, valid_path in zip(params.metrics, outputs.learn, outputs.valid):
        write_table(done[m][0], "judge", learn_path)
        write_table(done[m][1], "item", valid_path)
    write_columns(outputs.range, {"metric": list(done),
                                  "lo": [d[2] for d in done.values()],
                                  "hi": [d[3] for d in done.values()],
                                  "scale": [float(params.scale)] * len(done)})
    learn, valid, _, _ = done[params.metrics[0]]
    write_columns(outputs.judge_groups, {"judge": learn.names, "group": learn.groups})
    write_columns(outputs.item_groups, {"item": valid.names, "group": valid.groups})


def threshold(inputs, outputs, params):
    """x < cutoff -> 0, else x ** power; learning and validation tables apart."""
    todo = [(src, dst, "judge", params.learn, "threshold.learn", params.sources[m]["learn"])
            for m, src, dst in zip(params.metrics, inputs.learn, outputs.learn)]
    todo += [(src, dst, "item", params.valid, "threshold.valid", params.sources[m]["valid"])
             for m, src, dst in zip(params.metrics, inputs.valid, outputs.valid)]
    done = [(pipeline.threshold_table(read_table(src, key), s["cutoff"], s["power"], name,
                                      source), key, dst)
            for src, dst, key, s, name, source in todo]  # every table checked first
    for table, key, dst in done:
        write_table(table, key, dst)


def weights(inputs, outputs, params):
    """W_Q, W_K, W_V (features x judges) from the role metrics' learning tables."""
    learn = {m: read_table(path, "judge") for m, path in zip(params.metrics, inputs.learn)}
    built = pipeline.build_weights(learn, params.roles)
    for role, path in zip(pipeline.ROLES, outputs.weights):
        write_table(built[role], "feature", path)


def attention(inputs, outputs, params, threads=1):
    """The attention of each words metric's items over the judges, on `threads` cores."""
    w = {role: read_table(path, "feature") for role, path in zip(pipeline.ROLES, inputs.weights)}
    for metric, words_path, out_path in zip(params.words, inputs.words, outputs.attention):
        out = pipeline.attend(read_table(words_path, "item"), w, decimals=params.decimals,
                              chunk_rows=params.chunk_rows, dtype=params.dtype,
                              source=params.sources[metric]["valid"], workers=threads)
        write_table(out, "item", out_path, decimals=params.decimals)


def difference(inputs, outputs, params):
    """Subtract the per-judge baseline row from each attention table."""
    for src, diff_path, base_path in zip(inputs.attention, outputs.difference,
                                         outputs.baseline):
        diff, base = pipeline.baseline_difference(read_table(src, "item"), params.method,
                                                  params.group)
        write_table(diff, "item", diff_path)
        write_columns(base_path, {"judge": diff.columns, "baseline": base})


def blocks(inputs, outputs, params):
    """Sign agreement per (item group, judge group) block of each difference table."""
    judge_groups = read_columns(inputs.judge_groups, text=("judge", "group"))["group"]
    for src, dst in zip(inputs.difference, outputs.blocks):
        write_columns(dst, pipeline.score_blocks(read_table(src, "item"), judge_groups,
                                                 params.order, params.tolerance))


def classic(inputs, outputs, params):
    """The classic baselines (nearest centroid, LDA, MT on the metrics themselves) on
    each words metric's validation table, thresholded here by threshold.valid (so that
    they do not depend on threshold.learn)."""
    from .evaluation import classic as baselines, rows_to_columns

    s = params.valid
    for i, metric in enumerate(params.words):
        words = pipeline.threshold_table(read_table(inputs.valid[i], "item"), s["cutoff"],
                                         s["power"], "threshold.valid",
                                         params.sources[metric]["valid"])
        rows, confusion = baselines(metric, words, order=params.order,
                                    max_loo_items=params.max_loo_items,
                                    reference=params.unit_space, verdicts=params.verdicts)
        write_columns(outputs.evaluation[i], rows_to_columns(rows))
        write_columns(outputs.confusion[i], rows_to_columns(confusion))


def evaluate(inputs, outputs, params):
    """Leave-one-out classification figures and block contrast, per words metric, with
    the classic baselines' rows (job `classic`). The tables for people (per metric and
    the summary) show figures rounded; the confusion counts are exact."""
    from .evaluation import columns_to_rows, evaluate_metric, rows_to_columns

    summary = []
    for i, metric in enumerate(params.words):
        classic_rows = columns_to_rows(read_columns(
            inputs.classic_evaluation[i], text=("metric", "method", "warnings"),
            integers=("n",)))
        classic_confusion = columns_to_rows(read_columns(
            inputs.classic_confusion[i], text=("method", "true_group"),
            integers=[f"predicted_{g}" for g in params.order]))
        rows, confusion = evaluate_metric(
            metric, read_table(inputs.attention[i], "item"),
            read_table(inputs.difference[i], "item"),
            read_columns(inputs.blocks[i], text=BLOCK_TEXT),
            classic_rows, classic_confusion, order=params.order, reference=params.reference,
            verdict=read_columns(inputs.verdicts[i], text=VERDICT_TEXT),
            unit_space=params.unit_space)
        write_rounded(outputs.evaluation[i], rows_to_columns(rows))
        write_columns(outputs.confusion[i], rows_to_columns(confusion))
        summary += rows
    write_rounded(outputs.summary, rows_to_columns(summary))


def verdicts(inputs, outputs, params):
    """A verdict for every item, labeled or not, per words metric, and the metrics
    combined (soart_core.verdicts)."""
    from .errors import InputError
    from .verdicts import TooFewLabeled, combine, verdict_table

    judge_groups = read_columns(inputs.judge_groups, text=("judge", "group"))["group"]
    tables, thresholds = [], []
    for metric, path in zip(params.words, inputs.difference):
        difference = read_table(path, "item")
        try:
            columns, row = verdict_table(
                difference, judge_groups, order=params.order, reference=params.unit_space,
                tolerance=params.tolerance, **params.verdicts)
        except TooFewLabeled as err:
            raise InputError(difference.path, f"no verdicts: {err}") from None
        tables.append(columns)
        thresholds.append({"metric": metric, **row})
        if row["unit_space"].startswith("no spread"):
            LOG.warning(f"verdicts of {metric}: the reference items' rows do not vary "
                        f"(uniform attention?): distances are plain squared distances")
        LOG.info(f"verdicts of {metric}: threshold {row['threshold']:.6g}, "
                 f"{int((columns['flag'] == 'abnormal').sum())} of {len(columns['flag'])} "
                 f"items flagged abnormal")
    for columns, path in zip(tables, outputs.verdicts):
        write_columns(path, columns)
    write_columns(outputs.thresholds, {k: [t[k] for t in thresholds] for k in thresholds[0]})
    write_columns(outputs.summary, combine(params.words, tables, params.order))


def figures(inputs, outputs, params):
    """Heatmaps of attention and difference, and the grid of block sign scores; their
    titles name the words metric."""
    from . import figures as draw

    judge_groups = read_columns(inputs.judge_groups, text=("judge", "group"))["group"]
    for i, metric in enumerate(params.words):
        draw.heatmap(read_table(inputs.attention[i], "item"), judge_groups, params.order,
                     outputs.attention[i], diverging=False, metric=metric)
        draw.heatmap(read_table(inputs.difference[i], "item"), judge_groups, params.order,
                     outputs.difference[i], diverging=True, metric=metric)
        draw.block_grid(read_columns(inputs.blocks[i], text=BLOCK_TEXT), params.order,
                        outputs.blocks[i], metric=metric)
    thresholds = read_columns(inputs.thresholds, text=THRESHOLD_TEXT)
    for i, metric in enumerate(params.words):
        draw.verdict_plot(read_columns(inputs.verdicts[i], text=VERDICT_TEXT),
                          thresholds["threshold"][i], params.order, outputs.verdicts[i],
                          metric=metric)


def sweep_summary(inputs, outputs, params):
    """A sweep's instance folders get their params.yaml and links to the stage folders
    they share (so that each holds the plain layout); the instances are ranked by their
    evaluation figures (as their summaries show them, rounded) in a table and a plot
    per parameter."""
    import pandas as pd
    import yaml

    from . import figures as draw
    from .sweep import rank_instances

    summaries = []
    for instance, path in zip(params.instances, outputs.params):
        root = os.path.dirname(path)
        os.makedirs(root, exist_ok=True)
        for stage, folder in instance["folders"].items():
            if os.path.normpath(folder) == os.path.normpath(root):
                continue
            for name in _folders(stage):
                link = os.path.join(root, name)
                if os.path.islink(link):
                    os.remove(link)
                os.symlink(os.path.relpath(os.path.join(folder, name), root), link)
        write_text(path, yaml.safe_dump({"sweep": params.sweep, "instance": instance["name"],
                                         "swept": instance["values"],
                                         "config": instance["config"]}, sort_keys=False))
        summaries.append(pd.read_csv(os.path.join(instance["folders"]["evaluate"],
                                                  "evaluation", "summary.csv")))
    ranked = rank_instances([i["name"] for i in params.instances],
                            [i["values"] for i in params.instances], summaries,
                            params.rank_by, params.rank_method)
    # rank_instances rounded its figures; the swept values stay as they are
    write_rounded(outputs.summary, {c: ranked[c].to_numpy() for c in ranked.columns},
                  decimals=None)
    draw.sweep_plot(ranked, params.parameters, outputs.plot)


def _folders(stage):
    """The folder names stage `stage` writes in a run folder."""
    from .layout import stage_files

    files = vars(stage_files("", stage, ["m"], ["m"])).values()
    return sorted({(f if isinstance(f, str) else f[0]).split(os.sep)[0] for f in files})


def workbook(inputs, outputs, params):
    """The results as one Excel workbook (soart_core.workbook); the per-item verdicts
    where the rule names them."""
    from .workbook import package_versions, write_workbook

    versions = package_versions()
    write_workbook(outputs.workbook, words=params.words, attention=inputs.attention,
                   difference=inputs.difference, blocks=inputs.blocks,
                   summary=inputs.summary, judge_groups=inputs.judge_groups,
                   order=params.order, verdicts=getattr(inputs, "verdicts", None),
                   max_items=params.max_items, settings=params.settings, versions=versions)
    LOG.info(f"workbook: {len(params.words)} words metrics, up to {params.max_items} "
             f"items per sheet; made with " + ", ".join(f"{k} {v}" for k, v in
                                                      versions.items()))


JOBS = {job.__name__: job for job in (
    metrics, normalise, threshold, weights, attention, difference, blocks, verdicts, evaluate,
    classic, figures, sweep_summary, workbook)}
