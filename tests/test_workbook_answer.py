"""The workbook as a person reads it (issue #19): it opens on the answer, one filterable
row per image; every float cell has a fixed-decimals number format (no float noise);
signs counted by eye on a difference sheet agree with the `blocks` sheet (values
within the tolerance show as 0, and the tolerance is written where the signs are); and
the archive is a valid zip, zip64 included."""

import re
import zipfile

import numpy as np
import pytest
from openpyxl import load_workbook

from soart_core import jobs, workbook, xlsx
from soart_core.tables import Table, write_columns, write_rounded, write_table

ORDER = ["NORMAL", "ERROR_A", "ERROR_B"]
ITEMS = [f"良品_{i:02d}.png" for i in range(12)]
ITEM_GROUPS = ["NORMAL"] * 4 + ["ERROR_A"] * 4 + ["ERROR_B"] * 4
JUDGES = [f"j{k}" for k in range(6)]
JUDGE_GROUPS = ["NORMAL", "NORMAL", "ERROR_A", "ERROR_A", "ERROR_B", "ERROR_B"]
TOLERANCE = 1e-5


@pytest.fixture
def book(tmp_path):
    """A workbook of one metric whose differences sit on both sides of the tolerance,
    as the workflow's stages write them; returns (openpyxl workbook, stage files)."""
    rng = np.random.default_rng(3)
    attention = np.round(rng.random((len(ITEMS), len(JUDGES))), 5)
    difference = attention - attention[:4].mean(axis=0)
    # tiny values: inside the tolerance (shown 0), at it, and just outside it
    difference[0, :3] = [3.552714e-15, -4e-6, TOLERANCE]
    difference[1, :3] = [-TOLERANCE, 1.2e-5, -1.1e-5]
    paths = {}
    for kind, values in (("attention", attention), ("difference", difference)):
        paths[kind] = tmp_path / kind / "Y1.csv"
        write_table(Table("t", ITEMS, ITEM_GROUPS, JUDGES, values), "item", paths[kind])
    paths["blocks"] = tmp_path / "blocks" / "Y1.csv"
    write_columns(paths["blocks"], jobs.score_blocks(
        Table("t", ITEMS, ITEM_GROUPS, JUDGES, difference), JUDGE_GROUPS, ORDER, TOLERANCE))
    paths["verdicts"] = tmp_path / "verdicts" / "Y1.csv"
    write_columns(paths["verdicts"], {
        "item": ITEMS, "group": ITEM_GROUPS, "predicted": ITEM_GROUPS,
        "distance": rng.random(len(ITEMS)), "flag": ["normal"] * len(ITEMS),
        "sign_NORMAL": rng.choice([-1.0, 0.0, 1 / 3], len(ITEMS))})
    paths["summary"] = tmp_path / "evaluation" / "summary.csv"
    write_rounded(paths["summary"], {"metric": ["Y1"], "method": ["a"], "n": np.array([12]),
                                     "roc_auc": np.array([0.61]),
                                     "chance_roc_auc": np.array([0.5]),
                                     "roc_auc_low": np.array([0.42]), "warnings": [""]})
    paths["answer"] = tmp_path / "verdicts" / "summary.csv"
    flags = ["abnormal" if i % 5 == 0 else "normal" for i in range(len(ITEMS))]
    write_columns(paths["answer"], {
        "item": ITEMS, "group": ITEM_GROUPS, "predicted": ITEM_GROUPS,
        "score": rng.random(len(ITEMS)), "flag": flags, "raw_score": rng.random(len(ITEMS)),
        "Y1_predicted": ITEM_GROUPS, "Y1_score": rng.random(len(ITEMS)),
        "Y1_flag": flags}, bom=True)
    judges = tmp_path / "normalise" / "judges.csv"
    write_columns(judges, {"judge": JUDGES, "group": JUDGE_GROUPS})
    out = tmp_path / "workbook.xlsx"
    workbook.write_workbook(
        out, words=["Y1"], attention=[str(paths["attention"])],
        difference=[str(paths["difference"])], blocks=[str(paths["blocks"])],
        summary=str(paths["summary"]), judge_groups=str(judges), order=ORDER,
        verdicts=[str(paths["verdicts"])], verdict_summary=str(paths["answer"]),
        settings={"attention": {"decimals": 5}}, versions={"soart": "0"},
        tolerance=TOLERANCE, decimals=5)
    return load_workbook(out), paths, out


def test_it_opens_on_the_answer(book):
    wb, paths, _ = book
    assert wb.sheetnames[0] == "answer" and wb.active.title == "answer"
    ws = wb["answer"]
    header = [c.value for c in ws[1]]
    assert header[:5] == ["item", "group", "flag", "score", "predicted"]
    assert header[5:] == ["raw_score", "Y1_predicted", "Y1_score", "Y1_flag"]
    items = [ws.cell(r, 1).value for r in range(2, 2 + len(ITEMS))]
    assert items == ITEMS  # one row per image, names as given (Japanese included)
    assert ws.auto_filter.ref == f"A1:I{1 + len(ITEMS)}"  # filterable, every row
    assert ws.freeze_panes == "B2"
    red = {str(f.sqref): f.rules[0].formula for f in ws.conditional_formatting}
    assert red == {f"C2:C{1 + len(ITEMS)}": ['"abnormal"'],
                   f"I2:I{1 + len(ITEMS)}": ['"abnormal"']}


