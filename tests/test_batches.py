"""The line's daily batches (docs/batches.md): a reference made from the example, two
batches scored against it (one of only new images), a third added later: only its jobs
run, the others' files stay byte for byte, every image gets summary.csv's verdict,
drift flags the batch of defects, a truncated image is skipped and listed."""

import csv
import hashlib
import shutil

import pytest

from conftest import copy_workflow, planned_jobs, snakemake, write_yaml
from test_documented import as_typed
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


def test_rescoring_every_batch_is_one_command(line):
    """docs/batches.md's command scores every batch again, on purpose (the same
    reference: the same verdicts)."""
    before = {b: digests(line / "results" / "batches" / b) for b in ("monday", "tuesday")}
    out = as_typed(line, "snakemake --cores 2 --configfile my.yaml --forcerun batch",
                   **{"my.yaml": "line.yaml"})
    # the profile keeps Snakemake's job listing quiet: the run ends on the answer and
    # each batch's, as their files say (soart_core.closing)
    batches = sorted(p.name for p in (line / "batches").iterdir())
    last = out.strip().splitlines()[-1 - len(batches):]
    assert last[0].startswith("answer: results/verdicts/answer.csv: "), out[-2000:]
    for b, said in zip(batches, last[1:], strict=True):
        scored = rows(line / "results" / "batches" / b / "verdicts.csv")
        n = sum(r["flag"] == "abnormal" for r in scored)
        assert said == f"batch {b}: results/batches/{b}/verdicts.csv: {n} of " \
                       f"{len(scored)} images flagged", out[-2000:]
    after = {b: digests(line / "results" / "batches" / b) for b in ("monday", "tuesday")}
    for b in before:
        assert after[b]["verdicts.csv"] == before[b]["verdicts.csv"]


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
