"""A result always comes from what it names: the input tables the config in force points
at, that config, and the code and libraries that computed it (issue: never stale)."""

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import time
from types import SimpleNamespace

import pytest
import yaml

from conftest import (ENV, ROOT, SNAKEMAKE, copied_run, copy_workflow, planned_jobs, snakemake,
                      write_yaml)
from soart_core import provenance
from soart_core.example import make_tables
from soart_core.script import run_stage
from soart_core.settings import SCHEMA, typed_overrides
from soart_core.tables import write_atomic, write_columns
from test_documented import as_typed

OWN_NAMES = {"Y1": "beta", "Y2": "eta", "Y3": "gamma"}


def own_tables(folder, seed=5):
    """Tables unlike the example's, under the user's own file names (beta_learn.csv, ...)."""
    folder.mkdir()
    for metric, (learn, valid) in make_tables(judges_per_group=4, items_per_group=12,
                                              seed=seed).items():
        write_columns(folder / f"{OWN_NAMES[metric]}_learn.csv", learn)
        write_columns(folder / f"{OWN_NAMES[metric]}_valid.csv", valid)
    return folder


NORMALISED = "results/normalise/range.csv"  # a target: the normalise stage alone
ATTENTION = [f"results/attention/{m}.csv" for m in ("Y1", "Y2", "Y3")]


def soart_errors(output):
    return [line for line in output.splitlines() if line.startswith("soart: error")]


def test_own_tables_under_other_names_are_one_line_never_the_examples(tmp_path):
    """After a run on the example, tables under other names than config's `metrics`:
    one line naming the key and the path tried (Snakemake would keep the earlier run's
    normalised tables and exit 0); named in a configfile, their own numbers."""
    workdir = copy_workflow(tmp_path / "work")
    snakemake(workdir, NORMALISED)
    example_valid = (workdir / "results/normalise/Y1_valid.csv").read_bytes()
    mine = own_tables(tmp_path / "mine")
    proc = snakemake(workdir, "--config", "images_dir=null", f"data_dir={mine}", check=False)
    assert proc.returncode == 1, proc.stdout
    [line] = soart_errors(proc.stdout)
    assert "'metrics.Y1.learn'" in line and str(mine / "learn_btY1_gs_class.csv") in line
    assert "beta_learn.csv" in line  # what the folder holds
    assert (workdir / "results/normalise/Y1_valid.csv").read_bytes() == example_valid

    my_yaml = write_yaml(tmp_path / "my.yaml", {
        "images_dir": None, "data_dir": str(mine), "groups": {"valid_counts": [12] * 3},
        "metrics": {m: {"learn": f"{name}_learn.csv", "valid": f"{name}_valid.csv"}
                    for m, name in OWN_NAMES.items()}})
    snakemake(workdir, NORMALISED, "--configfile", str(my_yaml))
    ours = (workdir / "results/normalise/Y1_valid.csv").read_text().splitlines()
    assert len(ours) == 1 + 36 and ours != example_valid.decode().splitlines()


def test_a_fresh_folder_gets_the_same_one_line(tmp_path):
    workdir = copy_workflow(tmp_path / "work")
    mine = own_tables(tmp_path / "mine")
    proc = snakemake(workdir, "-n", "--config", "images_dir=null", f"data_dir={mine}",
                     check=False)
    assert proc.returncode == 1 and "MissingInputException" not in proc.stdout
    [line] = soart_errors(proc.stdout)
    assert "'metrics.Y1.learn'" in line


def test_a_configfile_replaces_the_metrics_and_the_config_in_force_is_written(tmp_path):
    """A configfile with two metrics runs two (Snakemake alone would merge config.yaml's
    Y3 back in); results/config.yaml holds the config the run used."""
    workdir = copy_workflow(tmp_path / "work")
    shipped = yaml.safe_load((workdir / "config.yaml").read_text())
    mine = dict(shipped, metrics={m: shipped["metrics"][m] for m in ("Y1", "Y2")},
                roles={"query": "Y2", "key": "Y1", "value": "Y2"}, sweeps={})
    write_yaml(workdir / "my.yaml", mine)
    snakemake(workdir, "results/verdicts/summary.csv", "--configfile", "my.yaml")
    in_force = yaml.safe_load((workdir / "results/config.yaml").read_text())
    assert list(in_force["metrics"]) == ["Y1", "Y2"] and in_force["sweeps"] == {}
    assert in_force["threshold"] == shipped["threshold"]  # defaults and all
    assert "my.yaml" in (workdir / "results/config.yaml").read_text().splitlines()[0]
    assert sorted(p.name for p in (workdir / "results/attention").iterdir()) == \
        ["Y1.csv", "Y2.csv"]
    summary = (workdir / "results/verdicts/summary.csv").read_text()
    assert "Y3" not in summary


