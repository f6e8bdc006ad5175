"""Parameter sweeps: a grid over config values, run as instances that share stages.

A sweep maps config key paths (`threshold.learn.cutoff`, `roles.query`, ...) to lists
of values; every combination is an instance with a readable, stable name built from
its values (`cutoff~0.3_query~Y3`). The sweep's rules run the same stages as the
plain run's (workflow/rules/sweeps.smk). Each stage of an instance writes to a run
folder chosen by the swept values that stage reads (pipeline.STAGES declares them, for
the stage and the stages before it): none -> the plain run's `results/` (shared with
it), all of the instance's -> the instance's own folder, some ->
`results/sweeps/{sweep}/_shared/{those values}/`. Instances that agree on a stage's
values share its outputs; each instance folder links to the ones it read.
"""

import copy
import itertools
import json
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError, excerpt
from .evaluation import wilson
from .pipeline import PLAIN, STAGES, Run, job_params, run_files, upstream
from .settings import check_config, get_path, set_path

# never swept: the images found while planning, the sweeps themselves and their limit
UNSWEPT = ("images_dir", "sweeps", "max_sweep_instances", "batches_dir")
DEFAULT_KEY = "default"
SHARED = "_shared"  # a sweep's run folders that several instances read


class SweepError(ConfigError):
    def __init__(self, sweep, fault):
        super().__init__(f"sweeps.{sweep}", fault)


def format_value(value):
    """A value as it appears in a name: no float noise (0.30000000000000004 -> 0.3)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, ".12g")
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "-".join(format_value(v) for v in value)
    return str(value)


def _safe(text):
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-") or "x"


def short_names(paths):
    """Each key path's shortest dotted suffix that no other path ends with."""
    names = {}
    for path in paths:
        parts = path.split(".")
        for n in range(1, len(parts) + 1):
            suffix = ".".join(parts[-n:])
            if not any(other != path and (other == suffix or other.endswith("." + suffix))
                       for other in paths):
                names[path] = suffix
                break
    return names


def _overlaps(path, read):
    return read == "*" or path == read or path.startswith(read + ".") or \
        read.startswith(path + ".")


def depends(stage, path):
    """Does `stage` (or a stage before it) read the config value at key path `path`?"""
    return any(_overlaps(path, read) for s in upstream(stage) + (stage,)
               for read in STAGES[s].reads)


@dataclass
class Instance:
    sweep: str
    name: str
    values: dict  # key path -> value
    config: dict  # the full config of this instance
    folders: dict = field(default_factory=dict)  # stage -> run folder of its outputs


def _name(values, short):
    if not values:
        return DEFAULT_KEY
    return "_".join(f"{_safe(short[p])}~{_safe(format_value(v))}" for p, v in values.items())


def check_grids(config, validate, origin=None):
    """{sweep: grid} of config["sweeps"], each grid checked without making its
    instances (cheap: it runs on every Snakemake start, a sweep asked for or not): its
    name, its size against config["max_sweep_instances"], its key paths, and each
    swept value by `validate(config)` (the schema; its message prefixed with the
    sweep and the value). `origin`: the file the sweeps come from (instances())."""
    base = {k: v for k, v in config.items() if k != "sweeps"}
    limit = config.get("max_sweep_instances", 10000)
    grids = {}
    for sweep, grid in (config.get("sweeps") or {}).items():
        # the name is a folder in results/sweeps/: '..' or '.' would put the instances
        # beside the stages' folders
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", sweep) or sweep.startswith("_") or \
                not sweep.strip("."):
            raise SweepError(sweep, f"'{excerpt(sweep)}' cannot name a sweep (a folder "
                                    f"in {PLAIN}/sweeps/): a name holds letters, digits, "
                                    f"'_', '.', '-', starts with no '_' and is no '..'")
        size = math.prod(len(values) for values in grid.values())
        if size > limit:
            raise SweepError(sweep, f"{size:,} instances ("
                                    + " x ".join(str(len(v)) for v in grid.values())
                                    + f") exceed max_sweep_instances ({limit:,}); raise "
                                      f"that key or make the grid smaller")
        for path in grid:
            if path.split(".", 1)[0] in UNSWEPT:
                raise SweepError(sweep, f"'{path}' cannot be swept: the images are found "
                                        f"and the sweeps planned once for every run")
            try:
                get_path(base, path)
            except (KeyError, TypeError):
                raise SweepError(sweep, f"'{excerpt(path)}' is not a config key "
                                        f"path") from None
        for path, values in grid.items():
            for value in values:
                one = copy.deepcopy(base)
                set_path(one, path, value)
                try:
                    validate(one)
                except Exception as err:  # the schema's own message
                    raise SweepError(sweep, f"{path} = {excerpt(format_value(value))}"
                                            f": {err}") from None
        grids[sweep] = grid
    return grids


