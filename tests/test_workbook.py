"""results/workbook.xlsx, read back with openpyxl: the answer sheet first; the stage
CSVs' values exactly, as numbers; names as text, never formulas; borders on the group
boundaries; conditional formats; number formats; frozen panes; group means above
workbook.max_items; the settings sheet. The LibreOffice test is opt-in
(SOART_TEST_LIBREOFFICE=1)."""

import os
import shutil
import subprocess

import numpy as np
import pytest
from openpyxl import load_workbook

from conftest import read_csv_cells
from soart_core import jobs, workbook
from soart_core.tables import Table, write_columns, write_rounded, write_table

ORDER = ["NORMAL", "ERROR_A", "ERROR_B"]
# names anyone can choose through a file name: formulas, signs, error codes, numbers,
# "#" (which numpy.loadtxt would take for a comment)
ITEMS = ["=HYPERLINK(\"http://x\",\"y\")", "-1", "+a", "@b", "#N/A", "001", "a#b.png",
         "=1+1", "x,y", "'quoted"]
ITEM_GROUPS = ["NORMAL", "NORMAL", "NORMAL", "ERROR_A", "ERROR_A", "NORMAL", "ERROR_B",
               "ERROR_B", "", ""]
JUDGES = ["j0", "=j1", "j2", "-j3", "j4", "j5", "@j6"]
JUDGE_GROUPS = ["NORMAL", "NORMAL", "ERROR_A", "ERROR_A", "ERROR_A", "ERROR_B", "NORMAL"]
WORDS = ["Y1", "Y2"]


@pytest.fixture
def stage(tmp_path):
    """Small stage CSVs as the workflow writes them, and the workbook's arguments."""
    rng = np.random.default_rng(1)
    files = {"attention": [], "difference": [], "blocks": [], "verdicts": []}
    for metric in WORDS:
        attention = rng.random((len(ITEMS), len(JUDGES)))
        # 17 significant digits: what openpyxl's own '%.16g' would not keep
        difference = attention - attention[:3].mean(axis=0) + 1.2999999999152578e-05
        for kind, values in (("attention", attention), ("difference", difference)):
            path = tmp_path / kind / f"{metric}.csv"
            write_table(Table(str(path), ITEMS, ITEM_GROUPS, JUDGES, values), "item", path)
            files[kind].append(str(path))
        table = Table("d", ITEMS, ITEM_GROUPS, JUDGES, difference)
        path = tmp_path / "blocks" / f"{metric}.csv"
        write_columns(path, jobs.score_blocks(table, JUDGE_GROUPS, ORDER, 1e-5))
        files["blocks"].append(str(path))
        path = tmp_path / "verdicts" / f"{metric}.csv"
        write_columns(path, {"item": ITEMS, "group": ITEM_GROUPS,
                             "predicted": [ORDER[i % 3] for i in range(len(ITEMS))],
                             "mt_distance": rng.random(len(ITEMS)) * 3,
                             "mt_flag": ["abnormal" if i % 4 == 0 else "normal"
                                      for i in range(len(ITEMS))],
                             **{f"sign_{g}": rng.choice([-1.0, 0.0, 1 / 3], len(ITEMS))
                                for g in ORDER}})
        files["verdicts"].append(str(path))
    summary = tmp_path / "evaluation" / "summary.csv"
    write_rounded(summary, {"metric": ["Y1", "Y1", "Y2"], "method": ["a", "b", "a"],
                            "n": np.array([10, 10, 10]),
                            "accuracy": np.array([0.5, np.nan, 0.2]),
                            "chance_accuracy": np.array([0.3, 0.3, 0.3]),
                            "accuracy_low": np.array([0.31, np.nan, 0.1]),
                            "warnings": ["", "-not computed", ""]})
    verdict_summary = tmp_path / "verdicts" / "summary.csv"
    write_columns(verdict_summary, {
        "item": ITEMS, "group": ITEM_GROUPS,
        "predicted": [ORDER[i % 3] for i in range(len(ITEMS))],
        "score": rng.random(len(ITEMS)),
        "flag": ["abnormal" if i % 3 == 0 else "normal" for i in range(len(ITEMS))],
        "raw_score": rng.random(len(ITEMS)),
        **{f"{m}_{c}": ([ORDER[i % 3] for i in range(len(ITEMS))] if c == "predicted"
                        else ["normal"] * len(ITEMS) if c == "flag"
                        else rng.random(len(ITEMS)))
           for m in WORDS for c in ("predicted", "score", "flag")}}, bom=True)
    judges = tmp_path / "normalise" / "judges.csv"
    write_columns(judges, {"judge": JUDGES, "group": JUDGE_GROUPS})
    return dict(words=WORDS, order=ORDER, summary=str(summary), judge_groups=str(judges),
                verdict_summary=str(verdict_summary),
                settings={"groups": {"order": ORDER}, "id": "=cmd", "words": None,
                          "workbook": {"max_items": 20000}},
                versions={"soart": "0.1.0", "python": "3"}, **files)


