"""Issue #18, bad input and hostile config as a user meets them: Excel's habits are
input, not errors; every other case is one clear line naming file, line and column (or
config key), quoting at most a short excerpt; no output path leaves the project."""

import logging

import pytest

import in_process
from conftest import ROOT, snakemake, write_yaml
from soart_core.errors import InputError
from soart_core.inputs import load_inputs, read_metric_table
from soart_core.settings import SCHEMA

EXAMPLE = ROOT / "resources" / "example"
HEADER = "image,X0,X1,X2,X3,class"


def example_lines(name):
    return (EXAMPLE / name).read_text().splitlines()


def read(path, **kw):
    """A table read as the normalise stage reads the example's (validation: unlabeled
    items allowed)."""
    return read_metric_table(path, "auto", group_column="class",
                             order=["NORMAL", "ERROR_A", "ERROR_B"], id_column="image",
                             **kw)[0]


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
        f"every character); save it as UTF-8, or as UTF-16 with a mark (Excel's Unicode "
        f"text), or, where every table is such, set `encoding: {codec}` (it applies to "
        f"all)")
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
    files = {"Y1": ("learn_btY1_gs_class.csv", "valid_btY1_gs.csv"),
             "Y2": ("learn_snY2_gs_class.csv", "valid_snY2_gs.csv")}
    metrics = {m: {kind: write(tmp_path, example_lines(name), f"{m}_{kind}.csv")
                   for kind, name in zip(("learn", "valid"), names)}
               for m, names in files.items()}
    lines = example_lines(files["Y2"][0])
    lines = lines[:1] + [",,,,,"] * 2 + lines[1:]
    lines[5], lines[6] = lines[6], lines[5]  # file lines 6 and 7 swapped
    path = write(tmp_path, lines, "Y2_learn.csv")
    with caplog.at_level(logging.WARNING, logger="soart"):
        message = error_of(lambda: load_inputs(
            metrics, "auto", group_column="class", order=["NORMAL", "ERROR_A", "ERROR_B"],
            valid_counts=None, id_column="image"))
    assert message.startswith(f"{path}, line 6: judge group")


# ---- 6. ids longer than a workbook cell ------------------------------------------------
def test_an_id_longer_than_an_excel_cell_is_refused_at_input(tmp_path):
    lines = example_lines("valid_btY1_gs.csv")
    lines[2] = "x" * 40_000 + "," + lines[2].split(",", 1)[1]
    path = write(tmp_path, lines)
    message = error_of(lambda: read(path))
    assert message == (f"{path}, line 3, column 'image': id '{'x' * 40}... (40000 "
                       f"characters)' is longer than 32,767 characters, Excel's limit "
                       f"for a cell (the workbook would cut it)")


# ---- 5. a 10 MB config value is not echoed ---------------------------------------------
def schema():
    import yaml

    return yaml.safe_load((ROOT / SCHEMA).read_text())


def shipped_config():
    import yaml

    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_a_huge_config_value_is_quoted_as_an_excerpt():
    from soart_core.errors import ConfigError
    from soart_core.settings import check_schema

    config = shipped_config()
    config["normalise"]["scale"] = "9" * 10_000_000
    with pytest.raises(ConfigError) as err:
        check_schema(config, schema(), {}, ())
    message = str(err.value)
    assert message.startswith("config key 'normalise.scale': '99999") and \
        "is not of type 'number'" in message and len(message) < 300, message[:400]


def test_a_huge_misspelt_key_is_quoted_as_an_excerpt():
    from soart_core.errors import ConfigError
    from soart_core.settings import check_schema

    config = shipped_config()
    config["x" * 1_000_000] = 1
    with pytest.raises(ConfigError) as err:
        check_schema(config, schema(), {}, ())
    assert "not a soart setting" in str(err.value) and len(str(err.value)) < 400


def test_every_error_message_is_capped():
    from soart_core.errors import ConfigError

    for error in (InputError("t.csv", "x" * 10**7, line=3),
                  ConfigError("k" * 10**6, "y" * 10**7)):
        assert len(str(error)) < 1000 and "characters)" in str(error)


# ---- 7. configfiles: a key given twice, a tag that is no data --------------------------
def test_a_key_given_twice_in_a_configfile_is_an_error(tmp_path):
    from soart_core.settings import check_configfiles

    path = tmp_path / "my.yaml"
    path.write_text("threshold:\n  learn:\n    cutoff: 0.5\n    power: 2.0\n"
                    "    cutoff: 0.4\n")
    assert error_of(lambda: check_configfiles([ROOT / "config.yaml", path])) == (
        f"{path}, line 5: key 'cutoff' is given twice (also on line 3); YAML keeps the "
        f"later one without a word: keep one")


def test_yaml_merge_keys_may_override(tmp_path):
    from soart_core.settings import check_configfiles

    path = tmp_path / "my.yaml"
    path.write_text("x: &base {cutoff: 0.5, power: 2.0}\ny:\n  <<: *base\n  cutoff: 0.4\n")
    check_configfiles([path])


def run_error(proc):
    assert proc.returncode != 0 and "Traceback" not in proc.stdout, proc.stdout
    errors = [l for l in proc.stdout.splitlines() if l.startswith("soart: error")]
    assert len(errors) == 1, proc.stdout
    return errors[0]


def test_a_python_tag_in_a_configfile_is_one_line(workflow_copy):
    """Snakemake's loader takes `!!python/name:os.system` (it runs nothing); soart says
    the file holds no plain data, instead of a ConstructorError traceback."""
    path = workflow_copy / "hostile.yaml"
    path.write_text("normalise:\n  scale: !!python/name:os.system\n")
    error = run_error(snakemake(workflow_copy, "-n", "--configfile", str(path),
                                check=False))
    assert error == (f"soart: error: {path}, line 2: could not determine a constructor "
                     f"for the tag 'tag:yaml.org,2002:python/name:os.system': a soart "
                     f"config holds plain YAML data only (read with yaml.safe_load)")
    assert not (workflow_copy / "results").exists()


