"""The results as one Excel workbook, laid out as the seed's authors read theirs.

`results/workbook.xlsx` holds, for every words metric, the baseline difference (and a
sheet of the raw attention): items as rows (id and group in columns A and B), judges
as columns (a header row of names, one of their groups), frozen panes on both
headers, a colour scale centred on 0 (conditional formatting: it follows edits), and
medium borders ruling the (item group x judge group) blocks exactly where a group
changes. Then the block table (`blocks`), the evaluation summary (`evaluation`), the
per-item verdicts where given (`verdicts`) and `settings`: every config value of the
run and the package versions.

Numbers are stored as numbers with the stage CSVs' values exactly; names are stored
as text, never as formulas (an id may start with `=`, it comes from a file name).
Above `max_items` items (or where a sheet's rows or columns would not fit Excel's
limits) the item sheets hold each item group's mean row instead, and say where the
full CSVs are. Sheets are written in openpyxl's write-only mode: memory stays bounded
by the tables read (one at a time), not by the workbook.
"""

import contextlib
import csv
import importlib.metadata
import json
import logging
import math
import platform
import re
import shutil
import zipfile

import numpy as np

from .errors import excerpt
from .layout import BLOCK_TEXT, VERDICT_TEXT
from .tables import read_columns, read_table, unescape, write_atomic

MAX_ROWS = 1_048_576  # Excel's limits of a sheet
MAX_COLUMNS = 16_384
# Excel's limit for a cell's text: Excel (and openpyxl) cut longer text when they read
# it. Ids that long are refused at input (inputs.MAX_ID_CHARACTERS); other text (a long
# setting) is cut here, with a warning
MAX_CELL_TEXT = 32_767
LOG = logging.getLogger("soart")
HEADER_ROWS = 2  # judge names, judge groups
LEAD_COLUMNS = 2  # item id, item group
MAX_ITEMS_LIMIT = MAX_ROWS - HEADER_ROWS  # the largest sensible workbook.max_items
PACKAGES = ("soart", "python", "numpy", "pandas", "snakemake", "openpyxl")
BLOCK_COUNTS = ("n", "n_pos", "n_neg", "n_zero")
SUMMARY_TEXT = ("metric", "method", "warnings")
# figure -> its chance level, in the evaluation summary
CHANCE = {"accuracy": "chance_accuracy", "balanced_accuracy": "chance_balanced_accuracy",
          "roc_auc": "chance_roc_auc"}

# colours: the figures' RdBu_r ends for the difference, viridis' for the attention
BLUE, WHITE, RED = "2166AC", "FFFFFF", "B2182B"
VIRIDIS = ("440154", "21918C", "FDE725")
ABOVE_CHANCE, ABNORMAL, HEADER_FILL = "C6EFCE", "FFC7CE", "F2F2F2"


# ---- reading the stage tables --------------------------------------------------------
def read_cells(path, text):
    """A small CSV written by soart as {name: list}: the `text` columns as given (the
    apostrophe before formula-like names dropped), the others as int or float where
    the cell is a number, None where it is empty (a figure that could not be computed)
    and text otherwise. For tables with empty cells, which read_columns refuses."""
    with open(path, encoding="utf-8", newline="") as stream:
        header, *rows = list(csv.reader(stream))
    columns = {name: [row[k] for row in rows] for k, name in enumerate(header)}
    return {name: unescape(cells) if name in text else [_number(c) for c in cells]
            for name, cells in columns.items()}


def _number(cell):
    if cell == "":
        return None
    try:
        return int(cell) if re.fullmatch(r"[+-]?\d+", cell) else float(cell)
    except ValueError:  # not a number after all: as text
        return unescape([cell])[0]


# ---- what the workbook shows ---------------------------------------------------------
def group_order(groups, order):
    """The groups present in `groups`: those of `order` in its order, then any other
    (as the unlabeled items' empty group) in order of appearance."""
    present = dict.fromkeys(groups)
    return [g for g in order if g in present] + [g for g in present if g not in order]