def write(tmp_path, stage, **changes):
    path = tmp_path / "workbook.xlsx"
    workbook.write_workbook(path, **{**stage, **changes})
    return load_workbook(path), path


def sheet_rows(ws):
    return [list(row) for row in ws.iter_rows(values_only=True)]


def test_item_sheets_hold_the_csvs_exactly(tmp_path, stage):
    wb, _ = write(tmp_path, stage)
    assert wb.sheetnames == ["answer", "Y1 difference", "Y2 difference", "Y1 attention",
                             "Y2 attention", "blocks", "evaluation", "verdicts", "settings"]
    assert wb.active.title == "answer"  # it opens on the answer
    for kind in ("difference", "attention"):
        for metric, path in zip(WORDS, stage[kind]):
            header, text, numbers = read_csv_cells(path)
            ws = wb[f"{metric} {kind}"]
            rows = sheet_rows(ws)
            assert rows[0] == ["item", "group"] + JUDGES
            assert rows[1] == [None, "judge group"] + JUDGE_GROUPS
            assert len(rows) == 2 + len(ITEMS)
            for row, cells, values in zip(rows[2:], text, numbers):
                assert row[:2] == [workbook.unescape([c])[0] or None for c in cells[:2]]
                assert row[2:] == values[2:]  # exactly: every digit of the CSV
                assert all(type(v) is float for v in row[2:])  # numbers, not text
            assert rows[2][:2] == [ITEMS[0], "NORMAL"]


def test_formula_like_names_stay_text(tmp_path, stage):
    wb, _ = write(tmp_path, stage)
    ws = wb["Y1 difference"]
    for r, item in enumerate(ITEMS, start=3):
        cell = ws.cell(r, 1)
        assert cell.value == item and cell.data_type == "s", (item, cell.data_type)
    for c, judge in enumerate(JUDGES, start=3):
        assert ws.cell(1, c).value == judge and ws.cell(1, c).data_type == "s"
    verdicts = wb["verdicts"]
    assert [verdicts.cell(r, 2).value for r in range(2, 2 + len(ITEMS))] == ITEMS
    assert all(verdicts.cell(r, 2).data_type == "s" for r in range(2, 2 + len(ITEMS)))
    settings = {row[0]: row[1] for row in sheet_rows(wb["settings"]) if row[0]}
    assert settings["id"] == "=cmd"
    # no cell anywhere is a formula
    for ws in wb.worksheets:
        assert not [c.coordinate for row in ws.iter_rows() for c in row
                    if c.data_type == "f"], ws.title


