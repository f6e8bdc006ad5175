"""The plain run of a scratch copy in this process: the Snakefile's config checks, then
the jobs of the stages asked for, each through `script.run_stage` as its rule runs it.

Tests that check what a stage makes of a table, or the one line a bad table gets, use
this (a second or less); Snakemake's own part (the command line, exit statuses,
reruns, locks, sweeps) keeps its end-to-end tests, which run `snakemake` itself."""

import contextlib
import io
import os
from types import SimpleNamespace

import yaml
from snakemake.cli import parse_config
from snakemake.utils import update_config, validate

from soart_core import pipeline, settings
from soart_core.errors import one_line_errors
from soart_core.images import find_images
from soart_core.provenance import code_digest
from soart_core.script import run_stage


class Named(SimpleNamespace):
    """A rule's named input, output or params: attributes, and a length as Snakemake's."""

    def __len__(self):
        return len(vars(self))


def job(stage, inputs, outputs, params):
    """The `snakemake` object a `script:` job of `stage` gets (its outputs' folders are
    made as it writes them)."""
    os.makedirs(os.path.join(pipeline.PLAIN, "logs"), exist_ok=True)
    return SimpleNamespace(input=Named(**inputs), output=Named(**outputs),
                           params=Named(stage=stage, code=code_digest(os.getcwd()), **params),
                           log=[os.path.join(pipeline.PLAIN, "logs", f"{stage}.log")],
                           rule=stage, threads=1)


def run(workdir, *targets, configfiles=(), config=(), check=True):
    """Run the plain run of `workdir` (tests/conftest.copy_workflow) with config.yaml,
    `configfiles` and `config` (key=value texts) up to the stages `targets` (default:
    every stage) in this process, as `snakemake --configfile ... --config ...` would.
    Returns its `returncode` (0, or 1 after one `soart: error` line) and what it
    printed on stderr as `stdout`, like conftest.snakemake; with `check`, a failure
    raises."""
    here, printed = os.getcwd(), io.StringIO()
    os.chdir(workdir)
    code = 0
    try:
        with contextlib.redirect_stderr(printed):
            try:
                _run(targets, [os.path.abspath(os.path.join(here, f)) for f in configfiles],
                     parse_config(config))
            except SystemExit as stop:
                code = stop.code
    finally:
        os.chdir(here)
    if check and code:
        raise AssertionError(f"in-process run failed:\n{printed.getvalue()}")
    return SimpleNamespace(returncode=code, stdout=printed.getvalue())


def _run(targets, configfiles, overrides):
    with one_line_errors():
        with open("config.yaml", encoding="utf-8") as stream:
            config = yaml.safe_load(stream)
        for path in configfiles:  # as Snakemake merges them, before the Snakefile runs
            with open(path, encoding="utf-8") as stream:
                update_config(config, yaml.safe_load(stream) or {})
        update_config(config, overrides)
        settings.prepare_config(config, ".", overrides, configfiles, set_defaults=lambda c: validate(
            c, settings.SCHEMA, set_default=True))
    wanted = set(targets or pipeline.STAGES)
    for stage in targets:
        wanted |= set(pipeline.upstream(stage))
    if config["images_dir"]:
        with one_line_errors():  # as metrics.smk lists them while planning
            images = find_images(config["images_dir"], config["groups"]["order"],
                                 config["encoding"])
        tables = settings.input_paths(config)
        run_stage(job("metrics", {"images": [path for path, _, _ in images]},
                      {"learn": [tables[m]["learn"] for m in config["metrics"]],
                       "valid": [tables[m]["valid"] for m in config["metrics"]],
                       "regions": pipeline.REGIONS_GEOMETRY},
                      {"labels": [[s, g] for _, s, g in images],
                       **pipeline.job_params(config, "metrics")}), watch=False)
    for stage, declared in pipeline.STAGES.items():
        if stage == "metrics" or stage not in wanted or not declared.runs(config):
            continue
        inputs, outputs = pipeline.run_files(stage, pipeline.plain_run(config, stage))
        params = pipeline.job_params(config, stage)
        if declared.images and config["images_dir"]:  # as stages.smk adds them
            inputs = {**inputs, "images": [path for path, _, _ in images]}
            if declared.images == "only":
                params = {"labels": [[s, g] for _, s, g in images], **params}
        run_stage(job(stage, inputs, outputs, params), watch=False)