def group_means(values, groups, order, axis=0):
    """(names, counts, means) of `values` over the rows (axis 0) or columns (axis 1) of
    each group, in group_order."""
    groups = np.asarray(groups, dtype=object)
    names = group_order(groups.tolist(), order)
    masks = [groups == g for g in names]
    if axis == 0:
        means = np.stack([values[m].mean(axis=0) for m in masks]) if names else \
            np.empty((0, values.shape[1]))
    else:
        means = np.stack([values[:, m].mean(axis=1) for m in masks], axis=1) if names \
            else np.empty((values.shape[0], 0))
    return names, [int(m.sum()) for m in masks], means


def breaks(groups):
    """Indexes where the group differs from the one before: where a block starts."""
    return {i for i in range(1, len(groups)) if groups[i] != groups[i - 1]}


def flatten(settings, prefix=""):
    """[(key path, value as text)] of a nested config: `threshold.learn.cutoff`, `0.5`."""
    rows = []
    for key, value in settings.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += flatten(value, path + ".")
        else:
            rows.append((path, value if isinstance(value, str) else
                         json.dumps(value, ensure_ascii=False)))
    return rows


def package_versions():
    """{package: version} of what made the workbook (python: the interpreter)."""
    versions = {}
    for name in PACKAGES:
        if name == "python":
            versions[name] = platform.python_version()
            continue
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def sheet_title(name, used):
    """An Excel sheet name (at most 31 characters, none of []:*?/\\, no apostrophe at
    either end), unique among `used` (which it joins)."""
    title = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'")[:31] or "sheet"
    base, k = title, 2
    while title.lower() in used:
        suffix = f" ({k})"
        title, k = base[:31 - len(suffix)] + suffix, k + 1
    used.add(title.lower())
    return title


# ---- cells ---------------------------------------------------------------------------
class _Styles:
    """The few styles of the workbook, made once."""

    def __init__(self):
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        medium = Side(style="medium", color="000000")
        self.border = {(False, False): None, (True, False): Border(left=medium),
                       (False, True): Border(top=medium),
                       (True, True): Border(left=medium, top=medium)}
        self.bold = Font(name="Calibri", size=11, bold=True)  # openpyxl's default font
        self.note = Font(name="Calibri", size=11, italic=True)
        self.fill = PatternFill("solid", start_color=HEADER_FILL, end_color=HEADER_FILL)
        self.rotated = Alignment(text_rotation=90, horizontal="center", vertical="bottom")


