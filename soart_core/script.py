"""What every workflow script shares: its log, and one clear line for bad input."""

import sys
import time

from .errors import InputError


def run_stage(snakemake, job=None):
    """Run `job` (default: soart_core.jobs.<rule name>) on the job's input, output and
    params; log its time; turn an InputError into one message and exit 1.

    Takes the `snakemake` object of a `script:` job by duck typing (no Snakemake import).
    """
    if job is None:
        from . import jobs

        job = jobs.JOBS[snakemake.rule]
    log_path = snakemake.log[0] if len(snakemake.log) else None
    started = time.perf_counter()
    try:
        job(snakemake.input, snakemake.output, snakemake.params)
    except InputError as err:
        message = f"soart: error in rule {snakemake.rule}: {err}"
        print(message, file=sys.stderr)
        if log_path:
            with open(log_path, "w", encoding="utf-8") as log:
                log.write(message + "\n")
        sys.exit(1)
    if log_path:
        with open(log_path, "w", encoding="utf-8") as log:
            log.write(f"rule {snakemake.rule}: wrote {len(snakemake.output)} file(s) in "
                      f"{time.perf_counter() - started:.3f} s\n")
