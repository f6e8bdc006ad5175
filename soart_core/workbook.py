"""The results as one Excel workbook, laid out as the seed's authors read theirs.

`results/workbook.xlsx` opens on the answer: `answer`, one row per image (its verdict
`flag`, `score`, `predicted` group, then the rest of results/verdicts/summary.csv, per
metric), with a filter on every column. Then, for every words metric, the baseline
difference (and a sheet of the raw attention): items as rows (id and group in columns
A and B), judges as columns (a header row of names, one of their groups), frozen panes
on both headers, a colour scale centred on 0 (conditional formatting: it follows
edits), and medium borders ruling the (item group x judge group) blocks exactly where
a group changes. A difference within the blocks' tolerance shows as 0 (the tolerance
is written in cell A2), so that signs counted by eye are the `blocks` sheet's counts.
Then the block table (`blocks`), the evaluation summary (`evaluation`: green where a
figure's 95 % interval lies above chance), the per-item verdicts per metric
(`verdicts`) and `settings`: every config value of the run and the package versions.

Numbers are stored as numbers with the stage CSVs' values exactly (their text is
copied); each column has a number format with a fixed count of decimals, so that no
cell shows float noise (3.552714E-15 beside 3.3E-05). Names are stored as text, never
as formulas (an id may start with `=`, it comes from a file name). Above `max_items`
items (or where a sheet's rows or columns would not fit Excel's limits) the item
sheets hold each item group's mean row instead, and say where the full CSVs are.
Written by soart_core.xlsx, streaming: memory stays bounded by one table's rows.
"""

import csv
import importlib.metadata
import io
import json
import logging
import math
import platform
import re

import numpy as np

from . import xlsx
from .errors import InputError, excerpt
from .layout import (ANSWER_COLUMNS, BLOCK_TEXT, DEFECT_FIGURES, MT_TEXT, SUMMARY_TEXT,
                     defect_figures, verdict_summary_text)
from .progress import Progress
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
PACKAGES = ("soart", "python", "numpy", "pandas", "polars", "snakemake")
BLOCK_COUNTS = ("n", "n_pos", "n_neg", "n_zero")
# figure -> its chance level, in the evaluation summary
CHANCE = {"accuracy": "chance_accuracy", "balanced_accuracy": "chance_balanced_accuracy",
          "roc_auc": "chance_roc_auc"}

# colours: the figures' RdBu_r ends for the difference, viridis' for the attention
BLUE, WHITE, RED = "2166AC", "FFFFFF", "B2182B"
VIRIDIS = ("440154", "21918C", "FDE725")
ABOVE_CHANCE, ABNORMAL, HEADER_FILL = "C6EFCE", "FFC7CE", "F2F2F2"
FIGURES_FORMAT = "0.0000"  # the summaries' 4 decimals (tables.write_rounded)
SIGNS_FORMAT = "0.000"
# text columns of results/verdicts/summary.csv (with each metric's, jobs.
# verdict_summary_text) and the columns `answer` shows first
ANSWER_FIRST = ANSWER_COLUMNS


# ---- reading the stage tables --------------------------------------------------------
def read_cells(path, text):
    """A small CSV written by soart as {name: list}: the `text` columns as given (the
    apostrophe before formula-like names dropped), the others as int or float where
    the cell is a number, None where it is empty (a figure that could not be computed)
    and text otherwise. For tables with empty cells, which read_columns refuses."""
    with open(path, encoding="utf-8-sig", newline="") as stream:
        header, *rows = list(csv.reader(stream))
    columns = {name: [row[k] for row in rows] for k, name in enumerate(header)}
    return {name: unescape(cells) if name in text else _numbers(cells)
            for name, cells in columns.items()}


def _numbers(cells):
    """A column's cells as _number makes them, whole columns of ints or of floats (the
    summaries' figures, the verdicts' distances) converted at once."""
    try:
        return [int(c) for c in cells]
    except ValueError:
        pass
    if all("." in c or "e" in c or "E" in c or "n" in c for c in cells if c):
        try:
            return [float(c) if c else None for c in cells]
        except ValueError:
            pass
    return [_number(c) for c in cells]


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
def _text(value):
    """Text for a cell: cut to Excel's limit (with a warning); an error code like `#N/A`
    or a formula-like name stays text (inline text is never read as either)."""
    if len(value) > MAX_CELL_TEXT:
        LOG.warning(f"workbook: the text '{excerpt(value)}' is cut to "
                    f"{MAX_CELL_TEXT:,} characters, Excel's limit for a cell")
        value = value[:MAX_CELL_TEXT]
    return value


