# soart: the seed's attention analysis of SOART metrics as a Snakemake workflow.
# Stages (SPEC.md): normalise -> threshold -> weights -> attention -> difference -> blocks.
from snakemake.utils import min_version, validate

from soart_core.settings import check_config

min_version("9.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml", set_default=True)
check_config(config)


include: "workflow/rules/common.smk"


rule all:
    input:
        expand("results/blocks/{metric}.csv", metric=WORDS),


include: "workflow/rules/stages.smk"
