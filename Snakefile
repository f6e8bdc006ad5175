# soart: the seed's attention analysis of SOART metrics as a Snakemake workflow.
# Stages (docs/method.md): normalise -> threshold -> weights -> attention -> difference -> blocks.
import os
import sys

from snakemake.utils import min_version, validate

# soart's folder: this file's, also when another workflow uses soart as a module
SOART = str(workflow.current_basedir)
# soart_core lives beside this file: importable here and, as Snakemake hands its own
# sys.path to every script, in every job too, with or without `pip install -e .`
sys.path.insert(0, SOART)

from soart_core.closing import made_or_checked, say_where_the_answer_is
from soart_core.errors import one_line_errors
from soart_core.report import write_reports_atomically
from soart_core.script import killed_run_lock
from soart_core.settings import (CONFIG_IN_FORCE, SCHEMA, command_line, config_in_force,
                                 prepare_config)
from soart_core.tables import write_text

min_version("9.0")


# soart's config.yaml, wherever Snakemake runs (a user's --configfile goes over it)
configfile: os.path.join(SOART, "config.yaml")


# what the command line set: --config values, --configfile paths
OVERRIDES, CONFIGFILES = command_line(workflow)

with one_line_errors():
    prepare_config(config, SOART, OVERRIDES, CONFIGFILES,
                   set_defaults=lambda c: validate(c, os.path.join(SOART, SCHEMA),
                                                   set_default=True))


if workflow.is_main_process and "--unlock" not in sys.argv:
    # a killed run's lock: say first what to do (Snakemake's LockException follows)
    if lock := killed_run_lock():
        print(lock, file=sys.stderr)


onstart:
    # the config this run uses, defaults and all (not in a dry run)
    with one_line_errors():  # a read-only or full results/: one line
        write_text(CONFIG_IN_FORCE, config_in_force(config, CONFIGFILES, OVERRIDES))


onsuccess:
    # the last lines: the answer's file and how many images it flags, each batch's too
    say_where_the_answer_is(batches=BATCHES, targets=made_or_checked(workflow))


report: "workflow/report/workflow.rst"


# `--report`: written whole into a scratch file, then renamed into place
write_reports_atomically(workflow)


include: "workflow/rules/common.smk"


localrules:
    all,


rule all:
    input:
        # each stage's `targets` (soart_core.pipeline): the blocks, the verdicts'
        # summary, the evaluation's, the figures and the workbook
        targets(config),
        # the line's batches, when batches_dir names them (workflow/rules/batches.smk)
        BATCH_TARGETS,


include: "workflow/rules/metrics.smk"
include: "workflow/rules/stages.smk"
include: "workflow/rules/sweeps.smk"


if BATCH_TARGETS:

    include: "workflow/rules/batches.smk"
