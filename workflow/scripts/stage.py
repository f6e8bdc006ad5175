"""Every rule's script: run soart_core.jobs.<rule name> on the job's files and params."""
import sys

try:
    from soart_core.script import run_stage

    run_stage(snakemake)  # noqa: F821 (injected by Snakemake)
except KeyboardInterrupt:  # Ctrl-C before run_stage takes it over (while importing)
    print("soart: interrupted while a job started; the same command resumes the run",
          file=sys.stderr)
    sys.exit(130)