def _cell(ws, value, styles=None, border=None, header=False, rotated=False, note=False):
    """A value as openpyxl appends it, or a styled WriteOnlyCell; text that openpyxl
    would take for a formula (`=...`) or an error code (`#N/A`) is forced to text."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        if len(value) > MAX_CELL_TEXT:
            LOG.warning(f"workbook: the text '{excerpt(value)}' is cut to "
                        f"{MAX_CELL_TEXT:,} characters, Excel's limit for a cell")
            value = value[:MAX_CELL_TEXT]
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) or None  # "": an empty cell
        protect = value is not None and (value.startswith("=") or value in ERROR_CODES)
    elif isinstance(value, np.generic):
        value, protect = value.item(), False
    else:
        protect = False
    if not (protect or border or header or note):
        return value
    cell = WriteOnlyCell(ws, value)
    if protect:
        cell.data_type = "s"
    if border is not None:
        cell.border = border
    if header:
        cell.font, cell.fill = styles.bold, styles.fill
        if rotated:
            cell.alignment = styles.rotated
    if note:
        cell.font = styles.note
    return cell


@contextlib.contextmanager
def exact_numbers():
    """While active, openpyxl writes floats in Python's shortest round-trip form (repr),
    so that a cell holds exactly the CSV's double. openpyxl's own cell writer formats
    numbers with '%.16g', one significant digit short of a double's 17: it would turn
    1.2999999999152578e-05 into 1.299999999915258e-05, another number."""
    from openpyxl.cell import _writer

    original = _writer.safe_string

    def exact(value):
        if isinstance(value, float) and math.isfinite(value):
            return float.__repr__(value)  # np.float64 too, without its 'np.float64(...)'
        return original(value)

    _writer.safe_string = exact
    try:
        yield
    finally:
        _writer.safe_string = original


class _FixedTimeZip(zipfile.ZipFile):
    """A zip archive whose members carry a fixed time (1980-01-01), so that the same
    workbook is the same bytes; members from files are streamed, not read whole."""

    def _info(self, name):
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = self.compression
        info.external_attr = 0o644 << 16
        return info

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        with open(filename, "rb") as src, \
                self.open(self._info(arcname or filename), "w", force_zip64=True) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data)


def _undated_properties():
    """The workbook's document properties without the times of creation and change
    (which openpyxl always writes): the same tables make the same bytes."""
    from openpyxl.packaging.core import DocumentProperties

    class Undated(DocumentProperties):
        def to_tree(self, tagname=None, idx=None, namespace=None):
            tree = super().to_tree(tagname, idx, namespace)
            for element in list(tree):
                if element.tag.rsplit("}", 1)[-1] in ("created", "modified"):
                    tree.remove(element)
            return tree

    return Undated(creator="soart", title="soart results")


# ---- sheets --------------------------------------------------------------------------
def _widths(ws, widths):
    from openpyxl.utils import get_column_letter

    for k, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(k)].width = width


def _text_width(values, least=8, most=48):
    return min(most, max([least] + [len(str(v)) + 2 for v in values]))


def matrix_sheet(wb, styles, title, rows, row_groups, columns, column_groups, values,
                 scale, corner=("item", "group"), counts=None, notes=()):
    """Items (`rows`, their `row_groups`) by judges (`columns`, `column_groups`): two
    header rows (judge names, judge groups), panes frozen at C3, the colour `scale`
    (a conditional-format rule) over the values, medium borders where a group changes.
    `scale(cells)` makes the rule for the absolute range `cells`. `counts` replaces the
    row groups in column B (a group-means sheet); `notes` are lines of text below the
    table. Printed landscape, the two header rows and columns on every page."""
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    n_rows, n_cols = len(rows), len(columns)
    col_breaks = {LEAD_COLUMNS + j for j in breaks(list(column_groups))}
    row_breaks = breaks(list(row_groups))
    ws.freeze_panes = "C3"  # before the first row: write-only sheets write it first
    ws.page_setup.orientation = "landscape"
    ws.print_title_rows, ws.print_title_cols = "1:2", "A:B"
    if n_cols <= 40:  # a narrow sheet prints one page wide
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    _widths(ws, [_text_width(rows, 10), _text_width(row_groups if counts is None else
                                                    [], 12)] + [12] * n_cols)
    longest = max([len(str(c)) for c in columns] + [4])
    ws.row_dimensions[1].height = min(300, 7 * longest + 10)

    def header(lead, labels, rotated):
        return [_cell(ws, v, styles, header=True) for v in lead] + [
            _cell(ws, v, styles, header=True, rotated=rotated,
                  border=styles.border[(LEAD_COLUMNS + j in col_breaks, False)])
            for j, v in enumerate(labels)]

    ws.append(header(corner, columns, rotated=True))
    ws.append(header(("", "judge group"), column_groups, rotated=False))
    second = row_groups if counts is None else counts
    plain = [(k, styles.border[(True, False)]) for k in sorted(col_breaks)]
    for i in range(n_rows):
        cells = [rows[i], second[i]] + values[i].tolist()
        if i in row_breaks:  # a new item group: a rule over the whole row
            cells = [_cell(ws, v, styles, border=styles.border[(k in col_breaks, True)])
                     for k, v in enumerate(cells)]
        else:
            cells[0], cells[1] = _cell(ws, cells[0]), _cell(ws, cells[1])
            for k, border in plain:
                cells[k] = _cell(ws, cells[k], styles, border=border)
        ws.append(cells)
    if notes:
        ws.append([])
        for line in notes:
            ws.append([_cell(ws, line, styles, note=True)])
    if n_rows and n_cols:
        last = get_column_letter(LEAD_COLUMNS + n_cols)
        first_row, last_row = HEADER_ROWS + 1, HEADER_ROWS + n_rows
        cells = f"C{first_row}:{last}{last_row}"
        ws.conditional_formatting.add(cells, scale(f"$C${first_row}:${last}${last_row}"))
    return ws


def diverging_scale(cells):
    """Blue below 0, white at 0, red above, symmetric as the figures' heatmaps: the ends
    at -m and +m, m the largest |value| in `cells` (formulas, so they follow edits). A
    sign made of tiny differences stays near white, as on the block grid."""
    from openpyxl.formatting.rule import ColorScaleRule

    m = f"MAX(MAX({cells}),-MIN({cells}))"
    return ColorScaleRule(start_type="formula", start_value=f"-{m}", start_color=BLUE,
                          mid_type="num", mid_value=0, mid_color=WHITE,
                          end_type="formula", end_value=m, end_color=RED)


def sequential_scale(cells=None):
    """viridis' ends and middle: the sheet's min, median and max."""
    from openpyxl.formatting.rule import ColorScaleRule

    return ColorScaleRule(start_type="min", start_color=VIRIDIS[0], mid_type="percentile",
                          mid_value=50, mid_color=VIRIDIS[1], end_type="max",
                          end_color=VIRIDIS[2])


def sign_scale():
    """Sign scores and row signs: -1 blue, 0 white, +1 red, fixed ends."""
    from openpyxl.formatting.rule import ColorScaleRule

    return ColorScaleRule(start_type="num", start_value=-1, start_color=BLUE,
                          mid_type="num", mid_value=0, mid_color=WHITE,
                          end_type="num", end_value=1, end_color=RED)


def item_sheet(wb, styles, title, path, judge_groups, order, max_items, scale, what):
    """The item-by-judge table at `path` as a matrix sheet: every item up to
    `max_items`, each item group's mean row above (and each judge group's mean column
    where the judges would not fit a sheet's columns), saying where the full table is."""
    table = read_table(path, "item")
    rows, row_groups, values = table.names, table.groups, table.values
    columns, column_groups = table.columns, list(judge_groups)
    notes, counts, corner = [], None, ("item", "group")
    n_items, n_judges = len(rows), len(columns)
    if n_judges > MAX_COLUMNS - LEAD_COLUMNS:
        columns, sizes, values = group_means(values, column_groups, order, axis=1)
        column_groups = list(columns)
        notes.append(f"{n_judges} judges, more than a sheet's {MAX_COLUMNS - LEAD_COLUMNS} "
                     f"columns: each column is the mean of a judge group's columns ("
                     + ", ".join(f"{g or '(no group)'}: {n}" for g, n in zip(columns, sizes))
                     + ").")
    if n_items > max_items:
        rows, counts, values = group_means(values, row_groups, order, axis=0)
        row_groups = list(rows)
        rows = [g if g else "(no group)" for g in rows]
        corner = ("item group", "items")
        notes.append(f"{n_items} items, more than workbook.max_items ({max_items}): each "
                     f"row is the mean of an item group's rows (column B: how many).")
    if notes:
        notes.append(f"Every item's row {what} is in {path}.")
    return matrix_sheet(wb, styles, title, rows, row_groups, columns, column_groups,
                        values, scale, corner=corner, counts=counts, notes=notes)


