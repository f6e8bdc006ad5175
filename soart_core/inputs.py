"""Reading the user's input metric tables, checking every cell.

Every fault becomes an `InputError` naming the file, the line (as an editor or Excel
counts it: the header is line 1) and the column. pandas reads the files: it knows
encodings, BOMs and CRLF line ends, and finds bad cells without a loop over them.
"""

import codecs
import csv
import io
import logging
import os
import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .errors import MARKUP, InputError, excerpt, has_markup, names
from .layout import UNLABELED
from .tables import Table, line_of, unescape

AUTO_FEATURE = re.compile(r"X\d+")  # features: auto takes X0, X1, ...
LOG = logging.getLogger("soart")
# Excel's limit for the text of a cell: a longer id would be cut in the workbook, and
# one that long is no name a user meant; refused at input (docs/data.md, "Your own tables")
MAX_ID_CHARACTERS = 32_767


def resolve_features(header, features, path):
    """The feature columns: auto (every column named X<number>, in header order), a list
    of names, or the seed's slice 'first:last' (inclusive)."""
    if features == "auto":
        found = [name for name in header if AUTO_FEATURE.fullmatch(name)]
        if not found:
            raise InputError(path, f"no feature columns: `features: auto` takes the columns "
                                   f"named X0, X1, ... (columns: {names(header)}); set "
                                   f"`features` to a list of column names or 'first:last'")
        return found
    if isinstance(features, str):
        first, _, last = features.partition(":")
        for name in (first, last):
            if name not in header:
                raise InputError(path, f"missing feature column '{excerpt(name)}' "
                                       f"(features: '{excerpt(features)}'; columns: "
                                       f"{names(header)})", column=name)
        i, j = header.index(first), header.index(last)
        if j < i:
            raise InputError(path, f"feature slice '{features}' is empty: '{last}' comes "
                                   f"before '{first}'")
        return header[i:j + 1]
    for name in features:
        if name not in header:
            raise InputError(path, f"missing feature column '{excerpt(name)}' "
                                   f"(columns: {names(header)})", column=name)
    return list(features)


@dataclass(frozen=True)
class CsvFormat:
    """How one input file is written: its encoding, column separator, decimal mark."""

    encoding: str
    sep: str
    decimal: str

    def describe(self):
        sep = {",": "comma", ";": "semicolon", "\t": "tab"}[self.sep]
        return f"{self.encoding}, {sep}-separated, decimal '{self.decimal}'"


BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"))
SEPARATORS = {",": ",", ";": ";", "tab": "\t"}
SNIFF_BYTES = 1 << 16
DECIMAL_COMMA = re.compile(r"[-+]?\d*,\d+(?:[eE][-+]?\d+)?")
DECIMAL_POINT = re.compile(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?")


def sniff_format(path, encoding="utf-8-sig", delimiter="auto", decimal="auto"):
    """The file's CsvFormat and its header as written (names stripped). Excel writes
    comma files (UTF-8, maybe a BOM), semicolon files with decimal commas (European
    locales) and tab-separated UTF-16 with a BOM ("Unicode text"): a byte-order mark
    decides the encoding, the header the separator, the first cells the decimal mark.
    An undecidable file is an InputError naming the config key that settles it."""
    if not os.path.isfile(path):
        raise InputError(path, "file not found")
    with open(path, "rb") as stream:
        head = stream.read(SNIFF_BYTES)
    bom = next((name for bom, name in BOMS if head.startswith(bom)), None)
    if bom is None:
        _check_not_utf16(path, head, encoding)
    encoding = bom or encoding
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a character cut at the sample's end
            raise _undecodable(path, encoding, err) from None
        text = head[:err.start].decode(encoding)
    except UnicodeError as err:  # e.g. utf-16 asked for, and no byte-order mark
        raise _undecodable(path, encoding, err) from None
    lines = text.splitlines()
    header_line = lines[0] if lines else ""
    if delimiter != "auto":
        sep = SEPARATORS[delimiter]
    else:
        found = [c for c in (",", ";", "\t") if c in header_line]
        if len(found) > 1:
            shown = " and ".join(repr(c) for c in found)
            raise InputError(path, f"the header holds both {shown}: cannot tell the column "
                                   f"separator; set `delimiter` in config.yaml (',', ';' "
                                   f"or tab)", line=1)
        sep = found[0] if found else ","
    if decimal != "auto":
        mark = decimal
    elif sep == ",":
        mark = "."
    else:
        cells = [c.strip().strip('"') for line in lines[1:] for c in line.split(sep)]
        comma = any(DECIMAL_COMMA.fullmatch(c) for c in cells)
        point = any(DECIMAL_POINT.fullmatch(c) for c in cells)
        if comma and point:
            raise InputError(path, f"numbers with both decimal marks ('1,5' and '1.5') in "
                                   f"this {'semicolon' if sep == ';' else 'tab'}-separated "
                                   f"file; set `decimal` in config.yaml ('.' or ',')")
        mark = "," if comma else "."
    header = next(csv.reader([header_line], delimiter=sep), [])
    return CsvFormat(encoding, sep, mark), [name.strip() for name in header]


def _check_not_utf16(path, head, encoding):
    """UTF-16 without a byte-order mark decodes as UTF-8 into text with a NUL after (or
    before) every ASCII character: say so, and name the setting, rather than report
    columns named 'i?m?a?g?e'."""
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")) or len(head) < 4:
        return
    odd, even = head[1::2].count(0), head[0::2].count(0)
    for zeros, order in ((odd, "le"), (even, "be")):
        if zeros > len(head) // 4:  # most characters of a table are ASCII
            raise InputError(path, f"looks like UTF-16 text without a byte-order mark "
                                   f"(a 0 byte beside every character); save it as "
                                   f"UTF-8, or as UTF-16 with a mark (Excel's Unicode "
                                   f"text), or, where every table is such, set "
                                   f"`encoding: utf-16-{order}` (it applies to all)")


def _undecodable(path, encoding, err):
    """The error for a file that `encoding` cannot decode, with the setting to change."""
    reason = (f"{err.reason} at byte {err.start}" if isinstance(err, UnicodeDecodeError)
              else str(err))
    return InputError(path, f"cannot be decoded as '{encoding}' ({reason}); set "
                            f"`encoding` in config.yaml (cp932 for Japanese Excel)")


def _check_header(header, path):
    """A duplicated column name, as written (pandas would rename the second one)."""
    seen = {}
    for index, name in enumerate(header, start=1):
        if name in seen:
            raise InputError(path, f"column name '{excerpt(name)}' appears twice in the "
                                   f"header (columns {seen[name]} and {index})", line=1)
        seen[name] = index


def _read_frame(path, fmt, as_text=False, text_columns=()):
    """The table as a DataFrame; `text_columns` (ids, groups) as written: '001' stays.
    Every record is a row, a blank line too (as a row of empty cells), so that row r is
    the file's record r + 1 (_Lines)."""
    try:
        frame = pd.read_csv(path, encoding=fmt.encoding, sep=fmt.sep, decimal=fmt.decimal,
                            skipinitialspace=True, skip_blank_lines=False,
                            dtype=str if as_text else {c: str for c in text_columns},
                            # only an empty cell is missing: a group 'NA' stays text
                            keep_default_na=False, na_values=[] if as_text else [""])
    except pd.errors.EmptyDataError:
        raise InputError(path, "the file is empty (no header, no rows)") from None
    except pd.errors.ParserError as err:
        where = re.search(r"line (\d+)", str(err))
        line = int(where.group(1)) if where else None
        fault = f"not a well-formed CSV ({fmt.describe()})"
        if "Expected" in str(err):  # pandas counts no blank line: the file's own line
            starts, counts = _scan(path, fmt)
            long = np.flatnonzero(counts > counts[0])
            if len(long):
                line = int(starts[long[0]])
                fault += f": a row has {counts[long[0]]} cells, the header {counts[0]}"
            else:
                fault += ": a row has more cells than the header"
        raise InputError(path, fault, line=line) from None
    except UnicodeError as err:
        raise _undecodable(path, fmt.encoding, err) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _scan(path, fmt):
    """(first line, cell count) of every record of the file, the header first, as the
    csv module reads it: as pandas does, and counting lines as an editor does."""
    with open(path, encoding=fmt.encoding, newline="") as stream:
        text = stream.read()
    if '"' not in text:  # no quoted cells (most numeric tables): a record is a line
        if "\r" in text:  # the csv module's line ends (not all of str.splitlines')
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        counts = [line.count(fmt.sep) + 1 if line else 0 for line in lines]
        return np.arange(1, len(lines) + 1, dtype=np.int64), np.asarray(counts, np.int64)
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))  # any cell pandas reads
    starts, counts = [], []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=fmt.sep,
                        skipinitialspace=True)
    line = 1
    for record in reader:
        starts.append(line)
        counts.append(len(record))
        line = reader.line_num + 1
    return np.asarray(starts, dtype=np.int64), np.asarray(counts, dtype=np.int64)


