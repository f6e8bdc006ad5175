"""Every kind of bad input stops the run with one clear message and leaves no partial CSV.

The cases run in this process (tests/in_process.py: the Snakefile's checks, then the
jobs through script.run_stage, as Snakemake runs them); a few run `snakemake` itself
for its exit status, log and leftovers."""

import re
from types import SimpleNamespace

import pytest

import in_process
from conftest import snakemake, write_yaml

EXAMPLE = "resources/example"
LEARN_Y1 = f"{EXAMPLE}/learn_btY1_gs_class.csv"
LEARN_Y2 = f"{EXAMPLE}/learn_snY2_gs_class.csv"
VALID_Y2 = f"{EXAMPLE}/valid_snY2_gs.csv"


def edit_lines(path, edit):
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


def set_cell(number, column, value):
    """An edit that sets the cell at line `number` (header = 1) in `column` (a name)."""
    def edit(lines):
        index = lines[0].split(",").index(column)
        cells = lines[number - 1].split(",")
        cells[index] = value
        lines[number - 1] = ",".join(cells)
        return lines
    return edit


def replace_line(number, make):
    """An edit that replaces line `number` (1-based, header = 1) by make(old line)."""
    def edit(lines):
        lines[number - 1] = make(lines[number - 1])
        return lines
    return edit


def drop_column(name):
    def edit(lines):
        index = lines[0].split(",").index(name)
        return [",".join(c for i, c in enumerate(line.split(",")) if i != index)
                for line in lines]
    return edit


def swap_lines(a, b):
    def edit(lines):
        lines[a - 1], lines[b - 1] = lines[b - 1], lines[a - 1]
        return lines
    return edit


def constant(lines):
    features = [i for i, name in enumerate(lines[0].split(",")) if name.startswith("X")]
    return [lines[0]] + [",".join("1.5" if i in features else cell
                                  for i, cell in enumerate(line.split(",")))
                         for line in lines[1:]]


# (id, file to edit, edit, expected message pieces)
CASES = [
    ("missing-feature", LEARN_Y1, drop_column("X3"),
     [LEARN_Y1, "missing feature column 'X3'"]),
    ("non-numeric", VALID_Y2, set_cell(5, "X1", "abc"),
     [VALID_Y2, "line 5", "column 'X1'", "value 'abc' is not a number"]),
    ("empty-cell", LEARN_Y2, set_cell(3, "X2", ""),
     [LEARN_Y2, "line 3", "column 'X2'", "empty cell"]),
    ("nan-cell", VALID_Y2, set_cell(8, "X0", "NaN"),
     [VALID_Y2, "line 8", "column 'X0'", "'NaN' is not a finite number"]),
    ("infinite-cell", LEARN_Y1, set_cell(10, "X3", "-inf"),
     [LEARN_Y1, "line 10", "column 'X3'", "'-inf' is not a finite number"]),
    ("header-only", VALID_Y2, lambda lines: lines[:1],
     [VALID_Y2, "header but no data rows"]),
    ("empty-file", LEARN_Y2, lambda lines: [],
     [LEARN_Y2, "the file is empty"]),
    ("judge-count", LEARN_Y2, lambda lines: lines[:-1],
     [LEARN_Y2, "has 8 judges", "has 9"]),
    ("judge-order", LEARN_Y2, swap_lines(4, 7),
     [LEARN_Y2, "line 4", "judge group 'ERROR_A' differs from 'NORMAL'"]),
    ("judge-group", LEARN_Y2, set_cell(10, "class", "ERROR_A"),
     [LEARN_Y2, "line 10", "judge group 'ERROR_A' differs from 'ERROR_B'"]),
    ("unknown-group", LEARN_Y1, set_cell(2, "class", "GOOD"),
     [LEARN_Y1, "line 2", "column 'class'", "group 'GOOD' is not one of"]),
    ("item-count", f"{EXAMPLE}/valid_btY1_gs.csv",
     lambda lines: drop_column("class")(lines)[:-1],  # no class: groups.valid_counts
     [f"{EXAMPLE}/valid_btY1_gs.csv", "has 29 data rows", "add up to 30"]),
    ("constant-table", LEARN_Y2, constant,
     [LEARN_Y2, "every cell of the learning table is 1.5", "hi - lo = 0"]),
    ("ragged-row", VALID_Y2, replace_line(6, lambda l: l + ",7,8"),
     [VALID_Y2, "not a well-formed CSV", "line 6"]),
]