def _value(value):
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


HEADER = xlsx.Style(font="bold", fill=HEADER_FILL)
NOTE = xlsx.Style(font="italic")


def fixed(decimals):
    """A number format with `decimals` fixed decimals: '0.00000'."""
    return "0" + ("." + "0" * decimals if decimals > 0 else "")


def shown_decimals(tolerance, decimals):
    """The decimals the item sheets show: as many as the tolerance's unit (one unit of
    the attention's last decimal by default), else the attention's decimals, else 6."""
    if tolerance and tolerance > 0:
        return min(15, max(0, math.ceil(-math.log10(tolerance) - 1e-9)))
    return decimals if isinstance(decimals, int) else 6


# ---- sheets --------------------------------------------------------------------------
def _text_width(values, least=8, most=48):
    return min(most, max([least] + [len(str(v)) + 2 for v in values]))


CHUNK_ROWS = 2_000  # rows made into XML at once: memory bounded, progress shown


def _csv_chunks(path, n_columns, chunk_rows=CHUNK_ROWS):
    """The rows of an item table written by soart (tables.write_table) in chunks, as
    (items, groups, number texts: a polars frame of strings): the numbers keep the text
    they have in the file, the exact doubles, copied without parsing."""
    import polars as pl

    with open(path, "rb") as stream:
        header = next(csv.reader([stream.readline().decode("utf-8-sig")]))
        lead = len(header) - n_columns
        line = 2
        while True:
            lines = [stream.readline() for _ in range(chunk_rows)]
            lines = [x for x in lines if x]
            if not lines:
                return
            # a quoted name holding a line break: read on to the end of its row
            while sum(x.count(b'"') for x in lines) % 2 and (more := stream.readline()):
                lines.append(more)
            frame = pl.read_csv(io.BytesIO(b"".join(lines)), has_header=False,
                                infer_schema=False, empty_string_is_null=False,
                                quote_char='"', truncate_ragged_lines=False)
            if frame.width != len(header):
                raise InputError(path, f"rows of {frame.width} cells where the header "
                                       f"has {len(header)}", line=line)
            items = unescape(frame[:, 0].to_list())
            groups = unescape(frame[:, 1].to_list()) if lead > 1 else [""] * len(frame)
            yield items, groups, frame.select(frame.columns[lead:])
            line += len(lines)


def _means_chunks(rows, groups, values):
    """(items, groups, number texts) of computed rows (group means): one chunk."""
    import polars as pl

    texts = {f"v{j}": [float.__repr__(v) for v in column]
             for j, column in enumerate(np.asarray(values, dtype=np.float64).T.tolist())}
    yield list(rows), list(groups), pl.DataFrame(texts, schema={k: pl.String for k in texts})


