"""What every workflow script shares: its log, one clear line for bad input, and the
stamps by which a sweep's job keeps the runs it made before."""

import hashlib
import inspect
import json
import logging
import os
import signal
import sys
import threading
import time
from types import SimpleNamespace

from threadpoolctl import threadpool_limits

from . import jobs
from .errors import InputError
from .provenance import library_versions
from .tables import WRITING, NoSpace, write_atomic, write_text

WATCH_SECONDS = 1.0  # how often a job checks that its Snakemake run is still there


class _Tee:
    """A stream that writes to the console and to the rule's log."""

    def __init__(self, stream, log):
        self.stream, self.log = stream, log

    def write(self, text):
        try:
            self.log.write(text)
            self.log.flush()
        except OSError:  # a full disk: the console still gets it
            pass
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def _process(pid):
    """(start time, parent pid, whether it is a Snakemake process) of a live process,
    from /proc; None where it is gone (or a zombie: dead, not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stream:
            stat = stream.read()
        with open(f"/proc/{pid}/cmdline", "rb") as stream:
            argv = stream.read().split(b"\0")
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (name) ": state, ppid, ...
    if fields[0] in ("Z", "X"):
        return None
    # snakemake, /venv/bin/snakemake, python /venv/bin/snakemake, python -m snakemake
    ours = any(os.path.basename(arg) == b"snakemake" for arg in argv[:3])
    return fields[19], int(fields[1]), ours


def snakemake_ancestors():
    """(pid, start time) of this process's ancestors up to the outermost Snakemake
    process (none where /proc is missing, or no Snakemake process is an ancestor)."""
    chain, pid = [], os.getppid()
    while pid > 1 and (found := _process(pid)) is not None:
        start, parent, ours = found
        chain.append((pid, start, ours))
        pid = parent
    outermost = max((i for i, (_, _, ours) in enumerate(chain) if ours), default=-1)
    return [(pid, start) for pid, start, _ in chain[:outermost + 1]]


def stop_with_run(rule, ancestors):
    """A daemon thread that ends this job as soon as one of `ancestors` is gone (its
    Snakemake run was killed, e.g. `kill -9`): a job would otherwise run on, orphaned,
    and its temporary file would outlive it. The temporary files being written go."""
    def watch():
        while all((_process(pid) or (None,))[0] == start for pid, start in ancestors):
            time.sleep(WATCH_SECONDS)
        for tmp in list(WRITING):
            try:
                os.unlink(tmp)
            except OSError:
                pass
        logging.getLogger("soart").error(f"rule {rule}: stopped, its Snakemake run is gone")
        os._exit(1)

    if ancestors:
        threading.Thread(target=watch, name="soart-watch", daemon=True).start()


def killed_run_lock(folder="."):
    """The one command to run where a killed run left Snakemake's lock on `folder` and
    no Snakemake process on this machine works there (else None): Snakemake's own
    message (LockException) comes later and says more than the user needs."""
    locks = os.path.join(folder, ".snakemake", "locks")
    if not os.path.isdir(locks) or not os.listdir(locks):
        return None
    here = os.path.realpath(folder)
    ours = {os.getpid()} | {pid for pid, _ in snakemake_ancestors()}
    for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not name.isdigit() or int(name) in ours:
            continue
        try:
            if (os.path.realpath(f"/proc/{name}/cwd") == here
                    and (_process(int(name)) or (0, 0, False))[2]):
                return None  # a live run holds the lock
        except OSError:
            continue
    return ("soart: a killed run left this folder locked; if no other Snakemake run "
            "uses it (on any machine), run `snakemake --unlock`, then your command again")


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # a cluster's or Snakemake's SIGTERM: end as on Ctrl-C


def _digest(path):
    with open(path, "rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()


def _files(named):
    return [f for files in named.values() for f in ([files] if isinstance(files, str) else files)]


class Stamps:
    """What a run of a stage was made from (its params, the bytes of its inputs, the
    code the stage runs: soart_core.provenance, as for the plain run) and what it made (its outputs' bytes), in
    {run folder}/.stamps/{job}.json (a job: a stage, or one words metric's part of it,
    as its log is named): a sweep's job keeps a run whose stamp still holds, so adding
    values to a grid computes only the new runs."""

    def __init__(self, job, code):
        self.job, self.code = job, code

    def path(self, run):
        return os.path.join(run["folder"], ".stamps", f"{self.job}.json")

    def made_from(self, run):
        return {"code": self.code, "params": run["params"],
                "inputs": {f: _digest(f) for f in _files(run["inputs"])}}

    def kept(self, run, made_from):
        """What `run` made, if its stamp holds: made from the same (`made_from`), and
        its outputs still those bytes; else None."""
        try:
            with open(self.path(run), encoding="utf-8") as stream:
                stamp = json.load(stream)
            made = stamp["made"]
            if (stamp["made_from"] == json.loads(json.dumps(made_from))
                    and sorted(made) == sorted(_files(run["outputs"]))
                    and all(_digest(f) == d for f, d in made.items())):
                return made
        except (OSError, ValueError, KeyError):
            pass
        return None

    def write(self, run, made_from):
        """Stamp `run`; returns what it made ({output: digest})."""
        made = {f: _digest(f) for f in _files(run["outputs"])}
        write_text(self.path(run), json.dumps({"made_from": made_from, "made": made},
                                              indent=1))
        return made

    @staticmethod
    def same_as(run, made_from, earlier):
        """An earlier run of this job (`earlier`: by what it was made from) with the
        same params and input bytes, their paths aside, or None; remembers `run`."""
        key = json.dumps([made_from["params"], list(made_from["inputs"].values())],
                         sort_keys=True)
        if key in earlier:
            return earlier[key]
        earlier[key] = run
        return None

    def manifest(self, made, path):
        """The job's declared output: what each of its runs made ({folder: made})."""
        write_text(path, json.dumps({"job": self.job, "runs": made}, indent=1))


RAN = "soart modules run:"  # the log line that lists them (ran_modules)


def ran_modules():
    """The soart_core modules this process has imported, by name as code digests name
    them (`__init__`: the package; `detectors.mt`: a module of its package
    detectors), sorted."""
    package = __name__.rpartition(".")[0]
    return sorted("__init__" if name == package else name[len(package) + 1:]
                  for name in sys.modules
                  if name == package or name.startswith(package + "."))


def run_stage(snakemake, job=None, watch=True):
    """Run `job` (default: soart_core.jobs.<params.stage, or the rule's name>) on the
    rule's own input, output and params (a plain run's rule), or for each of a sweep's
    runs (params.runs: a run folder each, with its inputs, outputs and params); log its
    time; turn an InputError into one message and exit 1. A sweep's job
    (params.reuse) keeps runs whose stamps hold, copies runs made from the same input
    bytes and params as an earlier one, and writes its manifest.

    Everything the job prints, tracebacks included, reaches the rule's log too. With
    `watch`, the job ends when its Snakemake run is killed (stop_with_run). Ctrl-C,
    SIGTERM and a full disk end it with one line. BLAS
    and the attention use exactly the job's `threads`. Takes the `snakemake` object of
    a `script:` job by duck typing (no Snakemake import).
    """
    if job is None:
        job = getattr(jobs, getattr(snakemake.params, "stage", snakemake.rule))
    threads = int(getattr(snakemake, "threads", 1) or 1)
    log = logging.getLogger("soart")  # jobs log their progress here
    log.setLevel(logging.INFO)
    # a log line that cannot be written (a full disk) is lost, not printed as a traceback
    raise_before, logging.raiseExceptions = logging.raiseExceptions, False
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
    stamps = None
    if getattr(snakemake.params, "reuse", False):
        stamps = Stamps(os.path.splitext(os.path.basename(snakemake.log[0]))[0]
                        if len(snakemake.log) else snakemake.params.stage,
                        snakemake.params.code)
    extra = {"threads": threads} if "threads" in inspect.signature(job).parameters else {}
    started, kept, copied = time.perf_counter(), 0, 0
    if watch:
        stop_with_run(snakemake.rule, snakemake_ancestors())
    on_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        # what really ran it, here (a cluster node, a conda environment)
        log.info(f"rule {snakemake.rule}: Python {sys.version.split()[0]}, "
                 + ", ".join(f"{k} {v}" for k, v in library_versions().items()))
        with threadpool_limits(limits=threads, user_api="blas"):
            if runs is None:
                job(snakemake.input, snakemake.output, snakemake.params, **extra)
            earlier, made = {}, {}  # runs computed here, by their inputs; what each made
            for run in runs or ():
                current["where"] = f" ({run['folder']})" if len(runs) > 1 else ""
                made_from = stamps.made_from(run) if stamps else None
                if stamps and (kept_made := stamps.kept(run, made_from)) is not None:
                    kept += 1
                    made[run["folder"]] = kept_made
                    log.info(f"rule {snakemake.rule}: {run['folder']} kept (unchanged)")
                    continue
                same = stamps.same_as(run, made_from, earlier) if stamps else None
                if same:  # same params, same input bytes: the same outputs
                    copied += 1
                    for source, target in zip(_files(same["outputs"]), _files(run["outputs"])):
                        with open(source, "rb") as stream:
                            content = stream.read()
                        write_atomic(target, lambda out: out.write(content), binary=True)
                else:
                    job(SimpleNamespace(**run["inputs"]), SimpleNamespace(**run["outputs"]),
                        SimpleNamespace(**run["params"]), **extra)
                if stamps:
                    made[run["folder"]] = stamps.write(run, made_from)
                if len(runs) > 1:
                    log.info(f"rule {snakemake.rule}: {run['folder']} " + (
                        f"copied from {same['folder']} (same inputs)" if same else "done"))
            if stamps:  # a sweep's job: its one declared output
                stamps.manifest(made, snakemake.output.manifest)
    except (InputError, NoSpace) as err:
        message = f"soart: error in rule {snakemake.rule}: {err}"
        if isinstance(err, NoSpace):
            message += "; free some space, then run the same command again"
        log.error(message)  # the log only: the console gets it once, below
        print(message, file=streams[1])
        sys.exit(1)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM: nothing half-written stays
        message = (f"soart: interrupted (rule {snakemake.rule}); the same command "
                   f"resumes the run")
        log.error(message)
        print(message, file=streams[1])
        sys.exit(130)
    except Exception:  # a bug: its traceback in the rule's log too, not only on screen
        log.exception(f"rule {snakemake.rule} failed")
        raise
    else:
        where = (f" as slurm job {os.environ['SLURM_JOB_ID']}"
                 if "SLURM_JOB_ID" in os.environ else "")
        done = len(runs or [None]) - kept - copied
        log.info(f"rule {snakemake.rule}: {done} run(s) computed, {copied} copied from a "
                 f"run with the same inputs, {kept} kept (unchanged), "
                 f"{len(snakemake.output)} output(s) in {time.perf_counter() - started:.3f} s "
                 f"on {threads} thread(s){where}")
        # the soart modules this job ran: within its stage's declared modules (tested)
        log.info(f"rule {snakemake.rule}: {RAN} " + " ".join(ran_modules()))
    finally:
        signal.signal(signal.SIGTERM, on_term)
        logging.raiseExceptions = raise_before
        for handler in handlers:  # a caller that runs several jobs gets clean logs
            log.removeHandler(handler)
            handler.close()
        sys.stdout, sys.stderr = streams
        if stream is not None:
            try:
                stream.close()
            except OSError:  # its last lines did not fit on a full disk
                pass