def leftovers(workdir):
    """Every file a failed run left under results/ apart from logs, benchmarks and the
    config in force (written while planning, before any job)."""
    results = workdir / "results"
    if not results.exists():
        return []
    return sorted(str(p.relative_to(results)) for p in results.rglob("*")
                  if p.is_file() and p.parts[len(results.parts)] not in ("logs", "benchmarks")
                  and p != results / "config.yaml")


def assert_fails_cleanly(workdir, pieces, configfiles=(), keep=()):
    proc = in_process.run(workdir, configfiles=configfiles, check=False)
    assert proc.returncode == 1, proc.stdout
    errors = [l for l in proc.stdout.splitlines() if l.startswith("soart: error")]
    assert len(errors) == 1, proc.stdout
    for piece in pieces:
        assert piece in errors[0], errors[0]
    assert [p for p in leftovers(workdir) if not p.startswith(keep)] == []
    assert not list((workdir / "results").rglob("*.tmp"))


@pytest.mark.parametrize("name,target,edit,pieces", CASES, ids=[c[0] for c in CASES])
def test_bad_table(workflow_copy, name, target, edit, pieces):
    edit_lines(workflow_copy / target, edit)
    assert_fails_cleanly(workflow_copy, pieces)


def test_missing_file(workflow_copy):
    (workflow_copy / VALID_Y2).unlink()
    proc = snakemake(workflow_copy, check=False)
    assert proc.returncode == 1 and "MissingInputException" not in proc.stdout
    [line] = [l for l in proc.stdout.splitlines() if l.startswith("soart: error")]
    assert "config key 'metrics.Y2.valid'" in line and VALID_Y2 in line
    assert leftovers(workflow_copy) == []


@pytest.mark.parametrize("blank_lines", [0, 2])
def test_cutoff_power_that_yields_nan(workflow_copy, blank_lines):
    # an item far below the judges' range normalises to a negative value
    valid_y1 = workflow_copy / EXAMPLE / "valid_btY1_gs.csv"
    edit_lines(valid_y1, set_cell(2, "X2", "0.5"))
    # blank lines above it: its line is the file's own, as normalise's messages say
    edit_lines(valid_y1, lambda lines: lines[:1] + [""] * blank_lines + lines[1:])
    override = write_yaml(workflow_copy / "bad.yaml", {
        "threshold": {"learn": {"cutoff": 0.5, "power": 2.0},
                      "valid": {"cutoff": -100.0, "power": 0.5}}})
    # blamed on the input file (its line), not on results/normalise/
    assert_fails_cleanly(workflow_copy, [f"{EXAMPLE}/valid_btY1_gs.csv, line {2 + blank_lines}",
                                         "column 'X2'", "threshold.valid (cutoff -100.0, "
                                         "power 0.5)", "into nan"],
                         configfiles=[override], keep="normalise/")
    assert not (workflow_copy / "results" / "threshold").exists()


def test_unreadable_encoding_names_the_setting(workflow_copy):
    path = workflow_copy / LEARN_Y1
    lines = path.read_text().splitlines()
    lines = [lines[0] + ",備考"] + [l + ",正常品" for l in lines[1:]]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))
    assert_fails_cleanly(workflow_copy, [LEARN_Y1, "cannot be decoded as 'utf-8-sig'",
                                         "cp932"])