def matrix_sheet(book, title, chunks, columns, column_groups, scale, number, *,
                 corner=("item", "group"), second=None, notes=(), zero=None, total=None):
    """Items by judges: `chunks` yields (items, groups, number texts as a polars frame of
    strings) (`second` replaces the groups in column B where given: a group-means
    sheet's counts), `columns` the judges, `column_groups` theirs. Two header rows
    (judge names, judge groups), panes frozen at C3, the colour `scale` (scale(cells)
    -> a cfRule) over the values, medium borders where a group changes, the number
    format `number`; `zero` (a tolerance): values within it show as 0, and cell A2
    says so. `notes` are lines below. A chunk's rows are made into XML by polars
    (vectorised); the number cells carry no reference (each follows the one before,
    as the format allows), which keeps the file small."""
    import polars as pl

    n_cols = len(columns)
    col_breaks = set(breaks(list(column_groups)))
    longest = max([len(str(c)) for c in columns] + [4])
    ws = book.sheet(title, widths=[24, 12] + [12] * n_cols,
                    freeze=(HEADER_ROWS, LEAD_COLUMNS), fit_width=n_cols <= 40,
                    print_rows=(1, 2), print_columns=("A", "B"),
                    heights={1: min(300, 7 * longest + 10)})
    header = [xlsx.Style(font="bold", fill=HEADER_FILL, left=j in col_breaks,
                         rotated=rotated) for rotated in (True, False)
              for j in range(n_cols)]
    ws.append(list(corner) + [_value(c) for c in columns],
              [HEADER, HEADER] + header[:n_cols])
    a2 = f"0: |x| <= {zero:g}" if zero is not None else ""
    ws.append([a2, "judge group"] + [_value(g) for g in column_groups],
              [HEADER, HEADER] + header[n_cols:])
    styles = book.styles
    attr = {(top, left): f' s="{styles.id(xlsx.Style(number=number, left=left, top=top))}"'
            for top in (False, True) for left in (False, True)}
    lead_ids = {False: 0, True: styles.id(xlsx.Style(top=True))}
    parts = []
    for j in range(n_cols):
        parts += [pl.lit("<c"), pl.col("_break" if j in col_breaks else "_plain"),
                  pl.lit("><v>"), pl.col(f"_{j}"), pl.lit("</v></c>")]
    progress = Progress(f"workbook: sheet '{title}'", total or 0)
    previous, n_rows = None, 0
    for items, groups, numbers in chunks:
        if numbers.width != n_cols:
            raise InputError(title, f"{numbers.width} numbers per row where there are "
                                    f"{n_cols} judges")
        leads, plain, ruled = [], [], []
        for k, (item, group) in enumerate(zip(items, groups)):
            top = n_rows + k > 0 and group != previous
            previous = group
            r = ws.row_number + k + 1
            b = second[n_rows + k] if second is not None else group
            # both lead cells always written (empty too): the numbers follow column B
            leads.append(f'<row r="{r}">'
                         + (xlsx.cell(f"A{r}", _value(item), lead_ids[top]) or
                            f'<c r="A{r}"/>')
                         + (xlsx.cell(f"B{r}", _value(b), lead_ids[top]) or
                            f'<c r="B{r}"/>'))
            plain.append(attr[top, False])
            ruled.append(attr[top, True])
        frame = numbers.rename({c: f"_{j}" for j, c in enumerate(numbers.columns)})
        frame = frame.with_columns(_lead=pl.Series(leads, dtype=pl.String),
                                   _plain=pl.Series(plain, dtype=pl.String),
                                   _break=pl.Series(ruled, dtype=pl.String))
        xml = frame.select(pl.concat_str([pl.col("_lead")] + parts + [pl.lit("</row>")]))
        buffer = io.BytesIO()
        xml.write_csv(buffer, include_header=False, quote_style="never",
                      line_terminator="\n")
        ws.stream.write(buffer.getvalue())
        ws.row_number += len(items)
        n_rows += len(items)
        progress.update(n_rows)
    progress.finish()
    if notes:
        ws.skip()
        for line in notes:
            ws.append([line], [NOTE])
    if n_rows and n_cols:
        last = ws.letter(LEAD_COLUMNS + n_cols - 1)
        first_row, last_row = HEADER_ROWS + 1, HEADER_ROWS + n_rows
        cells = f"C{first_row}:{last}{last_row}"
        if zero is not None:  # first: LibreOffice applies a range's first true rule only
            shown = book.styles.dxf(number='"0"')
            ws.conditional(cells, _between(shown, -zero, zero))
        ws.conditional(cells, scale(f"$C${first_row}:${last}${last_row}"))
    ws.close()
    return ws


def _between(dxf, low, high):
    return (f'<cfRule type="cellIs" dxfId="{dxf}" priority="{{priority}}" '
            f'operator="between"><formula>{float(low)!r}</formula>'
            f'<formula>{float(high)!r}</formula></cfRule>').replace("e-", "E-")