def test_nested_config_values_keep_their_yaml_types():
    """`--config 'threshold={"learn":{"cutoff":0.4}}'`: Snakemake's parser keeps the
    leaves as text; soart reads them as YAML where the schema wants a number."""
    schema = yaml.safe_load((ROOT / SCHEMA).read_text())
    shipped = yaml.safe_load((ROOT / "config.yaml").read_text())
    overrides = {"threshold": {"learn": {"cutoff": "0.4"}},
                 "groups": {"order": ["1", "2"], "valid_counts": ["15", "15"]}}
    config = {**shipped, "threshold": {"learn": {"cutoff": "0.4", "power": 2.0},
                                       "valid": shipped["threshold"]["valid"]},
              "groups": {**shipped["groups"], "order": ["1", "2"],
                         "valid_counts": ["15", "15"]}}
    typed_overrides(config, overrides, schema)
    assert config["threshold"]["learn"]["cutoff"] == 0.4
    assert config["groups"]["valid_counts"] == [15, 15]
    assert config["groups"]["order"] == ["1", "2"]  # names stay text


def test_the_nested_form_works_as_typed(tmp_path):
    """The nested --config form of docs/configuration.md, as typed: the cutoff is the
    number 0.4."""
    workdir = copy_workflow(tmp_path / "work")
    as_typed(workdir, "snakemake --cores 2 --config 'threshold={\"learn\":{\"cutoff\":0.4}}'")
    in_force = yaml.safe_load((workdir / "results/config.yaml").read_text())
    assert in_force["threshold"]["learn"] == {"cutoff": 0.4, "power": 2.0}


# ---- code and libraries ----------------------------------------------------------------
def test_a_library_version_changes_the_digest(monkeypatch, tmp_path):
    before = provenance.code_digest(str(ROOT))
    provenance.code_digest.cache_clear()
    monkeypatch.setattr(provenance, "library_versions", lambda: {"numpy": "99.0"})
    try:
        assert provenance.code_digest(str(ROOT)) != before
    finally:
        monkeypatch.undo()
        provenance.code_digest.cache_clear()