def test_through_snakemake_exit_1_one_line_in_the_log_too_and_nothing_left(workflow_copy):
    edit_lines(workflow_copy / VALID_Y2, set_cell(5, "X1", "x"))
    proc = snakemake(workflow_copy, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout
    [error] = [l for l in proc.stdout.splitlines() if l.startswith("soart: error")]
    assert error.startswith("soart: error in rule normalise: ") and "line 5" in error
    log = (workflow_copy / "results" / "logs" / "normalise.log").read_text()
    assert re.search(r"line 5, column 'X1': value 'x' is not a number", log)
    assert leftovers(workflow_copy) == []
    assert not list((workflow_copy / "results").rglob("*.tmp"))


def set_header(old, new):
    def edit(lines):
        lines[0] = lines[0].replace(old, new, 1)
        return lines
    return edit


# inputs that once gave exit 0 with wrong numbers, or a traceback (id, file, edit, pieces)
NEVER_SILENT = [
    ("duplicate-feature-column", LEARN_Y1, set_header(",X2,", ",X3,"),
     [LEARN_Y1, "line 1", "column name 'X3' appears twice in the header (columns 4 and 5)"]),
    ("duplicate-group-column", VALID_Y2, set_header("image,", "class,"),
     [VALID_Y2, "line 1", "column name 'class' appears twice"]),
    ("unscorable-item", f"{EXAMPLE}/valid_btY1_gs.csv", set_cell(5, "X1", "-1e200"),
     [f"{EXAMPLE}/valid_btY1_gs.csv, line 5, column 'X1': value -1e+200 lies over 1e+10 "
      "learning ranges outside", "no item can be scored beside it"]),
    ("subnormal-learning-table", LEARN_Y1,
     lambda lines: [lines[0]] + [",".join(c if i in (0, 5) else f"{float(c) * 1e-310!r}"
                                          for i, c in enumerate(l.split(",")))
                                 for l in lines[1:]],
     [f"{EXAMPLE}/valid_btY1_gs.csv, line 2, column 'X0'", "cannot be normalised",
      "hi - lo) with lo = "]),
]


@pytest.mark.parametrize("name,target,edit,pieces", NEVER_SILENT,
                         ids=[c[0] for c in NEVER_SILENT])
def test_never_silently_wrong(workflow_copy, name, target, edit, pieces):
    edit_lines(workflow_copy / target, edit)
    assert_fails_cleanly(workflow_copy, pieces, keep=("normalise/", "threshold/",
                                                      "weights/", "classic/"))
    assert not (workflow_copy / "results" / "attention").exists() or \
        not list((workflow_copy / "results" / "attention").iterdir())


def test_a_file_that_is_no_table_is_not_echoed(workflow_copy):
    """An error quotes a short, printable excerpt: never whole lines of any file."""
    secret = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)" ' + "x" * 200
    (workflow_copy / LEARN_Y1).write_text(secret + "\nNAME=Debian\x07\nID=debian\n")
    proc = in_process.run(workflow_copy, check=False)
    error = [l for l in proc.stdout.splitlines() if l.startswith("soart: error")][0]
    assert LEARN_Y1 in error and "no feature columns" in error
    assert secret not in error and "\x07" not in error and len(error) < 400, error


def test_a_huge_cell_is_cut_in_the_message(workflow_copy):
    edit_lines(workflow_copy / VALID_Y2, set_cell(4, "X2", "9" * 50 + "z" * 100_000))
    proc = in_process.run(workflow_copy, check=False)
    error = [l for l in proc.stdout.splitlines() if l.startswith("soart: error")][0]
    assert "line 4, column 'X2': value '99999" in error and "(100050 characters)" in error
    assert len(error) < 300, len(error)


def test_formula_like_ids_are_written_as_text(workflow_copy):
    """Names that a spreadsheet would run as a formula get Excel's text mark, an
    apostrophe, in every CSV soart writes; the chain still sees the names as given."""
    names = {"valid/NORMAL/valid_NORMAL_01.png": "=HYPERLINK(\"http://x\")",
             "learn/NORMAL/learn_NORMAL_01.png": "@SUM(A1)",
             "learn/ERROR_A/learn_ERROR_A_01.png": "+cmd", "valid/ERROR_B/valid_ERROR_B_10.png": "-1"}
    for path in (workflow_copy / EXAMPLE).glob("*.csv"):
        text = path.read_text()
        for old, new in names.items():
            text = text.replace(old + ",", new.replace('"', '""').join('""') + ","
                                if '"' in new else new + ",")
        path.write_text(text)
    in_process.run(workflow_copy, "evaluate", "workbook")
    results = workflow_copy / "results"
    attention = (results / "attention" / "Y1.csv").read_text().splitlines()
    assert attention[0].split(",")[2] == "'@SUM(A1)" and "'+cmd" in attention[0]
    assert attention[1].startswith('"\'=HYPERLINK(""http://x"")",NORMAL,')
    assert attention[-1].startswith("'-1,ERROR_B,")
    for path in results.rglob("*.csv"):  # no cell starts a formula
        for line in path.read_text().splitlines():
            assert not any(c[:1] in ("=", "+", "@") or (c[:1] == "-" and not c[1:2].isdigit())
                           for c in line.split(",")), (path, line)
    from soart_core.tables import read_table

    table = read_table(results / "difference" / "Y1.csv", "item")
    assert table.names[0] == '=HYPERLINK("http://x")' and table.names[-1] == "-1"
    assert table.columns[0] == "@SUM(A1)"