def test_borders_rule_the_blocks_where_a_group_changes(tmp_path, stage):
    wb, _ = write(tmp_path, stage)
    ws = wb["Y1 difference"]
    new_judge_group = {3 + j for j in range(1, len(JUDGES))
                       if JUDGE_GROUPS[j] != JUDGE_GROUPS[j - 1]}
    new_item_group = {3 + i for i in range(1, len(ITEMS))
                      if ITEM_GROUPS[i] != ITEM_GROUPS[i - 1]}
    assert new_judge_group == {5, 8, 9} and new_item_group == {6, 8, 9, 11}
    for row in range(1, 3 + len(ITEMS)):
        for col in range(1, 3 + len(JUDGES)):
            border = ws.cell(row, col).border
            left, top, right, bottom = (getattr(side, "style", None) for side in (
                border.left, border.top, border.right, border.bottom))
            assert (left == "medium") == (col in new_judge_group), (row, col)
            assert (top == "medium") == (row in new_item_group), (row, col)
            assert right is None and bottom is None


def test_conditional_formats_and_frozen_panes(tmp_path, stage):
    wb, _ = write(tmp_path, stage)
    last = 2 + len(ITEMS)
    for title in ("Y1 difference", "Y2 attention"):
        ws = wb[title]
        assert ws.freeze_panes == "C3"
        (formats,) = list(ws.conditional_formatting)
        assert str(formats.sqref) == f"C3:I{last}"
        (rule,) = formats.rules
        assert rule.type == "colorScale"
    scale = list(wb["Y1 difference"].conditional_formatting)[0].rules[0].colorScale
    middle = scale.cfvo[1]
    assert (middle.type, float(middle.val)) == ("num", 0.0)
    assert [c.rgb[-6:] for c in scale.color] == [workbook.BLUE, workbook.WHITE, workbook.RED]
    # symmetric about 0: -m and +m, m the largest |value|, as formulas (they follow edits)
    assert scale.cfvo[0].type == scale.cfvo[2].type == "formula"
    assert scale.cfvo[0].val == "-" + scale.cfvo[2].val
    assert f"$C$3:$I${last}" in scale.cfvo[2].val
    blocks = {str(f.sqref): f.rules[0].type for f in wb["blocks"].conditional_formatting}
    assert blocks == {f"H2:H{1 + 2 * 9}": "colorScale"}  # sign_score, 9 blocks per metric
    # green only where the interval's lower end is above chance (column F: accuracy_low)
    evaluation = [(str(f.sqref), f.rules[0].formula) for f in
                  wb["evaluation"].conditional_formatting]
    assert evaluation == [("D2:D4", ["AND(ISNUMBER(F2),ISNUMBER(E2),F2>E2)"])]
    verdicts = {str(f.sqref): f.rules[0].type for f in wb["verdicts"].conditional_formatting}
    assert verdicts[f"F2:F{1 + 2 * len(ITEMS)}"] == "cellIs"
    assert wb["verdicts"].freeze_panes == "C2" and wb["blocks"].freeze_panes == "D2"


def test_tables_equal_their_csvs(tmp_path, stage):
    wb, _ = write(tmp_path, stage)

    def stacked(paths, text_columns):
        rows = []
        for metric, path in zip(WORDS, paths):
            header, text, numbers = read_csv_cells(path)
            rows += [[metric] + [workbook.unescape([t])[0] or None if h in text_columns
                                 else n for h, t, n in zip(header, tr, nr)]
                     for tr, nr in zip(text, numbers)]
        return ["metric"] + header, rows

    for name, text_columns in (("blocks", workbook.BLOCK_TEXT),
                               ("verdicts", workbook.MT_TEXT)):
        header, rows = stacked(stage[name], text_columns)
        got = sheet_rows(wb[name])
        assert got[0] == header
        assert got[1:1 + len(rows)] == rows
    counts = [row[3:7] for row in sheet_rows(wb["blocks"])[1:] if row[1]]
    assert counts and all(type(v) is int for row in counts for v in row)
    evaluation = sheet_rows(wb["evaluation"])
    assert evaluation[:4] == [
        ["metric", "method", "n", "accuracy", "chance_accuracy", "accuracy_low",
         "warnings"],
        ["Y1", "a", 10, 0.5, 0.3, 0.31, None],
        ["Y1", "b", 10, None, 0.3, None, "-not computed"],  # empty: not computed
        ["Y2", "a", 10, 0.2, 0.3, 0.1, None]]
    assert "95 % interval lies above its chance level" in evaluation[-1][0]


