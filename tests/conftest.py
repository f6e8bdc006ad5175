"""Shared fixtures: the repository root, and a runner for Snakemake in a scratch copy."""

import atexit
import contextlib
import fcntl
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
WORKFLOW_FILES = ["Snakefile", "config.yaml", "workflow", "profiles"]


def copy_workflow(dest, tables=True):
    """A scratch copy of the workflow (not of results/), so tests never touch the repo's.

    With `tables`, its config reads the example's metric tables from data_dir (as most
    tests edit them); otherwise it starts from the example's images, as shipped.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)
    shutil.copytree(ROOT / "resources" / "example", dest / "resources" / "example")
    if tables:
        config = dest / "config.yaml"
        text = config.read_text()
        assert "\nimages_dir: resources/example/images\n" in text
        config.write_text(text.replace("\nimages_dir: resources/example/images\n",
                                       "\nimages_dir: null\n"))
    return dest


# The files whose tests run Snakemake most (20-60 s each; the Slurm test, opted in,
# minutes), first: the workers take files in this order, another as one ends, and so
# end close together.
SLOWEST_FIRST = ["test_slurm.py", "test_never_stale.py", "test_sweeps.py", "test_sweep_best.py",
                 "test_documented.py",
                 "test_batches.py",
                 "test_report_tables.py", "test_report_browser.py", "test_images.py",
                 "test_module.py"]


# what starts Snakemake in a process of its own: a test that reaches one of these (or a
# function or fixture of its module that does) is marked `snakemake`, so that
# `pytest -m "not snakemake"` runs the quick in-process tests alone
STARTS_SNAKEMAKE = {"snakemake", "snakemake_process", "as_typed", "planned_jobs", "dry_run",
                    "shared_run", "example_run", "images_run"}


def _reaching_snakemake(module):
    """The names of `module`'s functions (fixtures too) that start Snakemake, with
    STARTS_SNAKEMAKE, found to a fixed point over their sources."""
    import inspect

    sources = {name: inspect.getsource(f) for name, f in vars(module).items()
               if inspect.isfunction(f) and getattr(f, "__module__", "") == module.__name__}
    reaching = set(STARTS_SNAKEMAKE)
    while True:
        more = {name for name, source in sources.items() if name not in reaching
                and any(f"{n}(" in source or f" {n}," in source or f"({n}" in source
                        for n in reaching)}
        if not more:
            return reaching
        reaching |= more


def pytest_configure(config):
    config.addinivalue_line("markers", "snakemake: starts Snakemake in a process of its own "
                                       "(deselect with -m 'not snakemake')")


def pytest_collection_modifyitems(items):
    import inspect

    reaching = {}
    for item in items:
        module = item.module
        if module not in reaching:
            reaching[module] = _reaching_snakemake(module)
        source = inspect.getsource(item.function)
        if (set(item.fixturenames) & reaching[module]
                or any(f"{n}(" in source for n in reaching[module])):
            item.add_marker(pytest.mark.snakemake)
    first = {name: rank for rank, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: first.get(item.path.name, len(first)))  # stable: in a
    # file, the tests keep their order


NO_SLURM_PREFIX = "soart-no-slurm-"


def _no_slurm_controller():
    """A folder with an `scontrol` that fails at once. Where Slurm's tools are installed
    but no controller runs (as after tests/test_slurm.py), the Slurm executor plugin
    asks `scontrol show config` whenever Snakemake is imported, and waits 10 s for its
    timeout: the tests but the Slurm test's put this one first on their PATH."""
    folder = Path(tempfile.mkdtemp(prefix=NO_SLURM_PREFIX))
    atexit.register(shutil.rmtree, folder, True)
    stub = folder / "scontrol"
    stub.write_text("#!/bin/sh\nexit 1\n")
    stub.chmod(0o755)
    return folder


# always: the Slurm test (opt-in) installs Slurm's tools while the other tests run
NO_SLURM = _no_slurm_controller()
# the Slurm test's: its tools as installed (a pytest-xdist worker inherits the PATH of
# the process that started it, with that one's folder first)
SLURM_PATH = os.pathsep.join(
    folder for folder in os.environ.get("PATH", "").split(os.pathsep)
    if not os.path.basename(folder).startswith(NO_SLURM_PREFIX))
# this process too: tests/in_process.py imports Snakemake and its plugins
os.environ["PATH"] = f"{NO_SLURM}{os.pathsep}{SLURM_PATH}"
# the environment of every Snakemake run of the tests but the Slurm test's own
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def snakemake(workdir, *args, check=True, timeout=600):
    """Run Snakemake in `workdir`; returns the CompletedProcess (stdout+stderr merged).
    A dry run (-n) runs in this process (dry_run), unless the scratch copy has a
    soart_core of its own to import."""
    if "-n" in args and not (Path(workdir) / "soart_core").exists():
        proc = dry_run(workdir, "--cores", "2", *args)
    else:
        proc = snakemake_process(workdir, "--cores", "2", *args, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}")
    return proc