def console_warnings(proc):
    return [l for l in proc.stdout.splitlines() if l.startswith("soart: warning")]


def test_a_cutoff_above_every_value_is_a_warning_not_a_crash(workflow_copy):
    """Every validation cell thresholded to 0 (uniform attention): the evaluation says
    what it cannot compute, in the summary, the log and on the console."""
    override = write_yaml(workflow_copy / "cut.yaml", {
        "threshold": {"learn": {"cutoff": 0.5, "power": 2.0},
                      "valid": {"cutoff": 100.0, "power": 1.0}}})
    proc = in_process.run(workflow_copy, "evaluate", configfiles=[override])
    assert "Traceback" not in proc.stdout
    # one warning naming why, on the console (the summary names each method's)
    assert [w for w in console_warnings(proc) if "rule evaluate" in w
            and "every feature is constant" in w and "nothing tells the items apart" in w]
    summary = (workflow_copy / "results" / "evaluation" / "summary.csv").read_text()
    assert "metrics_lda: every feature is constant (all cells thresholded to 0?)" in summary
    assert "nan" not in summary
    log = (workflow_copy / "results" / "logs" / "evaluate.log").read_text()
    assert "every feature is constant" in log


def test_a_single_item(workflow_copy):
    """One item cannot make the per-metric MT's unit space: a warning per metric, and
    the item still gets its answer (the evaluation's own guards for one item:
    tests/test_evaluation_guards.py)."""
    for path in (workflow_copy / EXAMPLE).glob("valid_*.csv"):
        edit_lines(path, lambda lines: lines[:2])
    proc = snakemake(workflow_copy, check=False)
    assert proc.returncode == 0 and "Traceback" not in proc.stdout, proc.stdout
    assert proc.stdout.count("no MT verdicts (1 labeled item(s) of the reference group "
                             "NORMAL: the verdicts' unit space needs 2 or more") == 3
    summary = (workflow_copy / "results" / "verdicts" / "summary.csv").read_text(
        encoding="utf-8-sig").splitlines()
    assert len(summary) == 2


def test_a_huge_learning_value(workflow_copy):
    """1e300 among values near 1: the normalisation squeezes the rest to 0, which the
    evaluation reports; no traceback, no NaN written."""
    edit_lines(workflow_copy / LEARN_Y1, set_cell(4, "X1", "1e300"))
    proc = in_process.run(workflow_copy, "evaluate")
    assert "Traceback" not in proc.stdout and console_warnings(proc)
    for path in (workflow_copy / "results").rglob("*.csv"):
        assert "nan" not in path.read_text() and "inf" not in path.read_text(), path


def test_a_bug_leaves_its_traceback_in_the_rules_log(tmp_path):
    """A failure that is no input error (a bug) still reaches the rule's log in full."""

    from soart_core.script import run_stage

    def broken(inputs, outputs, params):
        raise RuntimeError("a bug")

    log = tmp_path / "rule.log"
    job = SimpleNamespace(rule="broken", input=[], output=[], params=None, log=[str(log)])
    with pytest.raises(RuntimeError):
        run_stage(job, broken)
    text = log.read_text()
    assert "rule broken failed" in text and "Traceback" in text and "RuntimeError: a bug" in text


def test_a_job_gets_its_threads_and_its_log_everything_it_printed(tmp_path):
    """run_stage hands a job exactly the rule's threads, BLAS limited to them, runs it
    once per run folder, and the rule's log gets what the job printed."""
    import sys

    from threadpoolctl import threadpool_info

    from soart_core.script import run_stage

    seen = []

    def job(inputs, outputs, params, threads=1):
        blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        seen.append((inputs.x, outputs.y, params.p, threads, blas))
        print(f"printed {params.p}")
        print(f"on stderr {params.p}", file=sys.stderr)

    log = tmp_path / "rule.log"
    runs = [dict(folder=f"r{i}", inputs={"x": i}, outputs={"y": -i}, params={"p": 10 * i})
            for i in (1, 2)]
    run_stage(SimpleNamespace(rule="sweep_job", input=[], output=[], log=[str(log)],
                              params=SimpleNamespace(runs=runs), threads=3), job)
    assert [s[:4] for s in seen] == [(1, -1, 10, 3), (2, -2, 20, 3)]
    assert all(blas == [3] * len(blas) for *_, blas in seen)
    text = log.read_text()
    for piece in ("printed 10", "on stderr 20", "r1 done", "r2 done", "on 3 thread(s)"):
        assert piece in text, text


