"""The HTML report shows the tables a person reads (verdict summary, evaluation, blocks,
sweep rankings) as tables on its front page, and every figure draws the user's
Japanese group names without a missing glyph; run as a user would, with 良品 / 不良A /
汚れ as groups."""

import csv
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import ROOT, copy_workflow, snakemake

NAMES = {"NORMAL": "良品", "ERROR_A": "不良A", "ERROR_B": "汚れ"}


class Tables(HTMLParser):
    """The rubric titles and tables (as lists of rows of cell texts) of an HTML text."""

    def __init__(self):
        super().__init__()
        self.tables, self.titles, self._cell, self._rubric = [], [], None, False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "p" and ("class", "rubric") in attrs:
            self._rubric, self._title = True, ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell.strip())
            self._cell = None
        elif tag == "p" and self._rubric:
            self.titles.append(self._title.strip())
            self._rubric = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        elif self._rubric:
            self._title += data


def parsed(html):
    tables = Tables()
    tables.feed(html)
    return tables


def front_page(report):
    """The report's front page (the workflow description) as the browser gets it."""
    text = report.read_text(encoding="utf-8")
    found = re.search(r"var workflow_desc = (\".*?\");\n", text, re.S)
    assert found, "no workflow description in the report"
    return json.loads(found.group(1))


def csv_rows(path):
    with open(path, encoding="utf-8-sig", newline="") as stream:
        return list(csv.reader(stream))


@pytest.fixture(scope="module")
def japanese_run(tmp_path_factory):
    """The example's tables with the groups named in Japanese, a two-instance sweep
    ranked by a detector's figure, and README's report command for both."""
    workdir = copy_workflow(tmp_path_factory.mktemp("report"))
    for table in (workdir / "resources" / "example").glob("*.csv"):
        text = table.read_text(encoding="utf-8")
        for old, new in NAMES.items():
            text = text.replace(old, new)
        table.write_text(text, encoding="utf-8")
    (workdir / "names.yaml").write_text(
        "groups:\n  order: [良品, 不良A, 汚れ]\n"
        "evaluate:\n  rank_by: roc_auc\n  rank_method: difference_mt\n"
        "sweeps:\n  example:\n    threshold.learn.cutoff: [0.3, 0.4]\n", encoding="utf-8")
    snakemake(workdir, "all", "sweep", "--configfile", "names.yaml")
    snakemake(workdir, "--report", "results/report.html", "all", "sweep",
              "--configfile", "names.yaml")
    return workdir


def test_figures_draw_the_japanese_names(japanese_run):
    log = (japanese_run / "results" / "logs" / "figures.log").read_text(encoding="utf-8")
    assert "missing from font" not in log and "Glyph" not in log, log[:2000]
    assert len(list((japanese_run / "results" / "figures").glob("*.png"))) == 14


def test_the_front_page_shows_the_tables(japanese_run):
    results = japanese_run / "results"
    page = parsed(front_page(results / "report.html"))
    assert page.titles == [
        "The answer: flagged images first", "Evaluation: can the groups be told apart?",
        "Blocks (Y1)", "Blocks (Y2)", "Blocks (Y3)",
        "Sweep example: instances ranked, ties share a rank"]
    sources = [results / "verdicts" / "answer.csv", results / "evaluation" / "summary.csv",
               *[results / "blocks" / f"Y{k}.csv" for k in (1, 2, 3)],
               results / "sweeps" / "example" / "summary.csv"]
    assert len(page.tables) == len(sources)
    for table, source in zip(page.tables, sources):
        assert table == csv_rows(source), source  # every row and cell, as in the CSV
    verdicts = page.tables[0]
    assert {row[1] for row in verdicts[1:]} == set(NAMES.values())
    assert page.tables[-1][0][:3] == ["rank", "ties", "instance"]


def test_one_answer_everywhere(japanese_run):
    """summary.csv, answer.csv (the report's front table), the workbook's answer sheet
    and the answer figure: one flag, one score and one predicted group per item."""
    from openpyxl import load_workbook

    results = japanese_run / "results"
    summary = csv_rows(results / "verdicts" / "summary.csv")
    head, rows = summary[0], summary[1:]
    truth = {r[head.index("item")]: (r[head.index("flag")], float(r[head.index("score")]),
                                     r[head.index("predicted")]) for r in rows}
    front = parsed(front_page(results / "report.html")).tables[0]
    assert front[0][:5] == ["item", "group", "flag", "score", "predicted"]
    assert len(front) - 1 == len(truth)
    for item, _, flag, score, predicted, *_ in front[1:]:
        assert (flag, predicted) == (truth[item][0], truth[item][2])
        assert float(score) == round(truth[item][1], 3)
    flags = [row[2] for row in front[1:]]
    assert flags == sorted(flags)  # abnormal first
    sheet = load_workbook(results / "workbook.xlsx", read_only=True)["answer"]
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    cells = cells[:cells.index([])] if [] in cells else cells  # the notes below
    at = {name: cells[0].index(name) for name in ("item", "flag", "score", "predicted")}
    assert len(cells) - 1 == len(truth)
    for row in cells[1:]:
        flag, score, predicted = truth[row[at["item"]]]
        assert (row[at["flag"]], row[at["predicted"]]) == (flag, predicted)
        assert row[at["score"]] == pytest.approx(score, rel=1e-12)


