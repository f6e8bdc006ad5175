"""Every command that README.md, docs/*.md and config.yaml's comments show a user is
run here as typed (placeholders such as /path/to/tables replaced by real folders), so
that a documented command cannot silently break."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import pytest

import in_process
from conftest import ENV, ROOT, copy_workflow, planned_jobs, snakemake, snakemake_process

PLACEHOLDERS = ("/path/to/images", "/path/to/tables", "my.yaml")
DOCUMENTS = ["README.md", *sorted(p.relative_to(ROOT).as_posix()
                                  for p in (ROOT / "docs").glob("*.md"))]


def shell_blocks(path="README.md"):
    """The text of a Markdown file's fenced blocks without a language (```yaml ones are
    config)."""
    blocks, current = [], None
    for line in (ROOT / path).read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if current is None:
                current = [] if line == "```" else ["(not a shell block)"]
            else:
                if current[:1] != ["(not a shell block)"]:
                    blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def documented_commands(documents=DOCUMENTS):
    """Every command line in the fenced blocks of README and docs/, and in config.yaml's
    comments."""
    lines = [line for path in documents for block in shell_blocks(path)
             for line in block.splitlines()]
    lines += [line.lstrip("# ").strip() for line in
              (ROOT / "config.yaml").read_text(encoding="utf-8").splitlines()
              if re.match(r"#\s+(snakemake|python)", line)]
    return [line.strip() for line in lines
            if re.match(r"(snakemake|python|SOART_|mv )", line.strip())]


def test_the_docs_are_read():
    """README and each doc with commands count: a command moved from one to another
    stays tested."""
    assert {"README.md", "docs/configuration.md", "docs/sweeps.md", "docs/cluster.md",
            "docs/running.md", "docs/data.md", "docs/results.md"} <= set(DOCUMENTS)
    for path in ("README.md", "docs/sweeps.md", "docs/cluster.md", "docs/running.md"):
        assert documented_commands([path]), path


# command -> where a test runs it as typed. A new command in README, docs/ or config.yaml
# fails test_every_documented_command_is_tested until it gets a test here.
TESTED = {
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && snakemake --cores 2":
        "test_readme.py (the setup) and conftest.images_run (the run)",
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest -q":
        ".ci/run runs it, test_readme.py checks it is the same",
    "SOART_TEST_SLURM=1 pytest -q tests/test_slurm.py": "test_slurm.py (opt-in)",
    "SOART_TEST_BROWSER=1 pytest -q tests/test_report_browser.py":
        "test_report_browser.py (opt-in)",
    "SOART_TEST_LIBREOFFICE=1 pytest -q tests/test_workbook.py":
        "test_workbook.py test_libreoffice_opens_it (opt-in)",
    "snakemake --cores 2 --config images_dir=/path/to/images": "test_own_images",
    "snakemake --cores 2 --config images_dir=null data_dir=/path/to/tables":
        "test_own_tables_as_typed",
    "snakemake --cores 2 --config data_dir=/path/to/tables": "test_data_dir_alone",
    "snakemake --cores 2 --configfile my.yaml": "test_own_configfile",
    "snakemake --unlock": "test_recovering_a_killed_run",
    "snakemake --cores 2": "test_recovering_a_killed_run",
    "snakemake --cores 2 sweep": "test_sweep_best.py shipped_sweep (as shipped), "
                                 "test_sweeps.py sweep_run (another grid)",
    "snakemake --cores 2 --configfile results/sweeps/example/best.yaml":
        "test_sweep_best.py test_best_yaml_reproduces_the_best_instance",
    "python -m soart_core.sweep results/sweeps/example/summary.csv":
        "test_sweep_best.py test_the_docs_ranking_is_the_commands_output",
    "python benchmarks/plan_speed.py > benchmarks/results/plan_speed.txt":
        "by hand (benchmark)",
    "snakemake --cores 2 results/sweeps/example/summary.csv": "test_one_sweep_target",
    "snakemake --report results/report.html": "test_sweeps.py test_report_*",
    "snakemake --report results/report.html all sweep": "test_sweeps.py test_report_*",
    "snakemake --cores 2 -n": "test_dry_run_and_changes",
    "snakemake --cores 2 -n --quiet host": "test_dry_run_and_changes",
    "snakemake --cores 2 --config 'threshold={\"learn\":{\"cutoff\":0.4}}'":
        "test_never_stale.py test_the_nested_form_works_as_typed",
    "snakemake --cores 2 --touch": "test_never_stale.py test_a_code_change_reruns_*",
    "python -m soart_core.example images resources/example/images":
        "test_image_generator_command",
    "python -m soart_core.example tables OUT --judges 5 --items 40 --features 6":
        "test_generator_command",
    "snakemake all sweep --workflow-profile profiles/slurm --slurm-status-command squeue "
    "--slurm-init-seconds-before-status-checks 2 --slurm-no-account": "test_slurm.py",
    # site-specific: a real cluster's partition and account; test_slurm.py runs the same
    # profile on a one-node cluster with the options above
    "snakemake --workflow-profile profiles/slurm --default-resources "
    "slurm_partition=PARTITION slurm_account=ACCOUNT": "test_slurm.py (same profile)",
    "snakemake --workflow-profile profiles/slurm sweep": "test_slurm.py (same profile)",
    # seconds; test_judge_verdicts.py runs its digits case
    "python benchmarks/real_images.py": "by hand (benchmark)",
    # seconds; test_judge_verdicts.py runs two of its surfaces
    "python benchmarks/false_alarm.py > benchmarks/results/false_alarm.txt":
        "by hand (benchmark)",
    # a minute
    "python benchmarks/local_defects.py > benchmarks/results/local_defects.txt":
        "by hand (benchmark)",
    "python benchmarks/batches.py > benchmarks/results/batches.txt": "by hand (benchmark)",
    "mv results/batches/2026-12-02 results/batches/2026-12-02.<reference id>":
        "test_batches.py test_rescoring_a_recorded_day_is_refused_in_one_line",
    # docs/performance.md: minutes each, their figures in benchmarks/results/
    "python benchmarks/stages.py --items 20000 --judges 256 --features 64":
        "by hand (benchmark)",
    "python benchmarks/stages.py --items 100000 --judges 256 --features 64 "
    "--csv-items 20000": "by hand (benchmark)",
    "python benchmarks/attention.py": "by hand (benchmark)",
    "python benchmarks/metrics.py": "by hand (benchmark)",
    "python benchmarks/sweep.py": "by hand (benchmark)",
    "python benchmarks/workbook.py": "by hand (benchmark)",
    "python benchmarks/workflow_scale.py": "by hand (benchmark)",
}


def test_every_documented_command_is_tested():
    documented = documented_commands()
    assert len(documented) >= 15
    assert sorted(set(documented) - set(TESTED)) == []
    assert sorted(set(TESTED) - set(documented)) == []  # no stale entries


def test_every_test_named_in_tested_exists():
    """TESTED names real tests (a name with `*` matches some), and only benchmarks are
    run by hand."""
    defined = {m.group(1) for path in (ROOT / "tests").glob("*.py")
               for m in re.finditer(r"^(?:def|    def) (\w+)\(", path.read_text(), re.M)}
    files = {p.name for p in (ROOT / "tests").glob("*.py")}
    for command, where in TESTED.items():
        names = re.findall(r"\b(test_\w+\*?|images_run|sweep_run|example_run)", where)
        if "by hand" in where:
            assert command.startswith("python benchmarks/") and not names, command
            continue
        assert names or re.search(r"\.ci/run", where), (command, where)
        for name in names:
            if name.endswith(".py") or f"{name}.py" in files:
                continue
            pattern = re.compile(name.replace("*", r"\w*") + "$")
            assert any(pattern.match(d) for d in defined), (command, name)


def as_typed(workdir, command, **places):
    """Run a documented command in `workdir`, placeholders replaced by real paths."""
    for placeholder, real in places.items():
        assert placeholder in command, (placeholder, command)
        command = command.replace(placeholder, str(real))
    argv = shlex.split(command)
    assert argv[0] == "snakemake"
    proc = snakemake_process(workdir, *argv[1:])
    assert proc.returncode == 0, f"{command}\n{proc.stdout}"
    return proc.stdout


def shipped(tmp_path):
    """A scratch copy of the workflow as shipped (from the example's images)."""
    return copy_workflow(tmp_path / "wf", tables=False)


def own_tables(tmp_path):
    folder = tmp_path / "tables"
    shutil.copytree(ROOT / "resources" / "example", folder,
                    ignore=shutil.ignore_patterns("images"))
    return folder


@pytest.fixture(scope="module")
def tables_workdir(tmp_path_factory):
    """One shipped copy and one folder of the user's tables for the three documented
    ways to read them: whichever runs first computes, the others find it done (the same
    tables, the same settings) or rerun what their config changes."""
    root = tmp_path_factory.mktemp("tables")
    return shipped(root), own_tables(root)


def test_own_tables_as_typed(tables_workdir):
    workdir, tables = tables_workdir
    out = as_typed(workdir, "snakemake --cores 2 --config images_dir=null "
                            "data_dir=/path/to/tables", **{"/path/to/tables": tables})
    assert out.strip().splitlines()[-1].startswith("answer: results/verdicts/answer.csv: ")
    assert (workdir / "results" / "attention" / "Y1.csv").is_file()
    assert not (workdir / "results" / "metrics").exists()


@pytest.mark.parametrize("null", ["None", "~", "", "none", "NULL"])
def test_every_spelling_of_null(tmp_path, null):
    """Through Snakemake's own --config parser and the Snakefile's checks, in this
    process (tests/in_process.py); `null` itself: test_null_through_snakemake."""
    workdir = shipped(tmp_path)
    in_process.run(workdir, "normalise",
                   config=[f"images_dir={null}", f"data_dir={own_tables(tmp_path)}"])
    assert (workdir / "results" / "normalise" / "range.csv").is_file()
    assert not (workdir / "results" / "metrics").exists()


def test_null_through_snakemake(tmp_path):
    workdir = shipped(tmp_path)
    jobs = planned_jobs(workdir, "--config", "images_dir=null",
                        f"data_dir={own_tables(tmp_path)}")
    assert "metrics" not in jobs and jobs["normalise"] == 1


def test_data_dir_alone(tables_workdir):
    """data_dir given, images_dir left at the bundled images: the tables, said aloud."""
    workdir, tables = tables_workdir
    out = as_typed(workdir, "snakemake --cores 2 --config data_dir=/path/to/tables",
                   **{"/path/to/tables": tables})
    assert f"soart: reading the metric tables in data_dir={tables}" in out
    assert not (workdir / "results" / "metrics").exists()
    # both pointing at the user's data: an error, before any job
    proc = snakemake(workdir, "-n", "--config", f"data_dir={tables}",
                     f"images_dir={ROOT / 'resources' / 'example' / 'images'}", check=False)
    assert proc.returncode != 0
    assert "soart: error: config key 'images_dir': both images_dir" in proc.stdout


def test_own_images(tmp_path):
    workdir = shipped(tmp_path)
    images = tmp_path / "my images"  # a space in the path, as users have
    shutil.copytree(ROOT / "resources" / "example" / "images", images)
    # as typed, with the space quoted as a shell user would
    out = as_typed(workdir, "snakemake --cores 2 --config images_dir=/path/to/images",
                   **{"/path/to/images": shlex.quote(str(images))})
    # the profile keeps Snakemake's job listing quiet: the run ends on the answer
    assert out.strip().splitlines()[-1].startswith("answer: results/verdicts/answer.csv: ")
    assert (workdir / "results" / "metrics" / "valid_snY2_gs.csv").is_file()


def test_own_configfile(tables_workdir):
    workdir, tables = tables_workdir
    text = (workdir / "config.yaml").read_text()
    for line, mine in (("images_dir: resources/example/images", "images_dir: null"),
                       ("data_dir: resources/example", f"data_dir: {tables}")):
        assert f"\n{line}\n" in text  # the edit a user makes, on the shipped line
        text = text.replace(f"\n{line}\n", f"\n{mine}\n")
    (workdir / "my.yaml").write_text(text)
    as_typed(workdir, "snakemake --cores 2 --configfile my.yaml")
    assert (workdir / "results" / "blocks" / "Y3.csv").is_file()


def test_one_sweep_target(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    jobs = planned_jobs(workdir, "results/sweeps/example/summary.csv")
    assert jobs["sweep_example_evaluate"] == 1 and jobs["sweep_example_summary"] == 1


def test_dry_run_and_changes(example_run, tmp_path):
    assert "Nothing to be done" in as_typed(example_run, "snakemake --cores 2 -n")
    workdir = copy_workflow(tmp_path / "wf")
    plan = as_typed(workdir, "snakemake --cores 2 -n")
    assert "output files have to be generated:" in plan and "verdicts" in plan
    assert "reason: Missing output files" not in plan  # the profile's quiet listing
    assert "reason: Missing output files" in as_typed(workdir,
                                                      "snakemake --cores 2 -n --quiet host")


def test_generator_command(tmp_path):
    out = tmp_path / "OUT"
    subprocess.run([sys.executable, *shlex.split(
        "-m soart_core.example tables OUT --judges 5 --items 40 --features 6")],
        cwd=tmp_path, check=True, env=ENV)
    assert len(list(out.glob("*.csv"))) == 6
    for path in out.glob("*.csv"):  # each argument took effect
        header, *rows = path.read_text().splitlines()
        assert header.split(",")[:6] == [f"X{k}" for k in range(6)], path
        assert "X6" not in header
        # 3 groups: 5 judges each in a learning table, 40 items each in a validation one
        assert len(rows) == (15 if path.name.startswith("learn") else 120), path


def test_image_generator_command(tmp_path):
    """The committed example images are what the documented command draws (to one grey
    level: the drawing is float arithmetic, rounded to 8 bits, on any CPU)."""
    import numpy as np
    from PIL import Image

    subprocess.run([sys.executable, *shlex.split(
        "-m soart_core.example images resources/example/images")], cwd=tmp_path,
        check=True, env=ENV)
    committed = ROOT / "resources" / "example" / "images"
    drawn = sorted(p.relative_to(tmp_path / "resources/example/images")
                   for p in (tmp_path / "resources/example/images").rglob("*.png"))
    assert drawn == sorted(p.relative_to(committed) for p in committed.rglob("*.png"))
    for name in drawn:
        ours = np.asarray(Image.open(tmp_path / "resources/example/images" / name), float)
        theirs = np.asarray(Image.open(committed / name), float)
        assert np.abs(ours - theirs).max() <= 1, name


def test_recovering_a_killed_run(tmp_path):
    """README's recipe after kill -9: `snakemake --unlock`, then the plain command; the
    incomplete files rerun (profiles/default: rerun-incomplete), stale temporary files
    of the killed writes go."""
    workdir = shipped(tmp_path)
    run = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=workdir,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=ENV,
                           start_new_session=True)
    started = workdir / "results" / "logs" / "metrics.log"
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before it could be killed"
    os.killpg(run.pid, signal.SIGKILL)  # as a power loss would: no clean-up at all
    run.wait()
    stale = workdir / "results" / "attention" / ".Y1.csv.k1ll3d.tmp"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("half a tab")  # what a write cut off by the kill leaves
    plain = snakemake(workdir, check=False)
    assert plain.returncode != 0 and "--unlock" in plain.stdout  # the lock says so
    as_typed(workdir, "snakemake --unlock")
    out = as_typed(workdir, "snakemake --cores 2")
    assert "IncompleteFilesException" not in out
    assert (workdir / "results" / "figures" / "Y3_blocks.png").is_file()
    assert list((workdir / "results").rglob("*.tmp")) == []