def _color_scale(stops):
    """A 2- or 3-colour scale: stops [(cfvo type, value or None, RRGGBB)]."""
    cfvo = "".join(f'<cfvo type="{t}"' + (f' val="{xlsx.escape(str(v))}"' if v is not None
                                           else "") + "/>" for t, v, _ in stops)
    colors = "".join(f'<color rgb="FF{c}"/>' for _, _, c in stops)
    return (f'<cfRule type="colorScale" priority="{{priority}}"><colorScale>{cfvo}{colors}'
            f'</colorScale></cfRule>')


def diverging_scale(cells):
    """Blue below 0, white at 0, red above, symmetric as the figures' heatmaps: the ends
    at -m and +m, m the largest |value| in `cells` (formulas, so they follow edits). A
    sign made of tiny differences stays near white, as on the block grid."""
    m = f"MAX(MAX({cells}),-MIN({cells}))"
    return _color_scale([("formula", f"-{m}", BLUE), ("num", 0, WHITE),
                         ("formula", m, RED)])


def sequential_scale(cells=None):
    """viridis' ends and middle: the sheet's min, median and max."""
    return _color_scale([("min", None, VIRIDIS[0]), ("percentile", 50, VIRIDIS[1]),
                         ("max", None, VIRIDIS[2])])


def sign_scale():
    """Sign scores and row signs: -1 blue, 0 white, +1 red, fixed ends."""
    return _color_scale([("num", -1, BLUE), ("num", 0, WHITE), ("num", 1, RED)])


def fill_rule(dxf, formula):
    return (f'<cfRule type="expression" dxfId="{dxf}" priority="{{priority}}">'
            f'<formula>{xlsx.escape(formula)}</formula></cfRule>')


def equal_rule(dxf, text):
    return (f'<cfRule type="cellIs" dxfId="{dxf}" priority="{{priority}}" '
            f'operator="equal"><formula>{xlsx.escape(json.dumps(text))}</formula>'
            f'</cfRule>')


def item_sheet(book, title, path, judge_groups, order, max_items, scale, what,
               number="General", zero=None):
    """The item-by-judge table at `path` as a matrix sheet: every item up to
    `max_items` (their numbers copied from the file as they are), each item group's
    mean row above (and each judge group's mean column where the judges would not fit
    a sheet's columns), saying where the full table is."""
    with open(path, encoding="utf-8-sig", newline="") as stream:
        header = next(csv.reader([stream.readline()]))
        n_items = sum(1 for _ in stream)  # a line per item (ids hold no line break)
    lead = 2 if len(header) > 1 and header[1] == "group" else 1
    columns, column_groups = unescape(header[lead:]), list(judge_groups)
    if len(columns) != len(column_groups):
        raise InputError(path, f"{len(columns)} judges where the judges' table has "
                               f"{len(column_groups)}")
    n_judges = len(columns)
    if n_items <= max_items and n_judges <= MAX_COLUMNS - LEAD_COLUMNS:
        return matrix_sheet(book, title, _csv_chunks(path, n_judges), columns,
                            column_groups, scale, number, zero=zero, total=n_items)
    table = read_table(path, "item")
    rows, row_groups, values = table.names, table.groups, table.values
    notes, counts, corner = [], None, ("item", "group")
    if n_judges > MAX_COLUMNS - LEAD_COLUMNS:
        columns, sizes, values = group_means(values, column_groups, order, axis=1)
        column_groups = list(columns)
        notes.append(f"{n_judges} judges, more than a sheet's {MAX_COLUMNS - LEAD_COLUMNS} "
                     f"columns: each column is the mean of a judge group's columns ("
                     + ", ".join(f"{g or '(no group)'}: {n}" for g, n in zip(columns, sizes))
                     + ").")
    if len(rows) > max_items:
        rows, counts, values = group_means(values, row_groups, order, axis=0)
        row_groups = list(rows)
        rows = [g if g else "(no group)" for g in rows]
        corner = ("item group", "items")
        notes.append(f"{len(table.names)} items, more than workbook.max_items ({max_items}): "
                     f"each row is the mean of an item group's rows (column B: how many).")
    notes.append(f"Every item's row {what} is in {path}.")
    return matrix_sheet(book, title, _means_chunks(rows, row_groups, values), columns,
                        column_groups, scale, number, corner=corner, second=counts,
                        notes=notes, zero=zero, total=len(rows))