def table_sheet(wb, styles, title, columns, freeze="A2", rules=(), rule_breaks=(),
                notes=()):
    """Named columns ({name: list}) as a sheet: a bold header, panes frozen under it,
    `rules` ([(column names, rule)]) as conditional formats over those columns' cells,
    a medium border over the rows whose index is in `rule_breaks`."""
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    names = list(columns)
    n_rows = len(columns[names[0]]) if names else 0
    ws.freeze_panes = freeze
    ws.page_setup.orientation = "landscape"  # printed one page wide, the header on each
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.print_title_rows = "1:1"
    _widths(ws, [max(_text_width([n], 6), _text_width(columns[n][:200], 6) if
                     any(isinstance(v, str) for v in columns[n][:200]) else 12)
                 for n in names])
    ws.append([_cell(ws, n, styles, header=True) for n in names])
    top = styles.border[(False, True)]
    for i in range(n_rows):
        cells = [columns[n][i] for n in names]
        ws.append([_cell(ws, v, styles, border=top if i in rule_breaks else None)
                   for v in cells])
    if notes:
        ws.append([])
        for line in notes:
            ws.append([_cell(ws, line, styles, note=True)])
    for targets, rule in rules:
        for name in targets:
            if name in names and n_rows:
                letter = get_column_letter(names.index(name) + 1)
                ws.conditional_formatting.add(f"{letter}2:{letter}{n_rows + 1}", rule)
    return ws