def test_the_digest_covers_every_library_soart_depends_on():
    """provenance.LIBRARIES is pyproject.toml's dependencies but Snakemake's own."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0].lower() for d in declared}
    assert set(provenance.LIBRARIES) == {n for n in names if not n.startswith("snakemake")}


def test_the_environment_file_pins_every_library():
    """workflow/envs/soart.yaml (what --sdm conda installs) pins each of soart's
    libraries to one version (conda-forge's names where they differ)."""
    conda_names = {"matplotlib": "matplotlib-base", "isal": "python-isal"}
    environment = yaml.safe_load((ROOT / "workflow/envs/soart.yaml").read_text())
    pins = {}
    for entry in environment["dependencies"]:
        for spec in entry["pip"] if isinstance(entry, dict) else [entry]:
            name, _, version = spec.partition("=")
            pins[name.strip()] = version.lstrip("=").strip()
    for library in provenance.LIBRARIES:
        assert re.fullmatch(r"[0-9][0-9.]*", pins[conda_names.get(library, library)]), library


def test_the_digest_covers_every_code_file():
    files = set(provenance.code_files(str(ROOT)))
    assert {"soart_core/stages.py", "soart_core/provenance.py", "soart_core/script.py",
            "workflow/scripts/stage.py", "workflow/envs/soart.yaml"} <= files
    assert not any("__pycache__" in f for f in files)


def test_a_kept_digest_is_the_one_parsing_gives(tmp_path, monkeypatch):
    """What code_digest keeps between starts (provenance.STORE) is used only for the
    same bytes; a store of other sources, or none that can be written, is never used."""
    store = tmp_path / "store" / "code.json"
    monkeypatch.setattr(provenance, "STORE", str(store))
    provenance.code_digest.cache_clear()
    try:
        parsed = provenance.code_digest(str(ROOT))
        assert set(json.loads(store.read_text())) == {"bytes", "code"}
        provenance.code_digest.cache_clear()
        monkeypatch.setattr(provenance, "_content", lambda path, data: 1 / 0)
        assert provenance.code_digest(str(ROOT)) == parsed  # not parsed again
        monkeypatch.undo()
        monkeypatch.setattr(provenance, "STORE", str(store))
        store.write_text(json.dumps({"bytes": "other sources", "code": "0" * 16}))
        provenance.code_digest.cache_clear()
        assert provenance.code_digest(str(ROOT)) == parsed
        kept = json.loads(store.read_text())
        kept["code"]["workflow"] = "0" * 16  # same bytes: trusted
        store.write_text(json.dumps(kept))
        provenance.code_digest.cache_clear()
        assert provenance.code_digest(str(ROOT)) != parsed
        store.unlink()
        store.parent.rmdir()
        store.parent.write_text("a file where the store's folder would be")
        provenance.code_digest.cache_clear()
        assert provenance.code_digest(str(ROOT)) == parsed
        assert list(tmp_path.rglob("*.tmp")) == []
    finally:
        monkeypatch.undo()
        provenance.code_digest.cache_clear()


def edit(path, old, new):
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_a_second_run_plans_nothing(images_run, example_run):
    """README's first command twice (images), and the same from tables: the second plans
    nothing (no param may depend on a file the same run writes)."""
    assert planned_jobs(images_run) == {}
    assert planned_jobs(example_run) == {}


def test_a_code_change_reruns_what_it_can_alter(example_run, tmp_path):
    """Reruns follow the code a stage runs (its declared modules, soart_core.pipeline):
    a new function in figures.py reruns the figures and nothing else; a file that is not
    code, a module no stage runs, a comment or a docstring rerun nothing; a change to
    stages.py reruns the stages on it, one to detectors/mt.py the stages that run the
    detectors; a change to a workflow script reruns every stage.
    `--touch` takes an upgrade without recomputing."""
    workdir = copied_run(example_run, tmp_path / "work")
    shutil.copytree(ROOT / "soart_core", workdir / "soart_core",
                    ignore=shutil.ignore_patterns("__pycache__"))
    assert planned_jobs(workdir) == {}  # a copy of the same code: nothing to do
    figures_py = workdir / "soart_core/figures.py"
    figures_py.write_text(figures_py.read_text() + "\n\ndef new_figure():\n    return 1\n")
    assert set(planned_jobs(workdir)) == {"figures", "all"}
    figures_py.write_text((ROOT / "soart_core/figures.py").read_text())
    (workdir / "soart_core/NOTES.md").write_text("notes, not code\n")
    (workdir / "soart_core/.jobs.py.swp").write_bytes(b"\0an editor's swap file")
    (workdir / "soart_core/dispatch.py").write_text("FUNCTIONS = {}\n")  # run by none
    assert planned_jobs(workdir) == {}

    stages_py = workdir / "soart_core/stages.py"
    original = stages_py.read_text()
    stages_py.write_text(original.replace("\ndef ", "\n# a comment\ndef "))
    assert planned_jobs(workdir) == {}
    stages_py.write_text(original.replace('"""', '"""A docstring\'s new words. ', 1))
    assert planned_jobs(workdir) == {}
    stages_py.write_text(original + "\n\ndef new_arithmetic():\n    return 1\n")
    assert {"threshold", "attention", "verdicts"} <= set(planned_jobs(workdir))
    stages_py.write_text(original)
    # a module of a package (soart_core/detectors/): what runs the detectors, no more
    mt_py = workdir / "soart_core/detectors/mt.py"
    original = mt_py.read_text()
    mt_py.write_text(original + "\n\ndef new_arithmetic():\n    return 1\n")
    planned = set(planned_jobs(workdir))
    assert {"verdicts", "evaluate"} <= planned
    assert not planned & {"normalise", "threshold", "weights", "attention", "difference",
                          "blocks", "classic"}
    mt_py.write_text(original)

    script = workdir / "workflow/scripts/stage.py"
    script.write_text(script.read_text() + "pass\n")
    assert {"normalise", "attention", "workbook"} <= set(planned_jobs(workdir))
    as_typed(workdir, "snakemake --cores 2 --touch")  # docs/running.md: keep the results
    assert planned_jobs(workdir) == {}


def test_each_stage_imports_only_the_modules_it_declares(images_run, example_run):
    """Each job of the plain run (from images, and from tables) logs the soart modules it
    ran; they are within its stage's declared modules and what those import at their
    top, so a stage's code digest covers all the code it runs."""
    from soart_core import pipeline
    from test_batches import check_ran_modules

    for run in (images_run, example_run):
        stages = [s for s in pipeline.STAGES
                  if (run / "results/logs" / f"{s}.log").exists()]
        # every stage, those of the images (metrics, patches) in the images run only
        assert set(stages) == {s for s, d in pipeline.STAGES.items()
                               if run == images_run or d.images != "only"}
        check_ran_modules([run / "results/logs" / f"{s}.log" for s in stages], stages)


# ---- faults -----------------------------------------------------------------------------
def fake_job(tmp_path, rule="threshold"):
    log = tmp_path / f"{rule}.log"
    return SimpleNamespace(rule=rule, input=[], output=[], log=[str(log)],
                           params=SimpleNamespace(), threads=1), log


def test_ctrl_c_is_one_line_and_leaves_no_temporary_file(tmp_path, capsys):
    target = tmp_path / "out.csv"

    def job(inputs, outputs, params):
        def write(stream):
            stream.write("half")
            raise KeyboardInterrupt
        write_atomic(target, write)

    snakemake_object, log = fake_job(tmp_path)
    with pytest.raises(SystemExit) as stop:
        run_stage(snakemake_object, job)
    assert stop.value.code == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "soart: interrupted (rule threshold); the same command resumes the run"]
    assert list(tmp_path.glob("*.tmp")) == [] and not target.exists()