def table_sheet(book, title, columns, freeze=(1, 0), rules=(), rule_breaks=(), notes=(),
                formats=None, autofilter=False):
    """Named columns ({name: list}) as a sheet: a bold header, panes frozen under it,
    `rules` ([(column names, cfRule)]) as conditional formats over those columns'
    cells, a medium border over the rows whose index is in `rule_breaks`; a float in a
    column shown with `formats[name]` (default FIGURES_FORMAT), ints as they are;
    `autofilter`: a filter button on each header cell."""
    names = list(columns)
    n_rows = len(columns[names[0]]) if names else 0
    formats = formats or {}
    widths = [max(_text_width([n], 6), _text_width(columns[n][:200], 6) if
                  any(isinstance(v, str) for v in columns[n][:200]) else 12)
              for n in names]
    ws = book.sheet(title, widths=widths, freeze=freeze, fit_width=True, print_rows=(1, 1))
    ws.append([_value(n) for n in names], [HEADER] * len(names))
    styles = book.styles
    plain = {top: styles.id(xlsx.Style(top=top)) for top in (False, True)}
    floats = {top: [styles.id(xlsx.Style(number=formats.get(n, FIGURES_FORMAT), top=top))
                    for n in names] for top in (False, True)}
    data = [columns[n] for n in names]
    letters = [ws.letter(k) for k in range(len(names))]
    first = ws.row_number + 1
    numbers = range(first, first + n_rows)
    cells = [_column_cells(column, letters[k], numbers, floats[False][k], plain[False])
             for k, column in enumerate(data)]
    for i in rule_breaks:  # a few rows: their cells again, ruled on top
        if i < n_rows:
            for k, column in enumerate(data):
                v = _value(column[i])
                style = floats[True][k] if isinstance(v, float) else plain[True]
                cells[k][i] = xlsx.cell(f"{letters[k]}{first + i}", v, style)
    block = []
    for r, row in zip(numbers, zip(*cells)):
        block.append(f'<row r="{r}">{"".join(row)}</row>')
        if len(block) == 1000:
            ws.write("".join(block))
            block = []
    ws.write("".join(block))
    ws.row_number += n_rows
    if autofilter and names:
        ws.autofilter = f"A1:{letters[-1]}{n_rows + 1}"
    if notes:
        ws.skip()
        for line in notes:
            ws.append([line], [NOTE])
    for targets, rule in rules:
        for name in targets:
            if name in names and n_rows:
                letter = letters[names.index(name)]
                ws.conditional(f"{letter}2:{letter}{n_rows + 1}", rule)
    ws.close()
    return ws


def _column_cells(column, letter, rows, float_id, plain_id):
    """Each cell's XML of one column on `rows` (row numbers): floats with the column's
    number format `float_id`, ints and text with `plain_id`; what xlsx.cell writes,
    with its checks only where a cell is text."""
    fs = f' s="{float_id}"' if float_id else ""
    ps = f' s="{plain_id}"' if plain_id else ""
    out = []
    for r, v in zip(rows, column):
        kind = type(v)
        if kind is float and math.isfinite(v):
            out.append(f'<c r="{letter}{r}"{fs}><v>{float.__repr__(v)}</v></c>')
        elif kind is int:
            out.append(f'<c r="{letter}{r}"{ps}><v>{v}</v></c>')
        else:
            v = _value(v)
            out.append(xlsx.cell(f"{letter}{r}", v, float_id if isinstance(v, float)
                                 else plain_id))
    return out


def _concat(tables, words):
    """Per-metric tables ({name: list}) as one, with a `metric` column first."""
    columns = {"metric": []}
    for metric, table in zip(words, tables):
        n = len(next(iter(table.values()))) if table else 0
        columns["metric"] += [metric] * n
        for name, values in table.items():
            columns.setdefault(name, []).extend(list(values))
    return columns