def test_verdicts_sheet_only_where_given(tmp_path, stage):
    wb, _ = write(tmp_path, stage, verdicts=None)
    assert "verdicts" not in wb.sheetnames and "settings" in wb.sheetnames


def test_settings_sheet(tmp_path, stage):
    wb, _ = write(tmp_path, stage, versions=None)
    rows = sheet_rows(wb["settings"])
    assert rows[0] == ["setting", "value"]
    assert rows[1:5] == [["groups.order", '["NORMAL", "ERROR_A", "ERROR_B"]'],
                         ["id", "=cmd"], ["words", "null"], ["workbook.max_items", "20000"]]
    assert all(type(v) is str for row in rows[1:5] for v in row)
    packages = rows[rows.index(["package", "version"]) + 1:]
    assert [p for p, _ in packages] == list(workbook.PACKAGES)
    assert dict(packages)["polars"] == workbook.package_versions()["polars"] != \
        "not installed"


def test_large_run_holds_group_means(tmp_path, stage):
    wb, _ = write(tmp_path, stage, max_items=len(ITEMS) - 1)
    ws = wb["Y1 difference"]
    rows = sheet_rows(ws)
    assert rows[0][:2] == ["item group", "items"]
    groups = ["NORMAL", "ERROR_A", "ERROR_B", ""]  # groups.order first, then the others
    assert [r[0] for r in rows[2:6]] == ["NORMAL", "ERROR_A", "ERROR_B", "(no group)"]
    assert [r[1] for r in rows[2:6]] == [4, 2, 2, 2]
    _, _, numbers = read_csv_cells(stage["difference"][0])
    values, item_groups = np.array([r[2:] for r in numbers]), np.array(ITEM_GROUPS)
    for row, g in zip(rows[2:6], groups):
        assert row[2:] == values[item_groups == g].mean(axis=0).tolist()
    notes = [r[0] for r in rows[6:] if r[0]]
    assert f"{len(ITEMS)} items, more than workbook.max_items ({len(ITEMS) - 1})" in notes[0]
    assert stage["difference"][0] in notes[-1]
    assert ws.cell(4, 1).border.top.style == "medium"  # each row its own group
    assert ws.cell(3, 1).border.top is None or ws.cell(3, 1).border.top.style is None
    assert str(list(ws.conditional_formatting)[0].sqref) == "C3:I6"
    verdicts = sheet_rows(wb["verdicts"])
    assert verdicts[0][:5] == ["metric", "group", "items", "abnormal", "mean_distance"]
    assert sum(r[2] for r in verdicts[1:] if r[0] == "Y1") == len(ITEMS)
    assert any("more than workbook.max_items" in (r[0] or "") for r in verdicts)