def test_ids_are_text_and_must_be_there(workflow_copy):
    """Ids as written ('001' stays '001'); an empty id, or one with a line break, is one
    clear line (it would break every table written)."""
    for path in (workflow_copy / EXAMPLE).glob("*.csv"):
        lines = path.read_text().splitlines()
        path.write_text("\n".join([lines[0]] + [f"{i:03d}," + l.split(",", 1)[1]
                                                for i, l in enumerate(lines[1:], 1)]) + "\n")
    in_process.run(workflow_copy, "evaluate")
    items = (workflow_copy / "results" / "normalise" / "items.csv").read_text()
    assert items.splitlines()[1].startswith("001,NORMAL")
    edit_lines(workflow_copy / VALID_Y2, set_cell(4, "image", ""))
    assert_fails_cleanly(workflow_copy, [VALID_Y2, "line 4", "column 'image'",
                                         "empty id cell"],
                         keep=("normalise/", "threshold/", "weights/", "classic/",
                               "attention/", "difference/", "blocks/", "verdicts/",
                               "evaluation/"))


def test_an_id_with_a_line_break(workflow_copy):
    edit_lines(workflow_copy / VALID_Y2, set_cell(3, "image", '"two\nlines"'))
    assert_fails_cleanly(workflow_copy, [VALID_Y2, "line 3", "column 'image'",
                                         "holds a line break"])


@pytest.mark.parametrize("setting,pieces", [
    ("encoding=utf8x", ["config key 'encoding': 'utf8x' is not a text encoding"]),
    ("encoding=utf-16", [LEARN_Y1, "cannot be decoded as 'utf-16'", "set `encoding`"]),
    ("data_dir=/no/such/folder", ["config key 'data_dir': '/no/such/folder' is not a "
                                  "folder"]),
])
def test_settings_that_cannot_work_are_one_line(workflow_copy, setting, pieces):
    proc = in_process.run(workflow_copy, config=[setting], check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stdout
    errors = [l for l in proc.stdout.splitlines() if l.startswith("soart: error")]
    assert len(errors) == 1, proc.stdout
    for piece in pieces:
        assert piece in errors[0], errors[0]


def test_implausible_values_are_named_in_warnings(workflow_copy):
    """Finite values that are surely wrong, and silently dominate the result, are named:
    file, line, column."""
    edit_lines(workflow_copy / VALID_Y2, set_cell(5, "X1", "1e6"))
    edit_lines(workflow_copy / LEARN_Y1, set_cell(4, "X2", "9999"))
    proc = in_process.run(workflow_copy, "normalise")
    warnings = console_warnings(proc)
    assert any(f"{VALID_Y2}, line 5, column 'X1': value 1e+06 lies" in w and
               "learning ranges outside" in w for w in warnings), warnings
    assert any(f"{LEARN_Y1}, line 4, column 'X2': value 9999 is over 1000 median absolute "
               "deviations" in w for w in warnings), warnings
    log = (workflow_copy / "results" / "logs" / "normalise.log").read_text()
    assert "value 1e+06 lies" in log


def test_a_config_list_element_is_blamed_on_its_file(workflow_copy):
    bad = write_yaml(workflow_copy / "groups.yaml",
                     {"groups": {"order": ["正常", "ERROR A", "ERROR_B"]}})
    proc = in_process.run(workflow_copy, configfiles=[bad], check=False)
    assert "soart: error: config key 'groups.order.1': 'ERROR A' is not a name soart " \
        "takes: use letters (of any script), digits, '_', '.' and '-' only, no space" \
        in proc.stdout and "(from groups.yaml)" in proc.stdout
    assert "does not match" not in proc.stdout and "\\w" not in proc.stdout  # no regex