def answer_sheet(book, path, words):
    """`answer`: one row per image from results/verdicts/summary.csv, the verdict first
    (item, group, flag, score, predicted), then the other columns as in the file; a
    filter on every column, abnormal flags in red."""
    table = read_cells(path, verdict_summary_text(words))
    names = [n for n in ANSWER_FIRST if n in table] + [n for n in table
                                                       if n not in ANSWER_FIRST]
    columns = {n: table[n] for n in names}
    # with images: each flagged image's figure (the figures stage's, beside the workbook)
    figures = defect_figures(table["item"], table["flag"], table["score"]) \
        if any(v not in (None, "") for v in table.get("peak_row", [])) else {}
    if figures:
        at = names.index("where") + 1 if "where" in names else len(names)
        columns = dict(list(columns.items())[:at] + [("figure", [
            xlsx.Link(f"{DEFECT_FIGURES}/{figures[item]}", figures[item])
            if item in figures else "" for item in table["item"]])]
            + list(columns.items())[at:])
    red = book.styles.dxf(fill=ABNORMAL)
    flags = [n for n in names if n == "flag" or n.endswith("_flag")]
    return table_sheet(book, "answer", columns, freeze=(1, 1),
                       rules=[(flags, equal_rule(red, "abnormal"))], autofilter=True,
                       notes=[f"One row per image; every column is in {path}. flag: the "
                              f"verdict, abnormal exactly when score reaches 1 - the "
                              f"false-alarm rate; score: how abnormal (calibrated on the "
                              f"reference judges); predicted: the reference group where "
                              f"not flagged, else the error group whose judges get the "
                              f"most weight; where: the defect's pixel box (images) or "
                              f"the region that drove it; figure: the flagged image's "
                              f"anomaly map, a link to {DEFECT_FIGURES}/; method: "
                              f"the detector that answered (why: "
                              f"results/verdicts/selection.csv); promise: what the flag "
                              f"promises."])


def blocks_sheet(book, words, paths, tolerance=None, number=FIGURES_FORMAT):
    tables = [read_columns(p, text=BLOCK_TEXT, integers=BLOCK_COUNTS) for p in paths]
    columns = _concat([{k: v.tolist() for k, v in t.items()} for t in tables], words)
    notes = ["sign_score: (n_pos - n_neg) / n of the block's values, blue -1, white 0, "
             "red +1."]
    if tolerance is not None:
        notes.append(f"n_zero counts the values with |x| <= {tolerance:g} "
                     f"(blocks.tolerance); the difference sheets show them as 0, so that "
                     f"signs counted there agree with n_pos and n_neg.")
    return table_sheet(book, "blocks", columns, freeze=(1, 3),
                       rules=[(["sign_score"], sign_scale())],
                       rule_breaks=breaks(columns["metric"]),
                       formats={"sign_score": SIGNS_FORMAT, "agreement": SIGNS_FORMAT,
                                "mean_abs": number},
                       notes=notes)


def evaluation_sheet(book, path):
    """The evaluation summary; a figure green where its 95 % interval's lower end
    (`<figure>_low`) lies above its chance level: above chance by more than luck."""
    columns = read_cells(path, SUMMARY_TEXT)
    names = list(columns)
    green = book.styles.dxf(fill=ABOVE_CHANCE)
    rules, shown = [], []
    for figure, chance in CHANCE.items():
        low = f"{figure}_low"
        if figure in names and chance in names and low in names:
            lo = xlsx.column_letter(names.index(low) + 1)
            c = xlsx.column_letter(names.index(chance) + 1)
            rules.append(([figure], fill_rule(
                green, f"AND(ISNUMBER({lo}2),ISNUMBER({c}2),{lo}2>{c}2)")))
            shown.append(f"{low} > {chance}")
    notes = ["Green: a figure whose 95 % interval lies above its chance level ("
             + "; ".join(shown) + "); a figure above chance within its interval is not "
             "marked."] if shown else []
    return table_sheet(book, "evaluation", columns, freeze=(1, 2), rules=rules,
                       rule_breaks=breaks(columns.get("metric", [])), notes=notes)


