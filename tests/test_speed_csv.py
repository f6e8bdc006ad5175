"""The fast CSV path (polars) keeps soart's guarantees: every double back exactly, names
as given (formula-like, quoted, Japanese, empty groups); the tables for people start
with a UTF-8 byte-order mark (Excel, Japanese Excel included) and every reader of
soart's own files reads them; progress lines for long work, none for short."""

import csv
import io

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from soart_core import progress as progress_module
from soart_core.tables import Table, read_columns, read_table, write_columns, \
    write_rounded, write_table
from soart_core.workbook import read_cells

NAMES = ["=a", "b,c", 'd"e', "#3.png", "良品_01.png", "+1", "-x", "@y", " lead", "x\ty"]
GROUPS = ["", "G,1", "=x", "NORMAL", "不良A", "", "NORMAL", "ERROR_A", "", "b"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64),
                min_size=len(NAMES) * 3, max_size=len(NAMES) * 3))
def test_every_double_comes_back_exactly(tmp_path_factory, numbers):
    values = np.array(numbers).reshape(len(NAMES), 3)
    path = tmp_path_factory.mktemp("t") / "t.csv"
    write_table(Table(str(path), NAMES, GROUPS, ["j0", "=j1", "j,2"], values), "item", path)
    back = read_table(path, "item")
    assert back.names == NAMES and back.groups == GROUPS
    assert back.columns == ["j0", "=j1", "j,2"]
    assert np.array_equal(back.values, values)
    assert np.array_equal(np.signbit(back.values), np.signbit(values))  # -0.0 too


def test_fixed_decimals_and_the_same_bytes_twice(tmp_path):
    values = np.round(np.random.default_rng(0).random((len(NAMES), 4)), 5)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (a, b):
        write_table(Table("t", NAMES, GROUPS, list("wxyz"), values), "item", path,
                    decimals=5)
    assert a.read_bytes() == b.read_bytes()
    rows = list(csv.reader(io.StringIO(a.read_text(encoding="utf-8"))))
    assert all(len(c.split(".")[1]) == 5 for row in rows[1:] for c in row[2:])
    assert np.array_equal(read_table(a, "item").values, values)


def test_tables_for_people_open_in_excel(tmp_path):
    """UTF-8 with a byte-order mark: what Excel (Japanese Excel too) needs to read
    UTF-8 rather than the system's code page; soart's readers and pandas read it."""
    path = tmp_path / "summary.csv"
    write_rounded(path, {"metric": ["Y1"], "group": ["不良A"], "accuracy": np.array([0.4])})
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "不良A".encode() in raw
    assert list(read_columns(path, text=("metric", "group"))) == ["metric", "group",
                                                                   "accuracy"]
    assert read_cells(path, ("metric", "group"))["group"] == ["不良A"]
    assert list(pd.read_csv(path).columns) == ["metric", "group", "accuracy"]
    verdicts = tmp_path / "verdicts.csv"
    write_columns(verdicts, {"item": ["良品_01.png"], "flag": ["normal"]}, bom=True)
    assert verdicts.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_columns(verdicts, text=("item", "flag"))["item"].tolist() == ["良品_01.png"]
    # the stage tables (read by soart, not people) stay without one
    stage = tmp_path / "stage.csv"
    write_columns(stage, {"item": ["a"], "x": np.array([1.5])})
    assert stage.read_bytes().startswith(b"item,")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_lines_for_long_work_only():
    clock, out = Clock(), io.StringIO()
    quick = progress_module.Progress("quick", 100, stream=out, clock=clock)
    for k in range(100):
        clock.now += 0.01
        quick.update(k + 1)
    quick.finish()
    assert out.getvalue() == ""  # a short run prints nothing

    clock, out = Clock(), io.StringIO()
    slow = progress_module.Progress("workbook: sheet 'Y1'", 1000, stream=out, clock=clock,
                                    after=5, every=10)
    for k in range(1000):
        clock.now += 0.125  # 125 s in all
        slow.update(k + 1)
    slow.finish()
    lines = out.getvalue().splitlines()
    # from 5 s on, then one line every 10 s (at 5, 15, ..., 125 s), and the last line
    assert len(lines) == 14
    assert lines[0] == ("soart: workbook: sheet 'Y1': 40 of 1,000 items (4 %), "
                        "about 2 min 00 s left")
    assert lines[1].startswith("soart: workbook: sheet 'Y1': 120 of 1,000 items (12 %)")
    assert lines[-1] == "soart: workbook: sheet 'Y1': all 1,000 items done in 2 min 05 s"