def hidden_by_matplotlib(stream):
    try:  # as matplotlib's PNG writer does: another error hides the OSError
        raise OSError(errno.ENOSPC, "No space left on device")
    except OSError:
        raise AttributeError("'_idat' object has no attribute 'fileno'")


def as_polars(stream):
    # polars' CSV writer (Rust): no errno, the code in the text (seen on a full tmpfs)
    raise OSError("No space left on device (os error 28)")


@pytest.mark.parametrize("writer", [hidden_by_matplotlib, as_polars])
def test_a_full_disk_is_one_line_naming_the_file(tmp_path, capsys, writer):
    target = tmp_path / "figures" / "Y1_blocks.png"

    def job(inputs, outputs, params):
        write_atomic(target, writer, binary=True)

    snakemake_object, log = fake_job(tmp_path, "figures")
    with pytest.raises(SystemExit) as stop:
        run_stage(snakemake_object, job)
    assert stop.value.code == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == (f"soart: error in rule figures: no space left on device while writing "
                    f"{target}; free some space, then run the same command again")
    assert list(target.parent.iterdir()) == []


def processes_in(folder):
    """Pids of the processes whose working directory is `folder`."""
    found = []
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and os.path.realpath(f"/proc/{name}/cwd") == str(folder):
                found.append(int(name))
        except OSError:
            pass
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc (Linux)")
def test_a_killed_run_takes_its_jobs_along_and_names_the_command(tmp_path):
    """kill -9 of Snakemake alone, while the attention runs: the job ends within
    seconds, no temporary file stays; the next plain run's first soart line names
    `snakemake --unlock`, after which the plain command finishes the run."""
    workdir = big_tables(copy_workflow(tmp_path / "work").resolve())
    run, started = start_and_wait_for(workdir, "attention.log", stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
    run.send_signal(signal.SIGKILL)  # the Snakemake process alone, not its jobs
    run.wait()
    deadline = time.monotonic() + 20
    while processes_in(workdir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_in(workdir) == []
    assert list((workdir / "results").rglob("*.tmp")) == []
    assert "its Snakemake run is gone" in started.read_text()

    plain = snakemake(workdir, check=False)
    assert plain.returncode != 0
    first = next(line for line in plain.stdout.splitlines() if line.startswith("soart"))
    assert "run `snakemake --unlock`, then your command again" in first
    snakemake(workdir, "--unlock")
    snakemake(workdir, *ATTENTION)  # the rest of the run: tests/test_documented.py
    assert all((workdir / path).is_file() for path in ATTENTION)


def test_normalise_messages_give_the_files_own_line(tmp_path):
    """Blank lines before a row: the warning names the row's line in the file."""
    from soart_core.inputs import load_inputs
    from soart_core.jobs import implausible_values, normalise_pair

    learn, valid = make_tables(judges_per_group=3, items_per_group=4, seed=2)["Y1"]
    write_columns(tmp_path / "learn.csv", learn)
    write_columns(tmp_path / "valid.csv", valid)
    lines = (tmp_path / "valid.csv").read_text().splitlines()
    cells = lines[6].split(",")
    cells[1] = "1e6"  # data row 5 (line 7), pushed to line 9 by two blank lines
    lines[6] = ",".join(cells)
    (tmp_path / "valid.csv").write_text("\n".join(lines[:3] + ["", ""] + lines[3:]) + "\n")
    tables = load_inputs({"Y1": {"learn": str(tmp_path / "learn.csv"),
                                 "valid": str(tmp_path / "valid.csv")}}, "auto",
                         group_column="class", order=["NORMAL", "ERROR_A", "ERROR_B"],
                         valid_counts=[4, 4, 4], id_column="image")
    learn_table, valid_table = tables["Y1"]
    _, _, lo, hi = normalise_pair(learn_table, valid_table, 2.0)
    [warning] = implausible_values(learn_table, valid_table, lo, hi)
    assert f"{tmp_path / 'valid.csv'}, line 9, column 'X1'" in warning


def big_tables(workdir, items_per_group=2500):
    """The example's tables replaced by larger ones, so that the attention takes a few
    seconds: time to interrupt it."""
    shipped = yaml.safe_load((workdir / "config.yaml").read_text())
    for metric, (learn, valid) in make_tables(judges_per_group=40,
                                              items_per_group=items_per_group,
                                              n_features=48, seed=1).items():
        names = shipped["metrics"][metric]
        write_columns(workdir / "resources/example" / names["learn"], learn)
        write_columns(workdir / "resources/example" / names["valid"], valid)
    config = workdir / "config.yaml"
    config.write_text(config.read_text().replace(
        "valid_counts: [10, 10, 10]", f"valid_counts: {[items_per_group] * 3}"))
    return workdir


def start_and_wait_for(workdir, log, **popen):
    run = subprocess.Popen([*SNAKEMAKE, "--cores", "2"], cwd=workdir, env=ENV, **popen)
    started = workdir / "results" / "logs" / log
    deadline = time.monotonic() + 300
    while not started.exists() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before it could be stopped"
    return run, started


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc (Linux)")
def test_ctrl_c_during_a_run_is_one_line_and_the_run_resumes(tmp_path):
    """Ctrl-C (SIGINT to the run's process group) while the attention runs: no
    traceback, the job's one line, nothing half-written; a run resumes the attention
    (the plain command resuming a whole run: test_documented.py, on the example)."""
    workdir = big_tables(copy_workflow(tmp_path / "work").resolve())
    run, started = start_and_wait_for(workdir, "attention.log", stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True,
                                      start_new_session=True)
    time.sleep(0.5)
    os.killpg(run.pid, signal.SIGINT)
    out, _ = run.communicate(timeout=120)
    assert run.returncode != 0
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out
    assert "soart: interrupted (rule attention); the same command resumes the run" in out
    assert list((workdir / "results").rglob("*.tmp")) == []
    snakemake(workdir, *ATTENTION)  # the interrupted stage; the rest as ever
    assert all((workdir / path).is_file() for path in ATTENTION)


def test_a_table_replaced_by_an_older_one_reruns_normalise(tmp_path):
    """unzip, cp -p or rsync -a give a changed table an older time than the results:
    Snakemake alone would keep them."""
    workdir = copy_workflow(tmp_path / "work")
    snakemake(workdir, NORMALISED)
    table = workdir / "resources/example/valid_btY1_gs.csv"
    before = os.stat(table)
    table.write_text(table.read_text().replace("0.9", "0.8", 1))
    os.utime(table, ns=(before.st_atime_ns, before.st_mtime_ns - 10 ** 12))
    assert "normalise" in planned_jobs(workdir, NORMALISED)


def test_two_metrics_cannot_share_a_table(tmp_path):
    workdir = copy_workflow(tmp_path / "work", tables=False)
    proc = snakemake(workdir, "-n", "--config",
                     'metrics={"Y1":{"learn":"l1.csv","valid":"v.csv"},'
                     '"Y2":{"learn":"l2.csv","valid":"v.csv"},'
                     '"Y3":{"learn":"l3.csv","valid":"v3.csv"}}', check=False)
    assert proc.returncode == 1
    [line] = soart_errors(proc.stdout)
    assert "'metrics.Y2.valid': 'v.csv' names the same table as metrics.Y1.valid" in line


def test_sweep_values_on_the_command_line_keep_their_types(tmp_path):
    workdir = copy_workflow(tmp_path / "work")
    jobs = planned_jobs(workdir, "sweep", "--config",
                        'sweeps={"s":{"threshold.learn.cutoff":[0.3,0.4]}}')
    assert "sweep_s_threshold" in jobs
    proc = snakemake(workdir, "-n", "sweep", "--config",
                     'sweeps={"s":{"normalise.scale":[abc,2]}}', check=False)
    [line] = soart_errors(proc.stdout)
    assert line == ("soart: error: config key 'sweeps.s': normalise.scale = abc: config key "
                    "'normalise.scale': 'abc' is not of type 'number' (from a swept value)")
