"""The line's daily batches (docs/batches.md): a reference made from the example, two
batches scored against it (one of only new images), a third added later: only its jobs
run, the others' files stay byte for byte, every image gets summary.csv's verdict,
drift flags the batch of defects, a truncated image is skipped and listed."""

import csv
import hashlib
import shutil

import pytest

from conftest import ROOT, copied_run, copy_workflow, planned_jobs, snakemake, write_yaml
from soart_core import reference as soart_reference

ANSWER = ("predicted", "score", "flag", "promise", "method", "where", "nearest_normal")


def rows(path):
    with open(path, encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("line") / "wf", tables=False)
    valid = workdir / "resources" / "example" / "images" / "valid"
    batches = workdir / "batches"
    shutil.copytree(valid, batches / "monday")  # in group folders: labeled
    (batches / "tuesday").mkdir()  # only new images, no labels
    for path in sorted((valid / "ERROR_A").glob("*.png"))[:4] + sorted(
            (valid / "NORMAL").glob("*.png"))[:4]:
        shutil.copy(path, batches / "tuesday" / f"new_{path.name}")
    write_yaml(workdir / "line.yaml", {"batches_dir": "batches", "on_bad_image": "skip"})
    snakemake(workdir, "--configfile", "line.yaml")
    return workdir


def test_every_image_gets_summarys_verdict(line):
    summary = {r["item"].rsplit("/", 1)[-1]: r
               for r in rows(line / "results" / "verdicts" / "summary.csv")}
    ref_id = soart_reference.load(str(line / "results" / "reference")).id
    for batch in ("monday", "tuesday"):
        scored = rows(line / "results" / "batches" / batch / "verdicts.csv")
        assert len(scored) == (30 if batch == "monday" else 8)
        for row in scored:
            want = summary[row["item"].rsplit("/", 1)[-1].removeprefix("new_")]
            assert {k: row[k] for k in ANSWER} == {k: want[k] for k in ANSWER}, row["item"]
            assert row["reference"] == ref_id
    labeled = rows(line / "results" / "batches" / "monday" / "verdicts.csv")
    assert {r["group"] for r in labeled} == {"NORMAL", "ERROR_A", "ERROR_B"}
    assert {r["group"] for r in rows(line / "results" / "batches" / "tuesday" /
                                     "verdicts.csv")} == {""}


def test_a_new_batch_runs_alone_and_leaves_the_others(line):
    before = {b: digests(line / "results" / "batches" / b) for b in ("monday", "tuesday")}
    new = line / "batches" / "wednesday"
    new.mkdir()
    defects = sorted((line / "resources/example/images/valid/ERROR_B").glob("*.png"))
    for path in defects:
        shutil.copy(path, new / path.name)
    (new / "broken.png").write_bytes(defects[0].read_bytes()[:300])  # truncated
    assert planned_jobs(line, "--configfile", "line.yaml") == {"batch": 1, "drift": 1,
                                                               "all": 1}
    snakemake(line, "--configfile", "line.yaml")
    after = {b: digests(line / "results" / "batches" / b) for b in ("monday", "tuesday")}
    assert after == before
    rejected = rows(line / "results" / "batches" / "wednesday" / "rejected.csv")
    assert [(r["item"], r["reason"]) for r in rejected] == [
        ("wednesday/broken.png", "cannot read the image: OSError: image file is truncated")]
    assert len(rows(line / "results" / "batches" / "wednesday" / "verdicts.csv")) == 10
    drift = {r["batch"]: r for r in rows(line / "results" / "batches" / "drift.csv")}
    assert drift["wednesday"]["drifting"] == "true"  # a batch of defects
    assert float(drift["wednesday"]["rate"]) > float(drift["wednesday"]["upper_limit"])
    assert planned_jobs(line, "--configfile", "line.yaml") == {}


def test_the_python_entry_point_scores_as_the_workflow(line):
    """A line's own software: load the frozen reference, score images."""
    ref = soart_reference.load(str(line / "results" / "reference"))
    paths = sorted((line / "batches" / "tuesday").glob("*.png"))
    verdicts, regions, rejected = soart_reference.score_images(ref, [str(p) for p in paths])
    scored = {r["item"].rsplit("/", 1)[-1]: r
              for r in rows(line / "results" / "batches" / "tuesday" / "verdicts.csv")}
    for k, path in enumerate(paths):
        assert verdicts["flag"][k] == scored[path.name]["flag"]
        assert repr(float(verdicts["score"][k])) == scored[path.name]["score"]
    assert len(regions["item"]) == 4 * len(paths) and rejected["item"] == []