def test_no_float_noise_in_any_cell(book):
    """Every float cell of every sheet shows a fixed count of decimals."""
    wb, _, _ = book
    formats = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, float):
                    assert re.fullmatch(r"0\.0+", c.number_format), \
                        (ws.title, c.coordinate, c.number_format)
                    formats.add((ws.title, c.number_format))
    assert ("Y1 difference", "0.00000") in formats  # the tolerance's decimals
    assert ("blocks", "0.000000") in formats  # mean_abs: one decimal more


def _shown_sign(value, rules):
    """The sign a person reads off a cell: 0 where a rule shows it as 0."""
    for low, high in rules:
        if low <= value <= high:
            return 0
    return int(np.sign(value))


def dxf_number_formats(path):
    """The number format of each conditional format's format (dxf), from styles.xml."""
    import xml.etree.ElementTree as ET

    with zipfile.ZipFile(path) as z:
        root = ET.fromstring(z.read("xl/styles.xml"))
    ns = {"m": xlsx.MAIN}
    return [(d.find("m:numFmt", ns).get("formatCode") if d.find("m:numFmt", ns) is not None
             else None) for d in root.find("m:dxfs", ns)]


def test_signs_counted_by_eye_agree_with_the_blocks(book):
    wb, paths, out = book
    ws = wb["Y1 difference"]
    assert ws["A2"].value == "0: |x| <= 1e-05"  # the tolerance, where signs are shown
    rules = []
    for formats in ws.conditional_formatting:
        for rule in formats.rules:
            if rule.type == "cellIs" and rule.operator == "between":
                assert str(formats.sqref) == f"C3:H{2 + len(ITEMS)}"
                assert dxf_number_formats(out)[rule.dxfId] == '"0"'
                rules.append(tuple(float(f) for f in rule.formula))
    assert rules == [(-TOLERANCE, TOLERANCE)]
    blocks = [dict(zip([c.value for c in wb["blocks"][1]], [c.value for c in row]))
              for row in wb["blocks"].iter_rows(min_row=2) if row[1].value]
    assert len(blocks) == 9
    for block in blocks:
        rows = [r for r, g in enumerate(ITEM_GROUPS) if g == block["item_group"]]
        cols = [k for k, g in enumerate(JUDGE_GROUPS) if g == block["judge_group"]]
        signs = [_shown_sign(ws.cell(3 + r, 3 + k).value, rules) for r in rows for k in cols]
        assert (signs.count(1), signs.count(-1), signs.count(0)) == \
            (block["n_pos"], block["n_neg"], block["n_zero"]), block
    notes = [r[0].value for r in wb["blocks"].iter_rows() if r[0].value]
    assert any("|x| <= 1e-05" in str(n) for n in notes)


def test_above_chance_only_by_its_interval(book):
    """roc_auc 0.61 is above chance 0.5 but its interval (from 0.42) is not: the rule
    tests the interval's lower end, so the cell stays unmarked."""
    wb, _, _ = book
    ws = wb["evaluation"]
    header = [c.value for c in ws[1]]
    (formats,) = list(ws.conditional_formatting)
    (rule,) = formats.rules
    low = xlsx.column_letter(header.index("roc_auc_low") + 1)
    chance = xlsx.column_letter(header.index("chance_roc_auc") + 1)
    assert rule.formula == [f"AND(ISNUMBER({low}2),ISNUMBER({chance}2),{low}2>{chance}2)"]
    row = dict(zip(header, [c.value for c in ws[2]]))
    assert row["roc_auc"] > row["chance_roc_auc"] and not \
        row["roc_auc_low"] > row["chance_roc_auc"]


def test_a_valid_zip_also_in_its_zip64_form(tmp_path, monkeypatch):
    """Members and offsets past the zip64 limit (made tiny here) are read back by
    Python's zipfile with their exact bytes."""
    monkeypatch.setattr(xlsx, "ZIP64_LIMIT", 100)
    data = {"a.xml": b"x" * 5000, "b.xml": bytes(range(256)) * 40, "c.xml": b"small"}
    path = tmp_path / "z.zip"
    with open(path, "wb") as stream:
        archive = xlsx.Archive(stream)
        for name, content in data.items():
            member = archive.open(name)
            for k in range(0, len(content), 999):
                member.write(content[k:k + 999])
            member.close()
        archive.writestr("d.xml", b"<d/>")
        archive.close()
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        assert {n: z.read(n) for n in z.namelist()} == {**data, "d.xml": b"<d/>"}
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in z.infolist())