def test_too_many_judges_for_a_sheet(tmp_path):
    """More judges than a sheet's columns: each judge group's mean column instead."""
    n = workbook.MAX_COLUMNS  # > MAX_COLUMNS - 2 data columns
    judges = [f"j{k}" for k in range(n)]
    groups = ["NORMAL"] * (n // 2) + ["ERROR_A"] * (n - n // 2)
    values = np.arange(2.0 * n).reshape(2, n)
    path = tmp_path / "d.csv"
    write_table(Table(str(path), ["a", "b"], ["NORMAL", "ERROR_A"], judges, values), "item",
                path)
    write_columns(tmp_path / "judges.csv", {"judge": judges, "group": groups})
    from soart_core import xlsx

    with open(tmp_path / "w.xlsx", "wb") as stream:
        book = xlsx.Book(stream)
        workbook.item_sheet(book, "d", str(path), groups, ORDER, 100,
                            workbook.diverging_scale, "of d")
        book.close()
    rows = sheet_rows(load_workbook(tmp_path / "w.xlsx")["d"])
    assert rows[0] == ["item", "group", "NORMAL", "ERROR_A"]
    assert rows[1] == [None, "judge group", "NORMAL", "ERROR_A"]
    assert rows[2][2:] == [values[0, :n // 2].mean(), values[0, n // 2:].mean()]
    assert any("more than a sheet's" in (r[0] or "") for r in rows)


def test_same_tables_same_bytes(tmp_path, stage):
    _, path = write(tmp_path, stage)
    first = path.read_bytes()
    _, path = write(tmp_path, stage)
    assert path.read_bytes() == first
    assert not list(tmp_path.glob(".workbook.xlsx.*"))  # written atomically


def test_sheet_titles():
    used = {"blocks"}
    assert workbook.sheet_title("a/b:c*d?[e]\\f", used) == "a_b_c_d__e__f"
    long = "m" * 40 + " difference"
    assert workbook.sheet_title(long, used) == "m" * 31
    assert workbook.sheet_title(long, used) == "m" * 27 + " (2)"
    assert workbook.sheet_title("Blocks", used) == "Blocks (2)"  # Excel ignores case


def test_the_workflow_writes_it(example_run):
    """A plain run writes the workbook; its sheets equal the run's CSVs exactly."""
    results = example_run / "results"
    wb = load_workbook(results / "workbook.xlsx")
    assert wb.sheetnames == ["answer", "Y1 difference", "Y2 difference", "Y3 difference",
                             "Y1 attention", "Y2 attention", "Y3 attention", "blocks",
                             "evaluation", "verdicts", "settings"]
    header, text, numbers = read_csv_cells(results / "difference" / "Y1.csv")
    rows = sheet_rows(wb["Y1 difference"])
    assert rows[0] == header and len(rows) == 2 + len(text)
    for row, cells, values in zip(rows[2:], text, numbers):
        assert row[:2] == cells[:2] and row[2:] == values[2:]
    _, text, numbers = read_csv_cells(results / "evaluation" / "summary.csv")
    got = sheet_rows(wb["evaluation"])[1:1 + len(text)]
    assert got == [[n if n is not None else (t or None) for t, n in zip(tr, nr)]
                   for tr, nr in zip(text, numbers)]
    settings = {r[0]: r[1] for r in sheet_rows(wb["settings"]) if r[0]}
    assert settings["workbook.max_items"] == "20000"
    assert settings["threshold.learn.cutoff"] == "0.5"
    assert "workbook" in (results / "logs" / "workbook.log").read_text()


LIBREOFFICE = os.environ.get("SOART_TEST_LIBREOFFICE") == "1"


@pytest.mark.skipif(not LIBREOFFICE, reason="opt-in: SOART_TEST_LIBREOFFICE=1 pytest -q "
                    "tests/test_workbook.py (needs LibreOffice's soffice: apt-get "
                    "install libreoffice-calc)")
def test_libreoffice_opens_it(tmp_path, stage):
    """LibreOffice reads the workbook as written: it converts it to PDF, and its first
    sheet's (the answer's) ids come back as the text they are (not formulas, not
    numbers)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("soffice not found: apt-get install libreoffice-calc")
    _, path = write(tmp_path, stage)
    profile = f"-env:UserInstallation=file://{tmp_path / 'profile'}"  # no clash
    for target in ("pdf", "csv"):
        proc = subprocess.run([soffice, profile, "--headless", "--convert-to", target,
                               "--outdir", str(tmp_path / "out"), str(path)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stdout
    pdf = tmp_path / "out" / "workbook.pdf"
    assert pdf.stat().st_size > 1000 and pdf.read_bytes()[:5] == b"%PDF-"
    import csv

    with open(tmp_path / "out" / "workbook.csv", encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    # the first sheet, the answer: a header row, then one row per image
    assert rows[0][:3] == ["item", "group", "flag"]
    assert [r[0] for r in rows[1:1 + len(ITEMS)]] == ITEMS
    assert [r[1] for r in rows[1:1 + len(ITEMS)]] == ITEM_GROUPS