def test_a_changed_reference_file_is_refused(line, tmp_path):
    copy = tmp_path / "reference"
    shutil.copytree(line / "results" / "reference", copy)
    judges = copy / "judges_Y1.csv"
    judges.write_text(judges.read_text().replace("0.", "0.1", 1))
    with pytest.raises(soart_reference.InputError, match="not those of id"):
        soart_reference.load(str(copy))


def test_rescoring_a_recorded_day_is_refused_in_one_line(line, tmp_path):
    """A scored day is a record: `--forcerun batch` (asked by name) is refused in one line
    that gives the command which moves the record aside; after it, the day is scored
    as new (the same reference: the same verdicts) and the old record stays beside it."""
    work = copied_run(line, tmp_path / "line")
    before = {b: digests(work / "results" / "batches" / b) for b in ("monday", "tuesday")}
    out = snakemake(work, "--configfile", "line.yaml", "--forcerun", "batch", check=False)
    errors = [x for x in out.stdout.splitlines() if x.startswith("soart: error")]
    assert out.returncode == 1 and len(errors) == 1, out.stdout[-2000:]
    assert "results/batches/monday: a scored day is a record" in errors[0]
    ref_id = soart_reference.load(str(work / "results" / "reference")).id
    assert f"mv results/batches/monday results/batches/monday.{ref_id}" in errors[0]
    (work / "results/batches/monday").rename(work / f"results/batches/monday.{ref_id}")
    assert planned_jobs(work, "--configfile", "line.yaml") == {"batch": 1, "drift": 1,
                                                               "all": 1}
    out = snakemake(work, "--configfile", "line.yaml")
    # the run ends on the answer and the day's (soart_core.closing), as its file says
    scored = rows(work / "results" / "batches" / "monday" / "verdicts.csv")
    flagged = sum(r["flag"] == "abnormal" for r in scored)
    assert out.stdout.strip().splitlines()[-1] == (
        f"batch monday: results/batches/monday/verdicts.csv: {flagged} of {len(scored)} "
        f"images flagged"), out.stdout[-2000:]
    after = digests(work / "results" / "batches" / "monday")
    assert after["verdicts.csv"] == before["monday"]["verdicts.csv"]
    assert digests(work / f"results/batches/monday.{ref_id}") == before["monday"]
    assert digests(work / "results" / "batches" / "tuesday") == before["tuesday"]


def test_a_bad_image_stops_the_batch_by_default(line, tmp_path):
    """on_bad_image: stop (the default): the truncated image stops the batch with one
    error naming it, and nothing is scored."""
    broken = tmp_path / "broken.png"
    good = sorted((line / "batches" / "tuesday").glob("*.png"))[0]
    broken.write_bytes(good.read_bytes()[:300])
    ref = soart_reference.load(str(line / "results" / "reference"))
    with pytest.raises(soart_reference.InputError,
                       match=r"broken\.png: cannot read the image: OSError: image file is "
                             r"truncated"):
        soart_reference.score_images(ref, [str(good), str(broken)])


def good_images(line, count):
    return sorted((line / "resources/example/images/valid/ERROR_B").glob("*.png"))[:count]


def test_a_scored_day_survives_a_setting_change_and_a_failed_run(line, tmp_path):
    """The issue's day: a day with a truncated PNG scored under skip; on_bad_image
    changed back to stop plans nothing for any scored day; a new day that fails under
    stop stops the run with one line naming its image, and every record stays byte
    for byte."""
    work = copied_run(line, tmp_path / "line")
    day = work / "batches" / "thursday"
    day.mkdir()
    for path in good_images(work, 2):
        shutil.copy(path, day / path.name)
    (day / "broken.png").write_bytes(good_images(work, 1)[0].read_bytes()[:300])
    scored = ("monday", "tuesday", "wednesday")
    before = {b: digests(work / "results" / "batches" / b) for b in scored}
    assert planned_jobs(work, "--configfile", "line.yaml") == {"batch": 1, "drift": 1,
                                                               "all": 1}
    snakemake(work, "--configfile", "line.yaml")
    before["thursday"] = digests(work / "results" / "batches" / "thursday")
    # (the workbook's settings sheet holds the whole config: it alone is made again)
    assert set(planned_jobs(work, "--configfile", "line.yaml", "--config",
                            "on_bad_image=stop")) <= {"workbook", "all"}
    friday = work / "batches" / "friday"
    friday.mkdir()
    (friday / "broken.png").write_bytes(good_images(work, 1)[0].read_bytes()[:300])
    out = snakemake(work, "--configfile", "line.yaml", "--config", "on_bad_image=stop",
                    check=False)
    errors = [x for x in out.stdout.splitlines() if x.startswith("soart: error")]
    assert out.returncode != 0 and errors == [
        "soart: error in rule batch: batches/friday/broken.png: cannot read the image: "
        "OSError: image file is truncated"], out.stdout[-3000:]
    for b, files in before.items():
        assert digests(work / "results" / "batches" / b) == files, b
    assert not (work / "results/batches/friday/record.json").exists()
    drift = [r["batch"] for r in rows(work / "results" / "batches" / "drift.csv")]
    assert drift == ["monday", "thursday", "tuesday", "wednesday"]


