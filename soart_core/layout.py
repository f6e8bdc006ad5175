"""Where every stage writes, under a results folder: one layout for a plain run
(`results/`) and for each instance of a sweep (`results/sweeps/{sweep}/{instance}/`)."""

import os
from types import SimpleNamespace

ROLES = ("query", "key", "value")
UNLABELED = ""  # the group of an item whose answer is not known: an empty cell
# the text columns of the block and verdict tables (the rest are numbers)
BLOCK_TEXT = ("item_group", "judge_group")
VERDICT_TEXT = ("item", "group", "predicted", "flag")
FIGURES = ("attention", "difference", "blocks", "verdicts")


def stage_files(root, stage, metrics, words):
    """The files stage `stage` writes under `root`, by output name (lists per metric)."""
    def each(pattern, over):
        return [os.path.join(root, pattern.format(m)) for m in over]

    files = {
        "normalise": dict(learn=each("normalise/{}_learn.csv", metrics),
                          valid=each("normalise/{}_valid.csv", metrics),
                          range=os.path.join(root, "normalise/range.csv"),
                          judge_groups=os.path.join(root, "normalise/judges.csv"),
                          item_groups=os.path.join(root, "normalise/items.csv")),
        "threshold": dict(learn=each("threshold/{}_learn.csv", metrics),
                          valid=each("threshold/{}_valid.csv", metrics)),
        "classic": dict(evaluation=each("classic/{}.csv", words),
                        confusion=each("classic/{}_confusion.csv", words)),
        "weights": dict(weights=each("weights/{}.csv", ROLES)),
        "attention": dict(attention=each("attention/{}.csv", words)),
        "difference": dict(difference=each("difference/{}.csv", words),
                           baseline=each("difference/{}_baseline.csv", words)),
        "blocks": dict(blocks=each("blocks/{}.csv", words)),
        "verdicts": dict(verdicts=each("verdicts/{}.csv", words),
                         thresholds=os.path.join(root, "verdicts/thresholds.csv"),
                         summary=os.path.join(root, "verdicts/summary.csv"),
                         calibration=os.path.join(root, "verdicts/calibration.csv")),
        "evaluate": dict(evaluation=each("evaluation/{}.csv", words),
                         confusion=each("evaluation/{}_confusion.csv", words),
                         summary=os.path.join(root, "evaluation/summary.csv"),
                         health=os.path.join(root, "evaluation/health.csv")),
        "figures": {kind: each("figures/{}_" + kind + ".png", words) for kind in FIGURES},
        "workbook": dict(workbook=os.path.join(root, "workbook.xlsx")),
    }[stage]
    return SimpleNamespace(**files)


def pick(files, metrics, words):
    """The entries of per-metric lists `files` that belong to `words`, in words order."""
    return [files[metrics.index(w)] for w in words]


def run_files(stage, run):
    """({input name: files}, {output name: files}) of `stage` in `run` (a
    soart_core.sweep.Run): outputs in its folder, inputs from the folders of the stages
    it reads (settings.STAGES), or, for normalise, the metric tables."""
    from .settings import STAGES, input_paths, words as words_of

    metrics, words = list(run.config["metrics"]), words_of(run.config)
    if stage == "normalise":
        tables = input_paths(run.config)
        inputs = {kind: [tables[m][kind] for m in metrics] for kind in ("learn", "valid")}
    else:
        inputs = {}
        for name, (before, output, *only_words) in STAGES[stage].inputs.items():
            files = getattr(stage_files(run.upstream[before], before, metrics, words), output)
            inputs[name] = pick(files, metrics, words) if only_words else files
    return inputs, vars(stage_files(run.folder, stage, metrics, words))