def verdicts_sheet(book, words, paths, order, max_items):
    """Every item's verdict per metric (one row each), or above `max_items` items, or
    where they would not fit a sheet, each item group's counts per metric."""
    tables = [read_cells(p, MT_TEXT) for p in paths]
    n_items = len(tables[0]["item"]) if tables else 0
    signs = [n for n in (tables[0] if tables else {}) if n.startswith("sign_")]
    red = book.styles.dxf(fill=ABNORMAL)
    formats = {n: SIGNS_FORMAT for n in signs}
    if n_items <= max_items and len(words) * n_items < MAX_ROWS:
        columns = _concat(tables, words)
        return table_sheet(book, "verdicts", columns, freeze=(1, 2),
                           rules=[(["mt_flag"], equal_rule(red, "abnormal")),
                                  (signs, sign_scale())],
                           rule_breaks=breaks(columns["metric"]), formats=formats,
                           autofilter=True)
    summary = {"metric": [], "group": [], "items": [], "abnormal": [], "mean_distance": []}
    predicted = {}
    for metric, table in zip(words, tables):
        groups = np.asarray(table["group"], dtype=object)
        flags = np.asarray(table["mt_flag"], dtype=object)
        distance = np.asarray(table["mt_distance"], dtype=np.float64)
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
    return table_sheet(book, "verdicts", summary, freeze=(1, 2),
                       rule_breaks=breaks(summary["metric"]),
                       notes=[f"{n_items} items, more than workbook.max_items ({max_items}) "
                              f"or a sheet's rows: each row counts an item group's "
                              f"verdicts. Every item's verdict is in "
                              f"{', '.join(map(str, paths))}."])


def settings_sheet(book, settings, versions):
    """Every config value of the run (key path, value as text), then package versions."""
    rows = flatten(settings or {})
    ws = book.sheet("settings", freeze=(1, 0), landscape=False, widths=[
        _text_width([k for k, _ in rows] + list(versions), 12),
        _text_width([v for _, v in rows] + list(versions.values()), 12, 80)])
    ws.append(["setting", "value"], [HEADER, HEADER])
    for key, value in rows:
        ws.append([_value(key), _value(value)])
    ws.skip()
    ws.append(["package", "version"], [HEADER, HEADER])
    for name, version in versions.items():
        ws.append([_value(name), _value(version)])
    ws.close()
    return ws


# ---- the workbook --------------------------------------------------------------------
def write_workbook(path, *, words, attention, difference, blocks, summary, judge_groups,
                   order, verdicts=None, verdict_summary=None, max_items=20000,
                   settings=None, versions=None, tolerance=None, decimals=None):
    """Write the workbook to `path` (atomically, the same bytes for the same inputs).

    `attention`, `difference`, `blocks` (and `verdicts`, optional) are the stage CSVs of
    the `words` metrics, in words order; `summary` the evaluation summary;
    `verdict_summary` results/verdicts/summary.csv (the `answer` sheet, first);
    `judge_groups` the normalise stage's judges.csv; `order` groups.order; `settings`
    the run's config (nested dicts) and `versions` {package: version}; `tolerance` the
    blocks' tolerance and `decimals` the attention's (the item sheets' number
    format)."""
    judges = read_columns(judge_groups, text=("judge", "group"))["group"].tolist()
    used = {"answer", "blocks", "evaluation", "verdicts", "settings"}  # fixed names
    shown = shown_decimals(tolerance, decimals)
    number = fixed(shown)

    def write(stream):
        book = xlsx.Book(stream, title="soart results", creator="soart")
        if verdict_summary:
            answer_sheet(book, verdict_summary, words)
        for metric, src in zip(words, difference):
            item_sheet(book, sheet_title(f"{metric} difference", used), src, judges, order,
                       max_items, diverging_scale, "of the baseline difference", number,
                       zero=tolerance)
        for metric, src in zip(words, attention):
            item_sheet(book, sheet_title(f"{metric} attention", used), src, judges, order,
                       max_items, sequential_scale, "of the attention",
                       fixed(decimals) if isinstance(decimals, int) else number)
        # mean |difference|: one decimal more than the sheets show its values with
        blocks_sheet(book, words, blocks, tolerance, fixed(shown + 1))
        evaluation_sheet(book, summary)
        if verdicts:
            verdicts_sheet(book, words, verdicts, order, max_items)
        settings_sheet(book, settings, versions or package_versions())
        book.close()

    write_atomic(path, write, binary=True)
    return path