def snakemake_process(workdir, *argv, timeout=600):
    """`snakemake *argv` in a process of its own, in `workdir` (stdout+stderr merged)."""
    return subprocess.run([*SNAKEMAKE, *argv], cwd=workdir, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, env=ENV)


def dry_run(workdir, *argv):
    """`snakemake *argv` (a dry run) by Snakemake's own command line in this process, in
    `workdir`: what it prints and its exit status, as a CompletedProcess. The same
    planning and messages as a subprocess, without the Python start and Snakemake's
    imports: 0.3 s instead of 2.6 (the jobs of a real run need their own processes)."""
    from snakemake import cli

    here, path, printed, code = os.getcwd(), list(sys.path), io.StringIO(), 0
    os.chdir(workdir)
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            try:
                cli.main(list(argv))
            except SystemExit as stop:
                if isinstance(stop.code, str):  # sys.exit(message), as Python prints it
                    printed.write(stop.code + "\n")
                code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    finally:
        os.chdir(here)
        sys.path[:] = path  # the Snakefile puts its folder first
    return subprocess.CompletedProcess([*SNAKEMAKE, *argv], code, printed.getvalue())


@pytest.fixture
def workflow_copy(tmp_path):
    return copy_workflow(tmp_path)


def shared_run(tmp_path_factory, name, tables):
    """A full run of a scratch copy, made once for the whole session: the first of the
    pytest-xdist workers that asks makes it, the others wait for it and share it. Tests
    only read it, or plan dry runs in it (a test that runs more: copied_run)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' common folder
    workdir, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(workdir, ignore_errors=True)  # a worker's failed attempt
            proc = snakemake(copy_workflow(workdir, tables=tables))
            # what the run printed, for the tests of its last lines
            (root / f"{name}.out").write_text(proc.stdout, encoding="utf-8")
            done.touch()
    return workdir


def run_output(run):
    """What a shared_run's Snakemake printed (stdout and stderr)."""
    return (run.parent / f"{run.name}.out").read_text(encoding="utf-8")


def copied_run(run, dest):
    """A copy of a shared run (its results and Snakemake's records, times kept) that a
    test may change."""
    shutil.copytree(run, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def example_run(tmp_path_factory):
    """One full run of the example's tables, read-only (shared_run)."""
    return shared_run(tmp_path_factory, "example", tables=True)


@pytest.fixture(scope="session")
def images_run(tmp_path_factory):
    """One full run of the shipped config (from the example's images), read-only."""
    return shared_run(tmp_path_factory, "images", tables=False)


def planned_jobs(workdir, *args):
    """{rule: count} of the jobs a dry run would execute (empty when nothing is to do)."""
    out = snakemake(workdir, *args, "-n", "--quiet", "rules").stdout
    jobs = {}
    if "Job stats:" in out:
        table = out.split("Job stats:", 1)[1].splitlines()[3:]
        for line in table:
            parts = line.split()
            if len(parts) != 2 or parts[0] == "total":
                break
            jobs[parts[0]] = int(parts[1])
    return jobs


def write_yaml(path, data):
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def read_csv_cells(path):
    """A CSV as (header, text cells, float cells or None per cell), for comparisons."""
    import csv

    with open(path, encoding="utf-8", newline="") as stream:
        header, *rows = list(csv.reader(stream))

    def number(cell):
        try:
            return float(cell)
        except ValueError:
            return None

    return header, rows, [[number(c) for c in row] for row in rows]


def assert_csv_close(ours, theirs, rtol=0.0, atol=0.0):
    """Two CSVs hold the same header, the same text cells and numbers equal to
    |a - b| <= atol + rtol * |b|: how results compare across machines, whose CPUs may
    round numpy's SIMD log10/exp differently in the last digit."""
    header, rows, numbers = read_csv_cells(ours)
    header_t, rows_t, numbers_t = read_csv_cells(theirs)
    assert header == header_t and len(rows) == len(rows_t)
    for line, (a, b, na, nb) in enumerate(zip(rows, rows_t, numbers, numbers_t), start=2):
        for cell_a, cell_b, x, y in zip(a, b, na, nb):
            if x is None or y is None:
                assert cell_a == cell_b, f"{ours}, line {line}: {cell_a} != {cell_b}"
            else:
                assert abs(x - y) <= atol + rtol * abs(y), \
                    f"{ours}, line {line}: {cell_a} != {cell_b}"