def test_the_answer_figure_names_the_flagged_items(tmp_path):
    """With more items than fit the axis, the answer figure names summary.csv's flagged
    items (and only those), its line at 1 - a."""
    import numpy as np

    from soart_core import figures

    n = 100
    score = np.linspace(0.01, 0.99, n)
    flag = np.where(score >= 0.95, "abnormal", "normal")
    summary = {"item": [f"img_{k:03d}.png" for k in range(n)], "group": [""] * n,
               "predicted": np.where(flag == "abnormal", "不良A", "良品"),
               "score": score, "flag": flag, "method": ["regions"] * n}
    title, names = figures.answer_plot(summary, 0.05, ["良品", "不良A"], tmp_path / "a.png")
    assert names == [summary["item"][k] for k in np.flatnonzero(flag == "abnormal")]
    assert title == "answer (regions): 5 of 100 items flagged, 100 unlabeled"


def test_the_sweep_ranks_by_the_detectors_figure(japanese_run, tmp_path):
    """evaluate.rank_by roc_auc of rank_method difference_mt: the instances in its order;
    a figure that method does not have is one line, before any job."""
    summary = csv_rows(japanese_run / "results" / "sweeps" / "example" / "summary.csv")
    ranked = [float(row[summary[0].index("mean_roc_auc")]) for row in summary[1:]]
    assert len(ranked) == 2 and ranked == sorted(ranked, reverse=True)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("evaluate:\n  rank_by: accuracy\n  rank_method: difference_mt\n")
    proc = snakemake(japanese_run, "-n", "--configfile", str(wrong), check=False)
    assert proc.returncode == 1
    assert "config key 'evaluate.rank_by': 'accuracy' is not a figure of " \
           "evaluate.rank_method 'difference_mt'" in proc.stdout


def render_front_page(records):
    """workflow/report/workflow.rst as Snakemake renders it (Jinja, then docutils), on
    hand-made report entries."""
    from docutils.core import publish_parts
    from jinja2 import Environment

    text = (ROOT / "workflow" / "report" / "workflow.rst").read_text(encoding="utf-8")
    categories = {"Verdicts": {"summary": records}}
    rst = Environment(trim_blocks=True, lstrip_blocks=True).from_string(text).render(
        snakemake=SimpleNamespace(config={}), categories=categories, files={})
    return publish_parts(rst, writer_name="html")["html_body"]


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # as Snakemake calls it
def test_a_large_table_is_named_not_shown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("small.csv").write_text("item,flag\n良品_1.png,normal\n", encoding="utf-8")
    Path("large.csv").write_text("item,flag\n" + "x.png,normal\n" * 40000, encoding="utf-8")
    entry = dict(labels={"table": "answer"})
    html = render_front_page([SimpleNamespace(path=Path("small.csv"), size=30, **entry),
                              SimpleNamespace(path=Path("large.csv"), size=520011, **entry)])
    page = parsed(html)
    assert page.tables == [[["item", "flag"], ["良品_1.png", "normal"]]]
    text = " ".join(re.sub(r"<[^>]+>", "", html).split())
    assert "large.csv (0.5 MB) is too large to show here" in text


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_names_show_as_they_are(tmp_path, monkeypatch):
    """Names that are markup in the report's text format (RST) show as written, in a
    table as Excel saves it (BOM, CRLF)."""
    monkeypatch.chdir(tmp_path)
    rows = [["item", "flag"], ["NG_", "a_b_"], ["*1", "|x|"], ["`q", "\\"],
            ["a,b \"c\"", "良品_1.png"], ["- 1", "=HYPERLINK(1)"], ["1. a", "(b) c"],
            [".. x", ":f: g"], ["----", "[1]_"], [">>> y", "<z>`_"], ["-0.25", "1e-05"]]
    with open("t.csv", "w", encoding="utf-8-sig", newline="") as stream:
        csv.writer(stream, lineterminator="\r\n").writerows(rows)
    html = render_front_page([SimpleNamespace(path=Path("t.csv"), size=80,
                                              labels={"table": "answer"})])
    assert parsed(html).tables == [rows]
    assert "system-message" not in html


def test_the_report_opens_in_a_headless_browser(japanese_run, tmp_path):
    """Chromium runs the report's scripts and its page holds the tables. Runs where a
    Chromium is installed (Debian: apt-get install chromium); the tests install none."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("no headless Chromium on this machine (the HTML is checked above)")
    report = japanese_run / "results" / "report.html"
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                          "--virtual-time-budget=10000", "--dump-dom", report.as_uri()],
                         capture_output=True, text=True, timeout=180, check=True).stdout
    page = parsed(dom)
    assert "The answer: flagged images first" in page.titles
    assert "Sweep example: instances ranked, ties share a rank" in page.titles
    shown = [t for t in page.tables if t and t[0][:2] == ["item", "group"]]
    assert shown and len(shown[0]) == 31  # the header and the 30 items