def _stages(config):
    """The stages a run with `config` has: those of the images only with images."""
    return [stage for stage in STAGES if STAGES[stage].swept and STAGES[stage].runs(config)]


def _reads(config, stage, grid):
    """The key paths of `grid` that `stage` (or a stage before it) reads; without
    images_dir no stage reads the image settings (no metrics stage makes tables)."""
    return [path for path in grid if depends(stage, path)
            and (config.get("images_dir") or path.split(".", 1)[0] != "images")]


def swept_stages(config, grid):
    """The stages that have runs of their own in a sweep over `grid` (the others read
    the plain run's outputs): those that read a swept key, or follow one that does.
    From the grid's keys alone, without its instances."""
    return [stage for stage in _stages(config) if _reads(config, stage, grid)]


def instances(config, sweep, origin=None):
    """{instance name: Instance} of sweep `sweep` (its grid checked by check_grids),
    each with its folder per stage; the cross-key checks (settings.check_config) once
    per instance. Made only when a target asks for the sweep: a large grid costs a
    plain run's plan nothing."""
    base = {k: v for k, v in config.items() if k != "sweeps"}
    grid = config["sweeps"][sweep]
    short = short_names(list(grid))
    stage_reads = {stage: _reads(config, stage, grid) for stage in _stages(config)}
    made = {}
    for combo in itertools.product(*grid.values()):
        values = dict(zip(grid, combo))
        instance_config = copy.deepcopy(base)
        for path, value in values.items():
            set_path(instance_config, path, value)
        name = _name(values, short)
        if name in made:
            raise SweepError(sweep, f"two instances are both named '{name}'; make "
                                    f"the values differ in their text")
        try:
            check_config(instance_config)
        except ConfigError as err:
            hint = ("; this sweep is config.yaml's: a configfile's own `sweeps:` "
                    "replaces them (`sweeps: {}` for none)"
                    if origin == "config.yaml" else "")
            raise SweepError(sweep, f"instance '{name}': {err}{hint}") from None
        folders = {}
        for stage, paths in stage_reads.items():
            own = {p: values[p] for p in paths}
            folders[stage] = (PLAIN if not own else
                              f"{PLAIN}/sweeps/{sweep}/{name}" if len(own) == len(values)
                              else f"{PLAIN}/sweeps/{sweep}/{SHARED}/{_name(own, short)}")
        made[name] = Instance(sweep, name, values, instance_config, folders)
    return made


def plan(config, validate, origin=None):
    """{sweep: {instance name: Instance}} for every sweep in config["sweeps"]
    (check_grids, then instances): a grid of more than config["max_sweep_instances"]
    instances stops before any is made."""
    return {sweep: instances(config, sweep, origin)
            for sweep in check_grids(config, validate, origin)}


def sweep_runs(instances, stage):
    """The runs of `stage` over a sweep's instances, once per run folder; none in the
    plain run's folder (the plain rule makes those)."""
    runs = {}
    for instance in instances.values():
        folder = instance.folders[stage]
        if folder != PLAIN and folder not in runs:
            # (an unswept stage's outputs: the plain run's)
            runs[folder] = Run(folder, instance.config,
                               {s: instance.folders.get(s, PLAIN)
                                for s in STAGES[stage].after()})
    return list(runs.values())


