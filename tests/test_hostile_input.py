"""Issue #18, bad input and hostile config as a user meets them: Excel's habits are
input, not errors; every other case is one clear line naming file, line and column (or
config key), quoting at most a short excerpt; no output path leaves the project."""

import logging
import re

import pytest

from conftest import ROOT, snakemake, write_yaml
from soart_core.errors import InputError
from soart_core.inputs import load_inputs, read_metric_table

EXAMPLE = ROOT / "resources" / "example"
HEADER = "image,X0,X1,X2,X3,class"


def example_lines(name):
    return (EXAMPLE / name).read_text().splitlines()


def read(path, **kw):
    """A table read as the normalise stage reads the example's (validation: unlabeled
    items allowed)."""
    return read_metric_table(path, "auto", group_column="class",
                             order=["NORMAL", "ERROR_A", "ERROR_B"], id_column="image",
                             **kw)


def write(tmp_path, lines, name="table.csv", end="\n"):
    path = tmp_path / name
    path.write_text(end.join(lines) + end)
    return path


def error_of(call):
    with pytest.raises(InputError) as err:
        call()
    message = str(err.value)
    assert "\n" not in message
    return message


# ---- 1. Excel's trailing empty rows ----------------------------------------------------
@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_excels_trailing_empty_rows_are_skipped_with_one_warning(tmp_path, caplog, sep):
    lines = example_lines("valid_btY1_gs.csv")
    if sep != ",":
        lines = [l.replace(",", sep) for l in lines]
    path = write(tmp_path, lines + [sep * 5] * 3, end="\r\n")  # as Excel saves it
    with caplog.at_level(logging.WARNING, logger="soart"):
        table = read(path)
    assert table.names == [l.split(sep)[0] for l in lines[1:]]
    warnings = [r.getMessage() for r in caplog.records if r.name == "soart"]
    assert warnings == [f"{path}: skipped 3 empty row(s) (every cell empty, as Excel "
                        f"leaves below a table), the first at line {len(lines) + 1}"]


def test_a_row_with_some_cells_empty_stays_an_error(tmp_path):
    lines = example_lines("valid_btY1_gs.csv") + [",,,,,NORMAL"]
    path = write(tmp_path, lines)
    assert error_of(lambda: read(path, unlabeled=True)) == \
        f"{path}, line {len(lines)}, column 'X0': empty cell"


# ---- 2. short rows ---------------------------------------------------------------------
def test_a_validation_row_one_cell_short_is_refused(tmp_path):
    lines = example_lines("valid_btY1_gs.csv")
    lines[4] = lines[4].rsplit(",", 1)[0]  # no class cell: was silently unlabeled
    path = write(tmp_path, lines)
    assert error_of(lambda: read(path, unlabeled=True)) == (
        f"{path}, line 5: not a well-formed CSV (utf-8-sig, comma-separated, decimal "
        f"'.'): a row has 5 cells, the header 6 (an empty cell still needs its separator)")


def test_an_empty_class_cell_with_its_separator_is_an_unlabeled_item(tmp_path):
    lines = example_lines("valid_btY1_gs.csv")
    lines[4] = lines[4].rsplit(",", 1)[0] + ","
    table = read(write(tmp_path, lines), unlabeled=True)
    assert table.groups[3] == "" and table.groups[2] == "NORMAL"


def test_a_row_one_cell_long_names_the_counts(tmp_path):
    lines = example_lines("valid_btY1_gs.csv")
    lines[5] += ",7"
    path = write(tmp_path, lines)
    assert error_of(lambda: read(path)).endswith(
        "line 6: not a well-formed CSV (utf-8-sig, comma-separated, decimal '.'): a row "
        "has 7 cells, the header 6")


# ---- 3. UTF-16 without a byte-order mark -----------------------------------------------
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_names_the_encoding_setting(tmp_path, codec):
    path = tmp_path / "table.csv"
    text = "\r\n".join(l.replace(",", "\t") for l in example_lines("valid_btY1_gs.csv"))
    path.write_bytes(text.encode(codec))
    assert error_of(lambda: read(path)) == (
        f"{path}: looks like UTF-16 text without a byte-order mark (a 0 byte beside "
        f"every character); set `encoding: {codec}` in config.yaml")
    assert len(read(path, encoding=codec).names) == 30  # the setting it names works


# ---- 4. the file's own line numbers ----------------------------------------------------
def test_line_numbers_are_the_files_own(tmp_path, caplog):
    lines = example_lines("valid_btY1_gs.csv")
    lines = lines[:1] + ["", "", ""] + lines[1:]  # blank lines after the header
    cells = lines[7].split(",")
    cells[1] = "abc"
    lines[7] = ",".join(cells)
    path = write(tmp_path, lines)
    with caplog.at_level(logging.WARNING, logger="soart"):
        message = error_of(lambda: read(path))
    assert message == f"{path}, line 8, column 'X0': value 'abc' is not a number"


def test_line_numbers_count_line_breaks_in_quoted_cells(tmp_path):
    lines = example_lines("valid_btY1_gs.csv")
    lines[1] = '"a note' + "\n" + 'on two lines",' + lines[1].split(",", 1)[1]
    lines[3] = lines[3].rsplit(",", 1)[0]  # short, on file line 5
    path = write(tmp_path, lines)
    assert f"{path}, line 5: not a well-formed CSV" in error_of(lambda: read(path))


def test_differing_rows_across_tables_name_the_files_own_line(tmp_path, caplog):
    metrics = {}
    for metric in ("Y1", "Y2"):
        for kind, name in (("learn", f"learn_{'bt' if metric == 'Y1' else 'sn'}{metric}"
                                     f"_gs_class.csv"),
                           ("valid", f"valid_{'bt' if metric == 'Y1' else 'sn'}{metric}"
                                     f"_gs.csv")):
            lines = example_lines(name)
            if (metric, kind) == ("Y2", "learn"):
                lines = lines[:1] + [",,,,,"] * 2 + lines[1:]
                lines[5], lines[6] = lines[6], lines[5]  # file lines 6 and 7 swapped
            metrics.setdefault(metric, {})[kind] = write(tmp_path, lines, f"{metric}{kind}.csv")
    with caplog.at_level(logging.WARNING, logger="soart"):
        message = error_of(lambda: load_inputs(
            metrics, "auto", group_column="class", order=["NORMAL", "ERROR_A", "ERROR_B"],
            valid_counts=None, id_column="image"))
    assert message.startswith(f"{metrics['Y2']['learn']}, line 6: judge group")


# ---- 6. ids longer than a workbook cell ------------------------------------------------
def test_an_id_longer_than_an_excel_cell_is_refused_at_input(tmp_path):
    lines = example_lines("valid_btY1_gs.csv")
    lines[2] = "x" * 40_000 + "," + lines[2].split(",", 1)[1]
    path = write(tmp_path, lines)
    message = error_of(lambda: read(path))
    assert message == (f"{path}, line 3, column 'image': id '{'x' * 40}... (40000 "
                       f"characters)' is longer than 32,767 characters, Excel's limit "
                       f"for a cell (the workbook would cut it)")
