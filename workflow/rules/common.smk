# Names derived from the config, shared by the rule files.
import functools
import re

from soart_core.errors import one_line_errors
from soart_core.images import find_batches
from soart_core.pipeline import (REGIONS_GEOMETRY, STAGES, attention_parts, is_folder, job_code,
                                 job_params, output_folders, plain_run, run_files, targets)
from soart_core.provenance import files_stamp
from soart_core.reference import refuse_rescoring
from soart_core.settings import forced_rules
from soart_core.settings import check_schema, input_paths, load_schema, source_of, words
from soart_core.sweep import check_grids, instances, job_runs, swept_stages

METRICS = list(config["metrics"])
WORDS = words(config)

INPUTS = input_paths(config)

# the line's batches ({batch: [(path, group)]}; workflow/rules/batches.smk), and what
# `rule all` asks of them
BATCHES, BATCH_TARGETS = {}, []
if config["images_dir"] and config["batches_dir"]:
    with one_line_errors():
        BATCHES = find_batches(config["batches_dir"], config["groups"]["order"])
    BATCH_TARGETS = (["results/reference/reference.json"]
                     + [f"results/batches/{b}/verdicts.csv" for b in BATCHES]
                     + ["results/batches/drift.csv"])
# each rule's `code`: job_code(SOART, stage), the digest of the code its stage runs
# (soart_core.provenance)
SWEEP_SCHEMA = load_schema(SOART)


SWEEPS_ORIGIN = source_of(["sweeps"], OVERRIDES, CONFIGFILES)
# each sweep's grid, checked (cheap); its instances only when a target asks for the
# sweep (sweep_instances): a large grid costs a plain run's plan nothing
with one_line_errors():
    SWEEPS = check_grids(config, lambda swept: check_schema(swept, SWEEP_SCHEMA,
                                                            source="a swept value"),
                         origin=SWEEPS_ORIGIN)


@functools.cache
def sweep_instances(sweep):
    """{name: Instance} of sweep `sweep`, made once, when a job of the sweep is planned
    (an error: the one line, and exit 1)."""
    with one_line_errors():
        return instances(config, sweep, origin=SWEEPS_ORIGIN)


def reported(stage, outputs, words):
    """A plain run's outputs, those its stage reports (pipeline.Report) wrapped in
    report(): one entry per words metric where an output has one file per metric."""
    done = {}
    for name, files in outputs.items():
        entry = STAGES[stage].report.get(name)
        if is_folder(stage, name):  # one figure per file inside (pipeline.is_folder)
            folder = directory(files)
            done[name] = folder if entry is None else report(  # fmt: skip
                folder, f"../report/{entry.caption}.rst", entry.category,
                entry.subcategory, labels=entry.labels, patterns=["{name}.png"])
            continue
        if entry is None:
            done[name] = files
            continue
        one = isinstance(files, str)
        entries = ([(files, entry.labels)] if one else
                   [(f, {"metric": m, **entry.labels}) for f, m in zip(files, words)])
        # (a line may not start with `report(`: Snakemake reads that as its keyword)
        wrapped = [report(f, f"../report/{entry.caption}.rst", entry.category,  # fmt: skip
                          entry.subcategory, labels=labels) for f, labels in entries]
        done[name] = wrapped[0] if one else wrapped
    return done


def identifier(text):
    """`text` as part of a rule name, which must be an identifier."""
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def job_name(stage, part):
    """A stage's job, or its part for one words metric (attention.job_per_metric)."""
    return stage if part is None else f"{stage}_{identifier(part[0])}"


def with_part(config, part):
    """The config of a job that runs only the words metrics `part` (None: all)."""
    return config if part is None else {**config, "words": part}


def valid_items():
    """The validation items (N), counted while planning: images or table lines (a
    missing table: 0, the normalise job names it)."""
    if config["images_dir"]:
        return sum(1 for _, set_name, _ in IMAGES if set_name == "valid")
    try:
        with open(INPUTS[WORDS[0]]["valid"], "rb") as table:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: table.read(1 << 20), b""))
    except OSError:
        return 0
    return max(lines - 1, 0)


def sweep_rule(sweep, job):
    """The name of sweep `sweep`'s rule for `job`."""
    return f"sweep_{identifier(sweep)}_{job}"


def sweep_inputs(sweep, stages, inputs):
    """A sweep job's inputs: the plain run's files it reads, and the manifests of the
    sweep's jobs of `stages` that write the others."""
    # each file once: the runs of a sweep share most of the plain run's files
    plain = {name: list(dict.fromkeys(f for f in files
                                      if not f.startswith(f"results/sweeps/{sweep}/")))
             for name, files in inputs.items()}
    manifests = [m for stage in stages for m in MANIFESTS.get((sweep, stage), [])]
    return {**{name: files for name, files in plain.items() if files},
            "manifests": manifests}


def merged(parts):
    """Named file lists of several runs, concatenated name by name."""
    names = {}
    for part in parts:
        for name, files in part.items():
            names.setdefault(name, []).extend([files] if isinstance(files, str) else files)
    return names


def sweep_parts(sweep, stage):
    """The jobs of `stage` in sweep `sweep`: the plain run's parts (attention per words
    metric), or one job where the sweep changes the metrics or the words."""
    if stage not in PARTS or any(path.split(".", 1)[0] in ("metrics", "words")
                                 for path in SWEEPS[sweep]):
        return [None]
    return PARTS[stage]


@functools.cache
def sweep_job(sweep, stage, part):
    """The runs of `stage`'s job for words metrics `part` (a tuple, None: all) in sweep
    `sweep` (soart_core.sweep.job_runs): made when Snakemake plans that job, not before."""
    return job_runs(sweep_instances(sweep), stage, part,
                    IMAGES if config["images_dir"] else ())


def sweep_job_inputs(sweep, stage, part):
    """A sweep job's inputs: the plain run's files its runs read, and the manifests of
    the sweep's jobs before it."""
    return sweep_inputs(sweep, STAGES[stage].after(),
                        merged(run["inputs"] for run in sweep_job(sweep, stage, part)))


def summary_inputs(sweep):
    """A sweep summary's inputs: its instances' evaluation summaries."""
    return sweep_inputs(sweep, ["evaluate"], {"summaries": [
        f"{i.folders['evaluate']}/evaluation/summary.csv"
        for i in sweep_instances(sweep).values()]})


def summary_instances(sweep):
    """A sweep summary's instances. params.yaml: not an output, so that a new instance
    reruns this job by its changed params (new outputs would have no provenance to
    compare)."""
    return [dict(name=i.name, values=i.values, folders=i.folders, config=i.config,
                 params=f"results/sweeps/{sweep}/{i.name}/params.yaml")
            for i in sweep_instances(sweep).values()]