class _Lines:
    """The file's own line (header: line 1) of each row a frame kept: blank lines,
    skipped empty rows and line breaks inside quoted cells counted. The file is scanned
    only when a message needs a line, or a row may be short."""

    def __init__(self, path, fmt, records):
        self.path, self.fmt = path, fmt
        self.records = np.asarray(records, dtype=np.int64) + 1  # + 1: the header
        self._scanned = None

    def _share(self, other):
        """This mapping, with the scan `other` made (one scan per file)."""
        self._scanned = other._scanned
        return self

    def scan(self):
        if self._scanned is None:
            self._scanned = _scan(self.path, self.fmt)
        return self._scanned

    def cells(self):
        """The cell count of every kept row (None where the scan disagrees)."""
        counts = self.scan()[1]
        return counts[self.records] if self.records.max(initial=0) < len(counts) else None

    def __call__(self, row):
        starts = self.scan()[0]
        record = int(self.records[row])
        return int(starts[record]) if record < len(starts) else record + 1

    def all(self):
        """Every kept row's line, as __call__ gives each."""
        starts = np.asarray(self.scan()[0], dtype=np.int64)
        inside = self.records < len(starts)
        return np.where(inside, starts[np.minimum(self.records, max(len(starts) - 1, 0))]
                        if len(starts) else 0, self.records + 1)


def _skip_empty_rows(frame, path, lines):
    """Rows whose every cell is empty (Excel leaves `,,,,,` below a table it saved;
    blank lines): dropped, with one warning that counts them."""
    empty = frame.isna().all(axis=1).to_numpy()
    if not empty.any():
        return frame
    first = lines(int(np.argmax(empty)))
    LOG.warning(f"{path}: skipped {int(empty.sum())} empty row(s) (every cell empty, as "
                f"Excel leaves below a table), the first at line {first}")
    return frame[~empty]


def _check_row_lengths(frame, header, path, lines):
    """A row with fewer cells than the header is refused, as one with more is: pandas
    would read the missing cells as empty, and a validation row without its class cell
    would pass as an unlabeled item. (An empty last cell written with its separator,
    `...,0.3,`, is a full row.) Only a row whose last cell reads as empty can be short."""
    if not frame.iloc[:, -1].isna().any():
        return
    cells = lines.cells()
    short = np.flatnonzero(cells < len(header)) if cells is not None else []
    if len(short):
        row = int(short[0])
        raise InputError(path, f"not a well-formed CSV ({lines.fmt.describe()}): a row has "
                               f"{cells[row]} cells, the header {len(header)} (an empty "
                               f"cell still needs its separator)", line=lines(row))


def _numeric_block(frame, features, path, fmt, lines):
    """The feature cells as float64, or an InputError naming the first bad cell."""
    block = frame[features]
    if all(block[c].dtype.kind in "fiu" for c in features):
        values = block.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if not bad.any():
            return values
    else:
        values = None
    # a fault: read the raw text back to say exactly which cell holds what
    text = _read_frame(path, fmt, as_text=True).loc[frame.index, features]
    if fmt.decimal == ",":
        text = text.apply(lambda col: col.str.replace(",", ".", regex=False))
    parsed = text.apply(lambda col: pd.to_numeric(col.str.strip(), errors="coerce"))
    bad = ~np.isfinite(parsed.to_numpy(dtype=np.float64))
    row, col = np.argwhere(bad)[0]  # row-major: the first bad cell as a reader meets it
    raw = text.iat[row, col]
    if raw is None or pd.isna(raw) or str(raw).strip() == "":
        fault = "empty cell"
    elif np.isnan(parsed.iat[row, col]) and str(raw).strip().lower() not in (
            "nan", "-nan", "+nan", "na", "n/a", "null", "none", "#n/a"):
        fault = f"value '{excerpt(raw)}' is not a number"
    else:
        fault = f"value '{excerpt(raw)}' is not a finite number"
    raise InputError(path, fault, line=lines(row), column=features[col])