def test_any_day_keeps_the_line_going(line, tmp_path):
    """An empty day and a day of only unreadable images get their files and a drift row
    with n = 0; a file named with braces is rejected by its own name (skip), never
    scored as another image."""
    work = copied_run(line, tmp_path / "line")
    (work / "batches" / "empty").mkdir()
    junk = work / "batches" / "junk"
    junk.mkdir()
    (junk / "broken.png").write_bytes(good_images(work, 1)[0].read_bytes()[:300])
    braces = work / "batches" / "braces"
    braces.mkdir()
    first, second = good_images(work, 2)
    shutil.copy(first, braces / "{batch}.png")
    shutil.copy(first, braces / "{other}.png")
    shutil.copy(second, braces / "good.png")
    snakemake(work, "--configfile", "line.yaml")
    drift = {r["batch"]: r for r in rows(work / "results" / "batches" / "drift.csv")}
    for day in ("empty", "junk"):
        assert drift[day]["images"] == "0" and drift[day]["drifting"] == "false", day
        assert rows(work / "results" / "batches" / day / "verdicts.csv") == []
        assert (work / "results" / "batches" / day / "answer.png").stat().st_size > 0
    assert [r["item"] for r in rows(work / "results/batches/junk/rejected.csv")] == [
        "junk/broken.png"]
    assert [r["item"] for r in rows(work / "results/batches/braces/verdicts.csv")] == [
        "braces/good.png"]
    rejected = rows(work / "results/batches/braces/rejected.csv")
    assert [r["item"] for r in rejected] == ["braces/{batch}.png", "braces/{other}.png"]
    assert all("{ or }" in r["reason"] for r in rejected)
    assert drift["braces"]["images"] == "1"


def test_a_day_target_gets_its_run_and_drift_keeps_each_days_rate(line, tmp_path):
    """A new day's verdicts.csv as the target, in a run that builds the reference again
    (a new false-alarm rate): the day is scored against the new reference; drift charts
    each day at the rate of the reference that scored it (its record)."""
    work = copied_run(line, tmp_path / "line")
    day = work / "batches" / "saturday"
    day.mkdir()
    for path in good_images(work, 3):
        shutil.copy(path, day / path.name)
    write_yaml(work / "rate.yaml", {"verdicts": {"false_alarm": 0.1}})
    old_id = soart_reference.load(str(work / "results" / "reference")).id
    snakemake(work, "--configfile", "line.yaml", "rate.yaml", "--",
              "results/batches/saturday/verdicts.csv")
    new_id = soart_reference.load(str(work / "results" / "reference")).id
    assert new_id != old_id
    scored = rows(work / "results/batches/saturday/verdicts.csv")
    assert len(scored) == 3 and {r["reference"] for r in scored} == {new_id}
    snakemake(work, "--configfile", "line.yaml", "rate.yaml")
    drift = {r["batch"]: r for r in rows(work / "results" / "batches" / "drift.csv")}
    assert float(drift["saturday"]["centre"]) == pytest.approx(0.1)
    assert drift["saturday"]["reference"] == new_id
    assert float(drift["monday"]["centre"]) == pytest.approx(0.05)
    assert drift["monday"]["reference"] == old_id
    assert planned_jobs(work, "--configfile", "line.yaml", "rate.yaml") == {}


def test_each_job_imports_only_the_modules_its_stage_declares(line):
    """The batch jobs' logs list the soart modules they ran: each within its declared
    modules' closure (the plain run's stages: tests/test_never_stale.py)."""
    check_ran_modules([line / "results/logs/reference.log",
                       line / "results/logs/drift.log",
                       line / "results/batches/monday/batch.log"],
                      ["reference", "drift", "batch"])


def check_ran_modules(logs, jobs):
    from soart_core import pipeline, provenance
    from soart_core.script import RAN

    for log, job in zip(logs, jobs):
        lines = [x for x in log.read_text().splitlines() if RAN in x]
        assert len(lines) == 1, log
        ran = set(lines[0].split(RAN, 1)[1].split())
        declared = set(provenance.module_closure(str(ROOT),
                                                 pipeline.modules_of(job)))
        assert "jobs" in ran and ran <= declared, (job, ran - declared)
