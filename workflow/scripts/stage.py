"""Every rule's script: run soart_core.jobs.<rule name> on the job's files and params."""
from soart_core.script import run_stage

run_stage(snakemake)  # noqa: F821 (injected by Snakemake)