def _row_names(frame, id_column, groups, path, lines):
    if id_column and id_column in frame.columns:
        column = frame[id_column]
        if column.isna().any():
            row = int(np.argmax(column.isna().to_numpy()))
            raise InputError(path, "empty id cell: every row needs its id", line=lines(row),
                             column=id_column)
        ids = unescape(column.str.strip().tolist())
        bad = [i for i, name in enumerate(ids) if not name.isprintable()]
        if bad:  # a line break or a control character would break every table written
            raise InputError(path, f"id '{excerpt(ids[bad[0]])}' holds a line break or "
                                   f"another control character", line=lines(bad[0]),
                             column=id_column)
        bad = [i for i, name in enumerate(ids) if has_markup(name)]
        if bad:
            raise InputError(path, f"id '{excerpt(ids[bad[0]])}' holds {MARKUP[0]} or "
                                   f"{MARKUP[1]}, which the report's HTML would read as "
                                   f"markup; rename the row", line=lines(bad[0]),
                             column=id_column)
        long = [i for i, name in enumerate(ids) if len(name) > MAX_ID_CHARACTERS]
        if long:
            raise InputError(path, f"id '{excerpt(ids[long[0]])}' is longer than "
                                   f"{MAX_ID_CHARACTERS:,} characters, Excel's limit for "
                                   f"a cell (the workbook would cut it)",
                             line=lines(long[0]), column=id_column)
    else:  # readable and stable: NORMAL_1, NORMAL_2, ..., ERROR_A_1, ...
        seen = {}
        ids = []
        for g in groups:
            g = g or "unlabeled"
            seen[g] = seen.get(g, 0) + 1
            ids.append(f"{g}_{seen[g]}")
    counts = pd.Series(ids).duplicated()
    if counts.any():
        row = int(np.argmax(counts.to_numpy()))
        raise InputError(path, f"duplicate row id '{excerpt(ids[row])}'",
                         line=lines(row), column=id_column)
    return ids


def _groups_from_column(frame, group_column, order, path, unlabeled, lines):
    """The group of every row; an empty cell is an unlabeled item where `unlabeled`
    allows it (validation tables), an error otherwise (judges need their group)."""
    groups = frame[group_column].fillna(UNLABELED).astype(str).str.strip()
    unknown = ~groups.isin(order)
    if unlabeled:
        unknown &= groups != UNLABELED
    if unknown.any():
        row = int(np.argmax(unknown.to_numpy()))
        fault = (f"group '{excerpt(groups.iat[row])}' is not one of the configured "
                 f"groups.order ({names(order)})" if groups.iat[row] else
                 "empty group cell: every judge needs its group (only validation rows, "
                 "the items, may be unlabeled)")
        raise InputError(path, fault, line=lines(row), column=group_column)
    return groups.tolist()


def _groups_from_counts(n_rows, order, counts, path):
    if len(counts) != len(order):
        raise InputError(path, f"groups.valid_counts has {len(counts)} entries but "
                               f"groups.order has {len(order)}")
    if sum(counts) != n_rows:
        spelled = ", ".join(f"{g} {c}" for g, c in zip(order, counts))
        raise InputError(path, f"has {n_rows} data rows, but groups.valid_counts "
                               f"({spelled}) add up to {sum(counts)}; the table has no "
                               f"group column to say otherwise")
    return [g for g, c in zip(order, counts) for _ in range(c)]