def job_runs(instances, stage, part=None, images=()):
    """The runs of a sweep's job of `stage` (for the words metrics `part`, None: all),
    once per run folder (sweep_runs): [{folder, inputs, outputs, params}], params the
    stage's (pipeline.job_params). The stages of the images read `images` (find_images':
    (path, set, group)), their labels in their params."""
    done = []
    for run in sweep_runs(instances, stage):
        config = run.config if part is None else {**run.config, "words": list(part)}
        inputs, outputs = run_files(stage, Run(run.folder, config, run.upstream))
        params = job_params(config, stage)
        if stage == "metrics":
            inputs = {"images": [path for path, _, _ in images]}
        elif STAGES[stage].images and images:  # as the plain run's rule adds them
            inputs = {**inputs, "images": [path for path, _, _ in images]}
        if STAGES[stage].images == "only":
            params["labels"] = [[set_name, group] for _, set_name, group in images]
        done.append(dict(folder=run.folder, inputs=inputs, outputs=outputs, params=params))
    return done


SWEEP_FILES = ("jobs", "logs", "benchmarks", "summary.csv", "summary.png")


def stale_folders(root, owned):
    """The folders under sweep folder `root` (its instances' and `_shared/` ones) that
    no folder in `owned` (the current grid's instance and run folders) is, or holds:
    left by grid values since removed."""
    keep = {os.path.normpath(folder) for folder in owned}
    found = []
    for parent in (root, os.path.join(root, SHARED)):
        if not os.path.isdir(parent):
            continue
        for name in sorted(os.listdir(parent)):
            path = os.path.normpath(os.path.join(parent, name))
            if parent == root and name in (*SWEEP_FILES, SHARED):
                continue
            if os.path.isdir(path) and not os.path.islink(path) and path not in keep:
                found.append(path)
    return found


# a summary figure -> its 95 % interval's columns in an evaluation summary
INTERVALS = ("balanced_accuracy", "roc_auc", "detection_rate", "false_alarm_rate")


def rank_instances(names, values, summaries, rank_by, method, decimals=4):
    """One row per instance: its swept values, then per words metric the figures of
    `method`, each with its 95 % interval where it has one (`_low`, `_high`: the
    evaluation's, and Wilson's for the accuracy), their means (a mean's interval is
    the mean of the metrics' bounds: as wide as if the metrics erred together), the
    classic LDA's for comparison, the chance levels of the accuracies (means over the
    metrics) and the instance's distinct warnings; figures rounded to `decimals`, as
    the instances' summaries show them. Ranked by mean `rank_by` as shown (the order
    the table's reader sees): equal figures share the lowest rank of their tie
    (`ties` counts the instances in it) and are listed by name; an instance without
    figures (NaN) last."""
    import pandas as pd  # (0.4 s to import: the summary job's only)

    # the detector's figures too (the answer's: nested where auto chose its detector)
    shown = list(dict.fromkeys(["accuracy", "balanced_accuracy", rank_by, "roc_auc",
                                "detection_rate", "false_alarm_rate", "block_contrast"]))
    rows = []
    for name, swept, summary in zip(names, values, summaries):
        # a list or mapping value (images.grid, metrics) as its JSON text: one cell
        row = {"instance": name, **{path: json.dumps(v) if isinstance(v, (list, dict))
                                    else v for path, v in swept.items()}}
        chosen = summary[summary["method"] == method]
        bounds = {"low": [], "high": []}
        for r in chosen.to_dict("records"):
            for figure in shown:
                value = r.get(figure, np.nan)
                row[f"{r['metric']}_{figure}"] = value
                if figure == "accuracy":
                    n = int(r.get("n", 0) or 0)
                    ci = (np.nan, np.nan) if np.isnan(value) else wilson(round(value * n), n)
                elif figure in INTERVALS:
                    ci = (r.get(f"{figure}_low", np.nan), r.get(f"{figure}_high", np.nan))
                else:
                    continue
                row[f"{r['metric']}_{figure}_low"], row[f"{r['metric']}_{figure}_high"] = ci
                if figure == rank_by:
                    bounds["low"].append(ci[0])
                    bounds["high"].append(ci[1])
        row[f"mean_{rank_by}"] = chosen[rank_by].mean() if rank_by in chosen else np.nan
        if bounds["low"]:
            row[f"mean_{rank_by}_low"] = float(np.mean(bounds["low"]))
            row[f"mean_{rank_by}_high"] = float(np.mean(bounds["high"]))
        if rank_by != "block_contrast":
            row["mean_block_contrast"] = chosen["block_contrast"].mean()
        lda = summary[summary["method"] == "metrics_lda"]
        row["mean_lda_balanced_accuracy"] = lda["balanced_accuracy"].mean()
        for chance in ("chance_accuracy", "chance_balanced_accuracy"):
            row[chance] = summary[chance].mean()
        row["warnings"] = "; ".join(dict.fromkeys(  # once each, named by its metric
            f"{m}: {w}" for m, text in zip(summary["metric"], summary["warnings"])
            if isinstance(text, str) and text for w in text.split("; ")))
        rows.append(row)
    frame = pd.DataFrame(rows)
    swept = {path for v in values for path in v}
    figures = [c for c in frame.columns if c not in {"instance", "warnings", *swept}]
    frame[figures] = frame[figures].astype(float).round(decimals) + 0.0  # + 0.0: no -0.0
    key = f"mean_{rank_by}"
    frame = frame.sort_values([key, "instance"], ascending=[False, True], kind="stable",
                              ignore_index=True, na_position="last")
    # competition ranking ("1, 1, 1, 4"): a tie is shown, never broken; NaN: last, tied
    rank = frame[key].rank(method="min", ascending=False, na_option="bottom")
    frame.insert(0, "rank", rank.astype(int))
    frame.insert(1, "ties", frame.groupby("rank")["rank"].transform("size").astype(int))
    return frame