def _concat(tables, words):
    """Per-metric tables ({name: list}) as one, with a `metric` column first."""
    columns = {"metric": []}
    for metric, table in zip(words, tables):
        n = len(next(iter(table.values()))) if table else 0
        columns["metric"] += [metric] * n
        for name, values in table.items():
            columns.setdefault(name, []).extend(list(values))
    return columns


def blocks_sheet(wb, styles, words, paths):
    tables = [read_columns(p, text=BLOCK_TEXT, integers=BLOCK_COUNTS) for p in paths]
    columns = _concat([{k: v.tolist() for k, v in t.items()} for t in tables], words)
    return table_sheet(wb, styles, "blocks", columns, freeze="D2",
                       rules=[(["sign_score"], sign_scale())],
                       rule_breaks=breaks(columns["metric"]),
                       notes=["sign_score: (n_pos - n_neg) / n of the block's values, "
                              "blue -1, white 0, red +1."])


def evaluation_sheet(wb, styles, path):
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import PatternFill
    from openpyxl.utils import get_column_letter

    columns = read_cells(path, SUMMARY_TEXT)
    names = list(columns)
    fill = PatternFill("solid", start_color=ABOVE_CHANCE, end_color=ABOVE_CHANCE)
    rules, shown = [], []
    for figure, chance in CHANCE.items():
        if figure in names and chance in names:
            f = get_column_letter(names.index(figure) + 1)
            c = get_column_letter(names.index(chance) + 1)
            rules.append(([figure], FormulaRule(
                formula=[f"AND(ISNUMBER({f}2),ISNUMBER({c}2),{f}2>{c}2)"], fill=fill)))
            shown.append(f"{figure} > {chance}")
    notes = ["Green: a figure above its chance level (" + "; ".join(shown) + ")."] \
        if shown else []
    return table_sheet(wb, styles, "evaluation", columns, freeze="C2", rules=rules,
                       rule_breaks=breaks(columns.get("metric", [])), notes=notes)