def read_metric_table(path, features, *, group_column, order, counts=None,
                      id_column=None, encoding="utf-8-sig", delimiter="auto",
                      decimal="auto", unlabeled=False):
    """Read one input metric table (learning or validation) and check every cell: its
    Table, and the _Lines of its rows (each row's line in the file, blank rows counted).

    Groups come from `group_column` when the table has it; otherwise from `counts`
    (one per group in `order`, in row order); a table with neither is an error. Rows
    whose every cell is empty are skipped, with a warning.
    """
    path = str(path)
    fmt, written = sniff_format(path, encoding, delimiter, decimal)
    _check_header(written, path)
    frame = _read_frame(path, fmt, text_columns=[c for c in (id_column, group_column)
                                                 if c in written])
    lines = _Lines(path, fmt, frame.index)
    frame = _skip_empty_rows(frame, path, lines)
    if len(frame) == 0:
        raise InputError(path, "the table has a header but no data rows")
    lines = _Lines(path, fmt, frame.index)._share(lines)
    header = list(frame.columns)
    _check_row_lengths(frame, header, path, lines)
    columns = resolve_features(header, features, path)
    values = _numeric_block(frame, columns, path, fmt, lines)
    if group_column in header:
        groups = _groups_from_column(frame, group_column, order, path, unlabeled, lines)
    elif counts is not None:
        groups = _groups_from_counts(len(frame), order, counts, path)
    else:
        raise InputError(path, f"missing group column '{excerpt(group_column)}' (columns: "
                               f"{names(header)})", column=group_column)
    ids = _row_names(frame, id_column, groups, path, lines)
    return Table(path, ids, groups, columns, values), lines


def check_same_features(table, other):
    """Both tables read the same feature columns in the same order; a column one of them
    lacks is blamed on that one."""
    if table.columns == other.columns:
        return
    for lacking, holding in ((table, other), (other, table)):
        missing = [c for c in holding.columns if c not in lacking.columns]
        if missing:
            raise InputError(lacking.path, f"missing feature column '{excerpt(missing[0])}' "
                                           f"(it is in {holding.path}; features here: "
                                           f"{names(lacking.columns)})", column=missing[0])
    raise InputError(table.path, f"feature columns in another order ({names(table.columns)}) "
                                 f"than in {other.path} ({names(other.columns)})")


def check_same_rows(tables, what, lines=None):
    """All tables must have the same rows: count, order, ids and groups (docs/method.md,
    shapes). `lines`: {path: the line of a row} (default: row r on line r + 2)."""
    first = tables[0]
    for other in tables[1:]:
        if len(other.names) != len(first.names):
            raise InputError(other.path, f"has {len(other.names)} {what} but "
                                         f"{first.path} has {len(first.names)}; all "
                                         f"tables must have the same {what}")
        for label, mine, theirs in (("group", other.groups, first.groups),
                                    ("id", other.names, first.names)):
            differs = np.asarray(mine, dtype=object) != np.asarray(theirs, dtype=object)
            if differs.any():
                row = int(np.argmax(differs))
                raise InputError(other.path, f"{what[:-1]} {label} '{excerpt(mine[row])}' "
                                             f"differs from '{excerpt(theirs[row])}' in "
                                             f"{first.path}; all "
                                             f"tables must list the same {what} in the "
                                             f"same order",
                                 line=(lines or {}).get(other.path, line_of)(row))
        check_same_features(other, first)


def load_inputs(metrics, features, *, group_column, order, valid_counts, id_column=None,
                encoding="utf-8-sig", delimiter="auto", decimal="auto"):
    """Read and check every metric's learning and validation table.

    `metrics` maps a metric id to {"learn": path, "valid": path}. Returns
    {metric: (learn Table, valid Table)}; all learning tables must list the same judges,
    all validation tables the same items (docs/method.md, shapes).
    """
    read = dict(features=features, group_column=group_column, order=order,
                id_column=id_column, encoding=encoding, delimiter=delimiter,
                decimal=decimal)
    learn = {m: read_metric_table(p["learn"], counts=None, unlabeled=False, **read)
             for m, p in metrics.items()}
    valid = {m: read_metric_table(p["valid"], counts=valid_counts, unlabeled=True, **read)
             for m, p in metrics.items()}
    lines = {table.path: where for table, where in [*learn.values(), *valid.values()]}
    learn = {m: replace(table, lines=where) for m, (table, where) in learn.items()}
    valid = {m: replace(table, lines=where) for m, (table, where) in valid.items()}
    check_same_rows(list(learn.values()), "judges", lines)
    check_same_rows(list(valid.values()), "items", lines)
    first_learn, first_valid = next(iter(learn.values())), next(iter(valid.values()))
    check_same_features(first_valid, first_learn)
    return {m: (learn[m], valid[m]) for m in metrics}
