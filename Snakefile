# soart: the seed's attention analysis of SOART metrics as a Snakemake workflow.
# Stages (SPEC.md): normalise -> threshold -> weights -> attention -> difference -> blocks.
import os
import sys

from snakemake.utils import min_version, validate

# soart_core lives beside this file: importable here and, as Snakemake hands its own
# sys.path to every script, in every job too, with or without `pip install -e .`
sys.path.insert(0, workflow.basedir)

from soart_core.settings import check_config

min_version("9.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml", set_default=True)
check_config(config)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


localrules:
    all,


rule all:
    input:
        expand("results/blocks/{metric}.csv", metric=WORDS),
        "results/evaluation/summary.csv",
        expand("results/figures/{metric}_{kind}.png", metric=WORDS,
               kind=["attention", "difference", "blocks"]),


include: "workflow/rules/metrics.smk"
include: "workflow/rules/stages.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/sweeps.smk"
