"""The answer at a glance (issue 35): the run ends on where the answer is, README and
docs say what the example gives, summary.csv reads answer first, messages speak the
user's words, the report is written whole and its front page opens at its top."""

import csv
import os
import re
import signal
import statistics
import subprocess
import sys
import textwrap

import pytest

import in_process
from conftest import ROOT, run_output, write_yaml
from soart_core import closing, figures, jobs, settings
from soart_core.images import find_images
from soart_core.report import write_reports_atomically

README = (ROOT / "README.md").read_text(encoding="utf-8")
RESULTS_DOC = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")


def rows(path):
    with open(path, encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


# ---- README ----------------------------------------------------------------------------
def test_readme_is_at_most_200_lines():
    assert len(README.splitlines()) <= 200


def test_answer_csv_is_in_the_table_of_where_the_answer_is():
    table = README.split("## Where the answer is", 1)[1].split("\n\n", 2)[1]
    assert any(line.startswith("| ") and "`results/verdicts/answer.csv`" in line
               for line in table.splitlines()), table


# ---- the run's last lines ----------------------------------------------------------------
def answer_folder(tmp_path, flags, batches=None, figure=True):
    verdicts = tmp_path / "results" / "verdicts"
    verdicts.mkdir(parents=True)
    lines = ["\ufeffitem,group,flag,score"] + [f"i{k},,{f},0.5" for k, f in enumerate(flags)]
    (verdicts / "answer.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if figure:
        (tmp_path / "results" / "figures").mkdir(parents=True)
        (tmp_path / "results" / "figures" / "where.png").write_bytes(b"png")
    for batch, its in (batches or {}).items():
        folder = tmp_path / "results" / "batches" / batch
        folder.mkdir(parents=True)
        (folder / "verdicts.csv").write_text(
            "item,flag\n" + "".join(f"b{k},{f}\n" for k, f in enumerate(its)))
    return tmp_path


def test_closing_lines_count_the_flagged(tmp_path):
    where = answer_folder(tmp_path, ["abnormal", "normal", "abnormal"],
                          {"monday": ["normal"] * 4 + ["abnormal"], "tuesday": []})
    assert closing.closing_lines(where, ["monday", "tuesday"]) == [
        "answer: results/verdicts/answer.csv: 2 of 3 images flagged; figures: "
        "results/figures/where.png",
        "batch monday: results/batches/monday/verdicts.csv: 1 of 5 images flagged",
        "batch tuesday: results/batches/tuesday/verdicts.csv: 0 of 0 images flagged"]
    # a run that made or checked no answer (a sweep alone) names none of an older run's
    assert closing.closing_lines(where, ["monday"], targets={"results/sweeps/x.csv"}) == []
    assert closing.closing_lines(tmp_path / "nothing") == []


def test_closing_lines_without_the_figure(tmp_path):
    where = answer_folder(tmp_path, ["normal"], figure=False)
    assert closing.closing_lines(where) == [
        "answer: results/verdicts/answer.csv: 0 of 1 images flagged"]


def test_the_answer_is_printed_after_everything_else(tmp_path):
    """Snakemake prints its log's name and the time taken after its onsuccess hook: the
    answer comes after those, at the process's exit."""
    where = answer_folder(tmp_path, ["abnormal", "normal"])
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from soart_core.closing import say_where_the_answer_is
        say_where_the_answer_is({str(where)!r})
        print("Complete log(s): ...", flush=True)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60).stdout
    assert out.splitlines() == [
        "Complete log(s): ...",
        "answer: results/verdicts/answer.csv: 1 of 2 images flagged; figures: "
        "results/figures/where.png"]


def test_the_profile_keeps_snakemakes_listing_quiet():
    import yaml

    profile = yaml.safe_load((ROOT / "profiles" / "default" / "config.yaml").read_text())
    # every part of Snakemake's --quiet choices but `all`, which hides its errors too
    assert set(profile["quiet"]) == {"rules", "host", "reason", "progress"}


def test_readmes_first_command_ends_on_the_answer(images_run):
    """README's first command's last line names the answer's file and counts its flagged
    images, as answer.csv holds them; README quotes that line as the example gives it;
    Snakemake's own listing stays short."""
    out = run_output(images_run).strip().splitlines()
    answer = rows(images_run / "results" / "verdicts" / "answer.csv")
    flagged = sum(r["flag"] == "abnormal" for r in answer)
    want = (f"answer: results/verdicts/answer.csv: {flagged} of {len(answer)} images "
            f"flagged; figures: results/figures/where.png")
    assert out[-1] == want, out[-5:]
    assert f"\n{want}\n" in README
    assert len(out) < 40 and max(len(line) for line in out) < 400, len(out)


def test_readmes_and_docs_score_sentences_hold_on_the_example(images_run):
    """README and docs/results.md: the example's normal images score lo to hi, median m
    (within 0.15, as quoted to 2 decimals: within 0.005 of the rounding), and n of 10
    are flagged."""
    summary = rows(images_run / "results" / "verdicts" / "summary.csv")
    normal = [float(r["score"]) for r in summary if r["group"] == "NORMAL"]
    n_flagged = sum(r["flag"] == "abnormal" for r in summary if r["group"] == "NORMAL")
    for text in (README, RESULTS_DOC):
        text = " ".join(text.split())
        lo, hi, median = map(float, re.search(
            r"normal (?:images|items) score (\d\.\d+) to (\d\.\d+),? median (\d\.\d+)",
            text).groups())
        assert min(normal) == pytest.approx(lo, abs=0.005)
        assert max(normal) == pytest.approx(hi, abs=0.005)
        assert statistics.median(normal) == pytest.approx(median, abs=0.005)
    said = re.search(r"(\d+) of (\d+) are flagged", " ".join(README.split())).groups()
    assert (int(said[0]), int(said[1])) == (n_flagged, len(normal))
    assert "0.5 is a typical normal image" not in README


def test_the_balanced_accuracies_quoted_hold_on_the_example(images_run):
    """README's and docs/results.md's balanced accuracies of the attention's nearest
    centroid and LDA, per metric, as the example's evaluation gives them (2 decimals)."""
    table = {(r["metric"], r["method"]): r["balanced_accuracy"]
             for r in rows(images_run / "results" / "evaluation" / "summary.csv")}
    for text in (README, RESULTS_DOC):
        text = " ".join(text.split())
        found = re.search(r"balanced accuracies of (\d\.\d+) \(Y1\), (\d\.\d+) \(Y2\) and "
                          r"(\d\.\d+) \(Y3\), while LDA on the thresholded metrics "
                          r"reaches (\d\.\d+), (\d\.\d+) and (\d\.\d+)", text)
        assert found, "the sentence moved"
        quoted = list(map(float, found.groups()))
        for k, metric in enumerate(("Y1", "Y2", "Y3")):
            assert float(table[metric, "attention_nearest_centroid"]) == \
                pytest.approx(quoted[k], abs=0.005)
            assert float(table[metric, "metrics_lda"]) == pytest.approx(quoted[3 + k],
                                                                         abs=0.005)


# ---- summary.csv: the answer first -----------------------------------------------------
def test_summary_columns_answer_first():
    """answer_first puts what the answer gives first (a column added to the answer later,
    such as peak_row, among them), then each detector's, then each metric's."""
    given = {k: [] for k in (
        "item", "group", "predicted", "score", "flag", "promise", "method", "where",
        "nearest_normal", "raw_score", "attention_score", "attention_flag", "mt_score",
        "mt_flag", "weight_NORMAL", "judges_attended", "peak_row", "peak_col",
        "Y1_predicted", "Y1_score", "Y1_raw_score", "Y1_flag", "Y1_mt_distance",
        "Y1_mt_flag")}
    # a metric's columns before the answer's, as a change could put them
    given = {"Y1_score": [], **given}
    order = list(jobs.answer_first(given, ["attention", "mt"], ["Y1"]))
    assert order == [
        "item", "group", "predicted", "score", "flag", "promise", "method", "where",
        "nearest_normal", "raw_score", "peak_row", "peak_col",
        "attention_score", "attention_flag", "mt_score", "mt_flag", "weight_NORMAL",
        "judges_attended",
        "Y1_score", "Y1_predicted", "Y1_raw_score", "Y1_flag", "Y1_mt_distance",
        "Y1_mt_flag"]


def test_summary_csv_reads_answer_first(images_run):
    with open(images_run / "results" / "verdicts" / "summary.csv", encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    assert header[:11] == ["item", "group", "predicted", "score", "flag", "promise",
                           "method", "where", "peak_row", "peak_col", "nearest_normal"]
    first_metric = min(header.index(c) for c in header if re.match(r"Y\d_", c))
    assert all(header.index(c) < first_metric for c in header
               if c.endswith(("_flag", "_score")) and not re.match(r"Y\d_", c))


# ---- where.png: the image's path as given ----------------------------------------------
def test_where_titles_name_the_path_as_given():
    one = figures.where_title("valid/ERROR_A/img_01.png", 0.97, "X0 (row 0, col 0)",
                              "learn/NORMAL/img_03.png")
    other = figures.where_title("valid/ERROR_B/img_01.png", 0.97, "X0 (row 0, col 0)",
                                "learn/NORMAL/img_03.png")
    assert one.splitlines() == ["valid/ERROR_A/img_01.png", "score 0.970, X0 (row 0, col 0)",
                                "nearest normal: learn/NORMAL/img_03.png"]
    assert one != other
    long = figures.where_title("a/" * 40 + "img.png", 0.5, "X1", "n.png").splitlines()[0]
    assert len(long) == 44 and long.startswith("a/a/") and long.endswith("a/img.png")


# ---- messages in the user's words ------------------------------------------------------
def images_folder(tmp_path):
    folder = tmp_path / "images"
    for group in ("NORMAL", "ERROR_A"):
        (folder / "learn" / group).mkdir(parents=True)
        (folder / "learn" / group / "a.png").write_bytes(b"")
    (folder / "valid").mkdir()
    return folder


def test_an_empty_valid_folder_is_named(workflow_copy, tmp_path):
    folder = images_folder(tmp_path)
    with pytest.raises(Exception) as err:
        find_images(str(folder), ["NORMAL", "ERROR_A"])
    assert str(err.value).startswith(f"{folder / 'valid'}: no images (.png")
    # as a user meets it: one line while planning, naming the folder
    proc = in_process.run(workflow_copy, config=[f"images_dir={folder}"], check=False)
    assert proc.returncode == 1
    assert f"soart: error: {folder / 'valid'}: no images (.png" in proc.stdout
    assert "put the images to inspect directly in valid/ (unlabeled) or in " \
        "valid/{GROUP}/" in proc.stdout
    assert "header but no data rows" not in proc.stdout


def test_a_group_name_with_a_space_is_refused_in_words(workflow_copy):
    bad = write_yaml(workflow_copy / "groups.yaml",
                     {"groups": {"order": ["良品", "不良 A", "汚れ"]}})
    proc = in_process.run(workflow_copy, configfiles=[bad], check=False)
    assert proc.returncode == 1
    assert "soart: error: config key 'groups.order.1': '不良 A' is not a name soart " \
        "takes: use letters (of any script), digits, '_', '.' and '-' only, no space" \
        in proc.stdout, proc.stdout
    assert "does not match" not in proc.stdout and "^[" not in proc.stdout


def test_a_nested_null_on_the_command_line_is_null(workflow_copy):
    """docs/configuration.md: nested --config values keep YAML's types, null too."""
    proc = in_process.run(workflow_copy, "normalise", config=['baseline={"group":null}'],
                          check=False)
    assert proc.returncode == 0, proc.stdout
    assert "is not in groups.order" not in proc.stdout
    config = {"baseline": {"method": "group_mean", "group": "null"}, "images_dir": "~"}
    schema = settings.load_schema(str(ROOT))
    settings.nulls_from_command_line(config, {"baseline": {"group": "null"},
                                              "images_dir": "~"}, schema)
    assert config == {"baseline": {"method": "group_mean", "group": None},
                      "images_dir": None}
    # a key that may not be null keeps its text (the schema then says what it wants)
    config = {"baseline": {"method": "null", "group": "NORMAL"}}
    settings.nulls_from_command_line(config, {"baseline": {"method": "null"}}, schema)
    assert config["baseline"]["method"] == "null"


# ---- the report: written whole, opening at its top -------------------------------------
def test_a_killed_report_writer_leaves_the_last_whole_report(tmp_path):
    """Snakemake's report writer, wrapped as the Snakefile wraps it, killed (SIGKILL)
    half-way through writing: report.html is still the last complete report."""
    report = tmp_path / "results" / "report.html"
    report.parent.mkdir()
    report.write_text("<html>the last whole report</html>")
    code = textwrap.dedent(f"""
        import dataclasses, os, signal, sys
        from pathlib import Path
        sys.path.insert(0, {str(ROOT)!r})
        from soart_core.report import write_reports_atomically

        @dataclasses.dataclass
        class Settings:
            path: Path = None

        class Workflow:
            def create_report(self, report_plugin, report_settings, global_report_settings):
                with open(report_settings.path, "w") as out:
                    out.write("<html>half a rep")
                    out.flush()
                    os.kill(os.getpid(), signal.SIGKILL)

        workflow = write_reports_atomically(Workflow())
        workflow.create_report(report_plugin=None,
                               report_settings=Settings(Path({str(report)!r})),
                               global_report_settings=None)
    """)
    proc = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert report.read_text() == "<html>the last whole report</html>"


def test_a_finished_report_replaces_the_old_one(tmp_path):
    from dataclasses import dataclass
    from pathlib import Path

    @dataclass
    class Settings:
        path: Path = None

    seen = []

    class Workflow:
        def create_report(self, report_plugin, report_settings, global_report_settings):
            seen.append(report_settings.path)
            report_settings.path.write_text("new")

    report = tmp_path / "out" / "report.html"
    workflow = write_reports_atomically(Workflow())
    assert write_reports_atomically(workflow) is workflow  # wrapped once
    workflow.create_report(report_plugin=None, report_settings=Settings(report),
                           global_report_settings=None)
    assert report.read_text() == "new"
    [scratch] = seen
    assert scratch != report and scratch.name == report.name  # (a .zip's inner folder)
    assert os.listdir(report.parent) == ["report.html"]  # no scratch left


def test_the_report_command_replaces_the_file(example_run, tmp_path):
    """README's report command writes a new file and renames it over the old one (its
    inode changes), instead of writing over it in place."""
    from conftest import copied_run, snakemake

    workdir = copied_run(example_run, tmp_path / "run")
    report = workdir / "results" / "report.html"
    report.write_text("old")
    before = report.stat().st_ino
    snakemake(workdir, "--report", "results/report.html")
    assert report.stat().st_ino != before and report.stat().st_size > 100_000
    assert report.read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert [p.name for p in report.parent.glob(".report.html.partial-*")] == []


def snakemake_component(name):
    from pathlib import Path

    import snakemake

    return (Path(snakemake.__file__).parent / "report" / "html_reporter" /
            "template" / "components" / name).read_text(encoding="utf-8")


def test_the_front_page_css_fits_snakemakes_landing_page():
    """What the front page's CSS (workflow/report/workflow.rst) relies on: Snakemake's
    landing page box (centred, screen-high) and its text column (prose, max-w-lg), in
    the Snakemake installed; and the page's rules that put it at its top, full width.
    (tests/test_report_browser.py opens the report in Chromium, opted in.)"""
    content = snakemake_component("content.js")
    assert '"grow flex items-center justify-center h-screen overflow-auto"' in content
    assert '"prose prose-sm max-w-lg"' in content
    page = (ROOT / "workflow" / "report" / "workflow.rst").read_text(encoding="utf-8")
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert '<div id="soart-front" hidden></div>' in page
    rules = dict(re.findall(r"([^{}/]+?)\s*\{([^}]*)\}", re.sub(r"/\*.*?\*/", "", style,
                                                                flags=re.S)))
    rules = {" ".join(k.split()): " ".join(v.split()) for k, v in rules.items()}
    assert rules["div.h-screen:has(#soart-front)"] == \
        "align-items: flex-start; justify-content: flex-start;"
    assert "flex-direction: column;" in rules["div.h-screen:has(#soart-front) > div"]
    assert rules[".prose:has(#soart-front)"] == "max-width: none;"
