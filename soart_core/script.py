"""What every workflow script shares: its log, and one clear line for bad input."""

import inspect
import logging
import os
import sys
import time
from types import SimpleNamespace

from .errors import InputError


class _Tee:
    """A stream that writes to the console and to the rule's log."""

    def __init__(self, stream, log):
        self.stream, self.log = stream, log

    def write(self, text):
        self.log.write(text)
        self.log.flush()
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def run_stage(snakemake, job=None):
    """Run `job` (default: soart_core.jobs.<params.stage, or the rule's name>) for the
    job's runs (params.runs: a
    run folder each, with its inputs, outputs and params; the plain run has one), or on
    the job's own input, output and params where there are no runs; log its time; turn
    an InputError into one message and exit 1.

    Everything the job prints, tracebacks included, reaches the rule's log too. BLAS
    and the attention use exactly the job's `threads`. Takes the `snakemake` object of
    a `script:` job by duck typing (no Snakemake import).
    """
    from threadpoolctl import threadpool_limits

    if job is None:
        from . import jobs

        job = jobs.JOBS[getattr(snakemake.params, "stage", snakemake.rule)]
    threads = int(getattr(snakemake, "threads", 1) or 1)
    log = logging.getLogger("soart")  # jobs log their progress here
    log.setLevel(logging.INFO)
    handlers, streams = [], (sys.stdout, sys.stderr)
    stream = None
    if len(snakemake.log):
        stream = open(snakemake.log[0], "w", encoding="utf-8")
        sys.stdout, sys.stderr = _Tee(sys.stdout, stream), _Tee(sys.stderr, stream)
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        handlers.append(handler)
    # warnings (a degenerate setting, a group with no rows) on the console too, named
    # by the run folder where a job runs several
    current = {"where": ""}

    def warning(record):
        record.where = current["where"]
        return record.levelno == logging.WARNING  # errors: below

    console = logging.StreamHandler(streams[1])
    console.addFilter(warning)
    console.setFormatter(logging.Formatter(f"soart: warning in rule {snakemake.rule}"
                                           f"%(where)s: %(message)s"))
    handlers.append(console)
    for handler in handlers:
        log.addHandler(handler)
    runs = getattr(snakemake.params, "runs", None)
    calls = ([(None, snakemake.input, snakemake.output, snakemake.params)] if runs is None
             else [(run["folder"], SimpleNamespace(**run["inputs"]),
                    SimpleNamespace(**run["outputs"]), SimpleNamespace(**run["params"]))
                   for run in runs])
    extra = {"threads": threads} if "threads" in inspect.signature(job).parameters else {}
    started = time.perf_counter()
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            for folder, inputs, outputs, params in calls:
                current["where"] = f" ({folder})" if len(calls) > 1 else ""
                job(inputs, outputs, params, **extra)
                if len(calls) > 1:
                    log.info(f"rule {snakemake.rule}: {folder} done")
    except InputError as err:
        message = f"soart: error in rule {snakemake.rule}: {err}"
        log.error(message)  # the log only: the console gets it once, below
        print(message, file=streams[1])
        sys.exit(1)
    except Exception:  # a bug: its traceback in the rule's log too, not only on screen
        log.exception(f"rule {snakemake.rule} failed")
        raise
    else:
        where = (f" as slurm job {os.environ['SLURM_JOB_ID']}"
                 if "SLURM_JOB_ID" in os.environ else "")
        log.info(f"rule {snakemake.rule}: {len(calls)} run(s), {len(snakemake.output)} "
                 f"output(s) in {time.perf_counter() - started:.3f} s on {threads} "
                 f"thread(s){where}")
    finally:
        for handler in handlers:  # a caller that runs several jobs gets clean logs
            log.removeHandler(handler)
            handler.close()
        sys.stdout, sys.stderr = streams
        if stream is not None:
            stream.close()