def verdicts_sheet(wb, styles, words, paths, order, max_items):
    """Every item's verdict per metric (one row each), or above `max_items` items, or
    where they would not fit a sheet, each item group's counts per metric."""
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import PatternFill

    tables = [read_cells(p, VERDICT_TEXT) for p in paths]
    n_items = len(tables[0]["item"]) if tables else 0
    signs = [n for n in (tables[0] if tables else {}) if n.startswith("sign_")]
    red = PatternFill("solid", start_color=ABNORMAL, end_color=ABNORMAL)
    abnormal = CellIsRule(operator="equal", formula=['"abnormal"'], fill=red)
    if n_items <= max_items and len(words) * n_items < MAX_ROWS:
        columns = _concat(tables, words)
        return table_sheet(wb, styles, "verdicts", columns, freeze="C2",
                           rules=[(["flag"], abnormal), (signs, sign_scale())],
                           rule_breaks=breaks(columns["metric"]))
    summary = {"metric": [], "group": [], "items": [], "abnormal": [], "mean_distance": []}
    predicted = {}
    for metric, table in zip(words, tables):
        groups = np.asarray(table["group"], dtype=object)
        flags = np.asarray(table["flag"], dtype=object)
        distance = np.asarray(table["distance"], dtype=np.float64)
        guess = np.asarray(table["predicted"], dtype=object)
        for g in group_order(groups.tolist(), order):
            mask = groups == g
            summary["metric"].append(metric)
            summary["group"].append(g)
            summary["items"].append(int(mask.sum()))
            summary["abnormal"].append(int((flags[mask] == "abnormal").sum()))
            summary["mean_distance"].append(float(distance[mask].mean()))
            for p in group_order(guess.tolist(), order):
                predicted.setdefault(f"predicted_{p}", {})[(metric, g)] = \
                    int((guess[mask] == p).sum())
    keys = list(zip(summary["metric"], summary["group"]))
    for name, counts in predicted.items():
        summary[name] = [counts.get(k, 0) for k in keys]
    return table_sheet(wb, styles, "verdicts", summary, freeze="C2",
                       rule_breaks=breaks(summary["metric"]),
                       notes=[f"{n_items} items, more than workbook.max_items ({max_items}) "
                              f"or a sheet's rows: each row counts an item group's "
                              f"verdicts. Every item's verdict is in "
                              f"{', '.join(map(str, paths))}."])


def settings_sheet(wb, styles, settings, versions):
    """Every config value of the run (key path, value as text), then package versions."""
    ws = wb.create_sheet("settings")
    ws.freeze_panes = "A2"
    rows = flatten(settings or {})
    _widths(ws, [_text_width([k for k, _ in rows] + list(versions), 12),
                 _text_width([v for _, v in rows] + list(versions.values()), 12, 80)])
    ws.append([_cell(ws, v, styles, header=True) for v in ("setting", "value")])
    for key, value in rows:
        ws.append([_cell(ws, key), _cell(ws, value)])
    ws.append([])
    ws.append([_cell(ws, v, styles, header=True) for v in ("package", "version")])
    for name, version in versions.items():
        ws.append([_cell(ws, name), _cell(ws, version)])
    return ws


# ---- the workbook --------------------------------------------------------------------
def write_workbook(path, *, words, attention, difference, blocks, summary, judge_groups,
                   order, verdicts=None, max_items=20000, settings=None, versions=None):
    """Write the workbook to `path` (atomically, the same bytes for the same inputs).

    `attention`, `difference`, `blocks` (and `verdicts`, optional) are the stage CSVs of
    the `words` metrics, in words order; `summary` the evaluation summary;
    `judge_groups` the normalise stage's judges.csv; `order` groups.order; `settings`
    the run's config (nested dicts) and `versions` {package: version}."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    judges = read_columns(judge_groups, text=("judge", "group"))["group"].tolist()
    styles = _Styles()
    wb = Workbook(write_only=True)
    wb.properties = _undated_properties()
    used = {"blocks", "evaluation", "verdicts", "settings"}  # the fixed sheets' names
    with exact_numbers():
        for metric, src in zip(words, difference):
            item_sheet(wb, styles, sheet_title(f"{metric} difference", used), src, judges,
                       order, max_items, diverging_scale, "of the baseline difference")
        for metric, src in zip(words, attention):
            item_sheet(wb, styles, sheet_title(f"{metric} attention", used), src, judges,
                       order, max_items, sequential_scale, "of the attention")
        blocks_sheet(wb, styles, words, blocks)
        evaluation_sheet(wb, styles, summary)
        if verdicts:
            verdicts_sheet(wb, styles, words, verdicts, order, max_items)
        settings_sheet(wb, styles, settings, versions or package_versions())

        def save(stream):
            with _FixedTimeZip(stream, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
                ExcelWriter(wb, zf).save()

        write_atomic(path, save, binary=True)
    return path