def best_config(ranked, configs, sweep, rank_by, method):
    """best.yaml's text: the config of the instance ranked first (`ranked`:
    rank_instances' table; `configs`: {instance: its config}), ready to run as a plain
    config (`snakemake --cores 2 --configfile results/sweeps/{sweep}/best.yaml`: no
    sweeps of its own). A tie at the top is said in its header, never broken by
    more than the order the table lists it in (by name)."""
    import yaml

    top = ranked[ranked["rank"] == ranked["rank"].iloc[0]]
    name = str(top["instance"].iloc[0])
    figure = f"mean_{rank_by}"
    value = top[figure].iloc[0]
    shown = "no figure (NaN)" if value != value else f"{value:.4f}"
    interval = ""
    if f"{figure}_low" in top and top[f"{figure}_low"].iloc[0] == top[f"{figure}_low"].iloc[0]:
        interval = (f" [{top[f'{figure}_low'].iloc[0]:.4f}, "
                    f"{top[f'{figure}_high'].iloc[0]:.4f}]")
    header = [f"# The best instance of sweep {sweep}: {name}, ranked 1st by {rank_by} of "
              f"{method} ({shown}{interval}).",
              f"# Run it as a plain config: snakemake --cores 2 --configfile "
              f"{PLAIN}/sweeps/{sweep}/best.yaml"]
    if len(top) > 1:
        others = [str(n) for n in top["instance"].iloc[1:]]
        header.append(f"# A tie: {len(others)} other instance(s) share rank 1 "
                      f"(the first by name is written): " + ", ".join(others))
    config = {k: v for k, v in configs[name].items() if k != "sweeps"}
    config["sweeps"] = {}
    return "\n".join(header) + "\n" + yaml.safe_dump(config, sort_keys=False,
                                                      allow_unicode=True)


def ranking_text(summary, rank_by):
    """docs/sweeps.md's ranking of a sweep (`summary`: its summary.csv as a DataFrame)
    as a Markdown table: rank, ties, instance, mean `rank_by` with its 95 % interval,
    the instances' figures as summary.csv shows them (4 decimals)."""
    figure = f"mean_{rank_by}"

    def shown(value):
        return "n/a" if value != value else f"{value:.4f}"

    lines = [f"| rank | ties | instance | {rank_by} | 95 % interval |",
             "|---:|---:|---|---:|---|"]
    for row in summary.to_dict("records"):
        interval = (f"[{shown(row[figure + '_low'])}, {shown(row[figure + '_high'])}]"
                    if figure + "_low" in row else "")
        lines.append(f"| {row['rank']} | {row['ties']} | {row['instance']} | "
                     f"{shown(row[figure])} | {interval} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    # python -m soart_core.sweep results/sweeps/example/summary.csv [rank_by]:
    # the ranking as docs/sweeps.md quotes it
    import sys

    import pandas as pd

    sys.stdout.write(ranking_text(pd.read_csv(sys.argv[1], encoding="utf-8-sig"),
                                  sys.argv[2] if len(sys.argv) > 2 else "roc_auc"))
