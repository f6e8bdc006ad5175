"""What every workflow script shares: its log, and one clear line for bad input."""

import logging
import os
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
    log = logging.getLogger("soart")  # jobs log their progress here
    log.setLevel(logging.INFO)
    handlers = []
    if len(snakemake.log):
        handler = logging.FileHandler(snakemake.log[0], mode="w", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        handlers.append(handler)
    # warnings (a degenerate setting, a group with no rows) on the console too
    console = logging.StreamHandler(sys.stderr)
    console.addFilter(lambda record: record.levelno == logging.WARNING)  # errors: below
    console.setFormatter(logging.Formatter(f"soart: warning in rule {snakemake.rule}: "
                                           f"%(message)s"))
    handlers.append(console)
    for handler in handlers:
        log.addHandler(handler)
    started = time.perf_counter()
    try:
        job(snakemake.input, snakemake.output, snakemake.params)
    except InputError as err:
        message = f"soart: error in rule {snakemake.rule}: {err}"
        print(message, file=sys.stderr)
        log.error(message)
        sys.exit(1)
    except Exception:  # a bug: its traceback in the rule's log too, not only on screen
        log.exception(f"rule {snakemake.rule} failed")
        raise
    else:
        where = (f" as slurm job {os.environ['SLURM_JOB_ID']}"
                 if "SLURM_JOB_ID" in os.environ else "")
        log.info(f"rule {snakemake.rule}: wrote {len(snakemake.output)} output(s) in "
                 f"{time.perf_counter() - started:.3f} s{where}")
    finally:
        for handler in handlers:  # a caller that runs several jobs gets clean logs
            log.removeHandler(handler)
            handler.close()