# ---- 8. no output path leaves the project ----------------------------------------------
@pytest.mark.parametrize("name", ["../../../escaped.csv", "/tmp/escaped.csv", "..",
                                  "sub/learn.csv"])
def test_metric_file_names_from_images_are_names(name):
    from soart_core.errors import ConfigError
    from soart_core.settings import check_config

    config = shipped_config()
    assert config["images_dir"]
    config["metrics"]["Y1"]["learn"] = name
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert str(err.value).startswith(f"config key 'metrics.Y1.learn': '{name}' is not a "
                                     f"file name: computed from images")


def test_metric_file_names_in_tables_mode_may_hold_folders():
    from soart_core.settings import check_config

    config = shipped_config()
    config["images_dir"] = None
    config["metrics"]["Y1"]["learn"] = "sub/learn.csv"  # read in data_dir, not written
    check_config(config)


def test_an_escaping_metrics_name_writes_nothing(tmp_path):
    from conftest import copy_workflow

    workdir = copy_workflow(tmp_path / "wf", tables=False)
    metrics = shipped_config()["metrics"]
    metrics["Y1"]["learn"] = "../../../escaped.csv"
    override = write_yaml(tmp_path / "escape.yaml", {"metrics": metrics})
    error = run_error(in_process.run(workdir, configfiles=[override], check=False))
    assert "config key 'metrics.Y1.learn': '../../../escaped.csv' is not a file name" \
        in error
    assert not (workdir / "results").exists() and not list(tmp_path.rglob("escaped.csv"))


@pytest.mark.parametrize("sweep", ["..", ".", "a/b", ""])
def test_a_sweep_name_that_is_no_folder_name_is_refused(sweep):
    from soart_core.errors import ConfigError
    from soart_core.sweep import plan

    config = shipped_config()
    config["sweeps"] = {sweep: {"threshold.learn.cutoff": [0.3, 0.4]}}
    with pytest.raises(ConfigError) as err:
        plan(config, lambda c: None)
    assert f"'{sweep}' cannot name a sweep" in str(err.value)


def test_text_longer_than_an_excel_cell_is_cut_with_a_warning(tmp_path, caplog):
    """A setting too long for a cell (a list of 5,000 feature names, say): the workbook
    cuts it where Excel would, and says so."""
    from openpyxl import load_workbook

    from soart_core import xlsx
    from soart_core.workbook import settings_sheet

    features = [f"feature_{k}" for k in range(5000)]
    with open(tmp_path / "w.xlsx", "wb") as stream, \
            caplog.at_level(logging.WARNING, logger="soart"):
        book = xlsx.Book(stream)
        settings_sheet(book, {"features": features}, {"soart": "0"})
        book.close()
    warnings = [r.getMessage() for r in caplog.records if r.name == "soart"]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("workbook: the text '[\"feature_0\", \"feature_1") and \
        warnings[0].endswith("characters)' is cut to 32,767 characters, Excel's limit for "
                             "a cell"), warnings
    cell = load_workbook(tmp_path / "w.xlsx")["settings"]["B2"].value
    assert len(cell) == 32_767 and cell.startswith('["feature_0", ')


# ---- end to end: as a user runs them ---------------------------------------------------
def test_tables_saved_by_excel_with_empty_rows_run_with_one_warning_each(workflow_copy):
    """Every table with the `,,,,,` rows Excel leaves below it: the run gives the
    example's numbers, and each file's skipped rows are one counted warning, on the
    console and in the log."""
    tables = sorted((workflow_copy / "resources" / "example").glob("*.csv"))
    for path in tables:
        path.write_text(path.read_text() + ",,,,,\n" * 4)
    proc = in_process.run(workflow_copy, "normalise")
    warnings = [l for l in proc.stdout.splitlines() if l.startswith("soart: warning")
                and "empty row(s)" in l]
    assert len(warnings) == len(tables), proc.stdout
    assert all("skipped 4 empty row(s) (every cell empty, as Excel leaves below a "
               "table), the first at line " in w for w in warnings), warnings
    log = (workflow_copy / "results" / "logs" / "normalise.log").read_text()
    assert log.count("skipped 4 empty row(s)") == len(tables)
    items = (workflow_copy / "results" / "normalise" / "items.csv").read_text()
    assert len(items.splitlines()) == 31  # the 30 items, no empty one


def test_a_validation_row_without_its_class_cell_stops_the_run(workflow_copy):
    """Was exit 0 with a labeled item silently unlabeled."""
    from test_bad_input import assert_fails_cleanly, edit_lines, replace_line

    valid = "resources/example/valid_btY1_gs.csv"
    edit_lines(workflow_copy / valid, replace_line(5, lambda l: l.rsplit(",", 1)[0]))
    assert_fails_cleanly(workflow_copy, [f"{valid}, line 5: not a well-formed CSV",
                                         "a row has 5 cells, the header 6"])


def test_a_huge_data_dir_is_quoted_as_an_excerpt_in_notes_and_errors():
    from soart_core.errors import ConfigError
    from soart_core.settings import choose_input

    shipped = shipped_config()
    huge = "/data/" + "d" * 10_000_000
    note = choose_input({**shipped, "data_dir": huge}, shipped)
    assert note.startswith("soart: reading the metric tables in data_dir=/data/ddd") and \
        len(note) < 400
    with pytest.raises(ConfigError) as err:
        choose_input({**shipped, "data_dir": huge, "images_dir": huge}, shipped)
    assert len(str(err.value)) < 800 and str(err.value).endswith("from the images")
