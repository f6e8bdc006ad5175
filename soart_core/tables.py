"""The workflow's own CSV tables: the large item/judge matrices read and written with
polars (its CSV engine is some 20x faster than numpy's text functions, with no pandas
import), the small tables with numpy.

Floats are written in shortest round-trip form (or fixed decimals), so a chain of
stages through CSV files is exact. Every file is written to a temporary file beside
its target and renamed, so that no stage ever leaves a half-written file. Tables for
people (summaries) start with a UTF-8 byte-order mark, which Excel (Japanese Excel
included) needs to read UTF-8; every reader here accepts files with or without it.
"""

import csv
import errno
import glob
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError

HEADER_LINES = 1  # data row r (0-based) sits on line r + 2
# Text that a spreadsheet would run as a formula (ids come from file names anyone
# chooses): written with a leading apostrophe, Excel's mark for "this is text"; the
# readers here drop it again, so the chain sees the names as given.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def line_of(row):
    """A data row's line in a table without blank rows (an array of rows: their lines)."""
    if isinstance(row, np.ndarray):
        return row + HEADER_LINES + 1
    return int(row) + HEADER_LINES + 1


@dataclass(frozen=True)
class Table:
    """Rows (`names`, their `groups`) by `columns`, with float `values`; `path` for messages."""

    path: str
    names: list
    groups: list
    columns: list
    values: np.ndarray
    # row -> its line in `path` (input tables may hold blank lines); default line_of
    lines: object = field(default=None, compare=False, repr=False)

    def line(self, row):
        return (self.lines or line_of)(row)

    def line_numbers(self):
        """Every row's line in `path`, as an array."""
        rows = np.arange(len(self.names))
        return line_of(rows) if self.lines is None else self.lines.all()


# ---- the workflow's own tables ------------------------------------------------------
# temporary file -> its target, while being written: what a job that must stop at once
# (its Snakemake run was killed: soart_core.script) removes before it exits
WRITING = {}


class NoSpace(OSError):
    """The disk (or quota) filled up while writing `target`."""

    def __init__(self, target):
        super().__init__(errno.ENOSPC, f"no space left on device while writing {target}")
        self.target = target

    def __str__(self):
        return self.strerror


def write_atomic(path, write, binary=False, bom=False, by_path=False):
    """Call write(stream) on a temporary file beside `path`, then rename it to `path`:
    readers never see a half-written file, and a failure leaves none behind. A full
    disk raises NoSpace naming `path` (whatever the writer made of the OSError). `bom`:
    a text file that starts with the UTF-8 byte-order mark (for Excel). `by_path`:
    write(temporary path) instead, for a writer that opens the file itself."""
    path = str(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    prefix = "." + os.path.basename(path) + "."
    # a run killed hard (kill -9, power loss) leaves its temporary file: as no two jobs
    # write one path at once, any such file beside `path` is stale
    for stale in glob.glob(os.path.join(glob.escape(folder), glob.escape(prefix) + "*.tmp")):
        os.unlink(stale)
    handle, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    WRITING[tmp] = path
    try:
        if by_path:
            os.close(handle)
            write(tmp)
        else:
            with (os.fdopen(handle, "wb") if binary else
                  os.fdopen(handle, "w", encoding="utf-8-sig" if bom else "utf-8",
                            newline="")) as stream:
                write(stream)
        os.chmod(tmp, 0o666 & ~_UMASK)  # as an ordinary new file, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException as err:
        os.unlink(tmp)
        if _disk_full(err):  # also where a writer hid it (matplotlib's PNG writer)
            raise NoSpace(path) from err
        if isinstance(err, OSError) and err.filename == tmp:  # name the file, not ours
            raise OSError(err.errno, err.strerror, path) from err
        raise
    finally:
        WRITING.pop(tmp, None)


# how Rust writers (polars) report a full disk: an OSError without errno, its text
# "No space left on device (os error 28)"
_RUST_DISK_FULL = tuple(f"(os error {e})" for e in (errno.ENOSPC, errno.EDQUOT))


def _disk_full(err):
    while err is not None:
        if isinstance(err, OSError) and (err.errno in (errno.ENOSPC, errno.EDQUOT)
                                         or str(err).endswith(_RUST_DISK_FULL)):
            return True
        err = err.__cause__ or err.__context__
    return False


_UMASK = os.umask(0)
os.umask(_UMASK)


def _text(values, decimals=None):
    """A column as CSV text, vectorised: floats in shortest round-trip form (numpy's
    repr) or with fixed `decimals`; text quoted where it holds a comma or quote."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        if decimals is None:
            return values.astype(str)
        return np.char.mod(f"%.{decimals}f", values)
    if values.dtype.kind in "iub":
        return values.astype(np.int64).astype(str) if values.dtype.kind != "b" \
            else np.where(values, "true", "false")
    text = values.astype(str)
    formula = np.isin(text.astype("<U1"), FORMULA_START)
    if formula.any():
        text = np.where(formula, np.char.add("'", text), text)
    special = np.char.find(text, ",") >= 0
    special |= np.char.find(text, '"') >= 0
    if special.any():
        quoted = np.char.add(np.char.add('"', np.char.replace(text, '"', '""')), '"')
        text = np.where(special, quoted, text)
    return text


def write_columns(path, columns, decimals=None, chunk_rows=20_000, bom=False):
    """Write named columns (equal-length sequences) as a CSV, atomically, in row chunks
    so that memory stays bounded; `decimals` applies to float columns; `bom`: a table
    for people, with the byte-order mark that Excel needs."""
    names = list(columns)
    arrays = [np.asarray(columns[n]) for n in names]
    n_rows = len(arrays[0]) if arrays else 0

    def write(stream):
        stream.write(",".join(names) + "\n")
        for start in range(0, n_rows, chunk_rows):
            parts = [_text(a[start:start + chunk_rows], decimals) for a in arrays]
            stream.write("".join(",".join(row) + "\n" for row in zip(*parts)))

    write_atomic(path, write, bom=bom)


def write_matrix(path, leading, columns, values, decimals=None):
    """Leading named text columns, then a float matrix with named columns: the header
    written here (names may repeat or need quoting), the rows by polars' CSV writer,
    whose floats are shortest round-trip text (or `decimals` fixed decimals)."""
    import polars as pl

    names = list(leading) + list(columns)
    values = np.asarray(values, dtype=np.float64)
    shown = _escape(names)
    # polars' frame needs distinct column names: the header's own where they are
    unique = len(set(shown)) == len(shown)
    keys = shown if unique else [f"c{k}" for k in range(len(names))]
    frame = pl.DataFrame({**{keys[k]: pl.Series(_escape(v), dtype=pl.String)
                             for k, v in enumerate(leading.values())},
                          **{keys[len(leading) + j]: values[:, j]
                             for j in range(values.shape[1])}})
    options = dict(float_precision=decimals, line_terminator="\n", quote_style="necessary")
    if len(values) and unique:
        # polars writes the header (quoting what needs it) and opens the file itself:
        # a third faster than through a Python stream
        write_atomic(path, lambda tmp: frame.write_csv(tmp, **options), by_path=True)
        return
    header = (",".join(_text(names)) + "\n").encode("utf-8")

    def write(stream):
        stream.write(header)
        if len(values):
            frame.write_csv(stream, include_header=False, **options)

    write_atomic(path, write, binary=True)


def _escape(names):
    """Names with the apostrophe before formula-like text (polars quotes the rest)."""
    return [f"'{n}" if n[:1] in FORMULA_START else n for n in map(str, names)]


def unescape(names):
    """Names as given: without the apostrophe that `_text` put before formula-like text."""
    return [n[1:] if n[:1] == "'" and n[1:2] in FORMULA_START else n for n in names]


def write_rounded(path, columns, decimals=4):
    """A table for people (summaries), as `write_columns` writes it but for its floats:
    rounded to `decimals` (0.4, not 0.39999999999999997; None: as they are), and NaN (a
    figure that could not be computed) as an empty cell, not the text 'nan'; with the
    byte-order mark that Excel needs to read UTF-8."""
    def cells(values):
        values = np.asarray(values)
        if values.dtype.kind != "f":
            return _text(values)
        # + 0.0 turns the -0.0 of rounding a tiny negative into 0.0
        shown = values if decimals is None else np.round(values, decimals) + 0.0
        return np.where(np.isnan(values), "", _text(shown))

    text = [cells(v) for v in columns.values()]
    write_atomic(path, lambda stream: stream.write(
        ",".join(columns) + "\n" + "".join(",".join(r) + "\n" for r in zip(*text))),
        bom=True)


def read_columns(path, text=(), integers=()):
    """A CSV written here as {name: array}: the `text` columns as str, `integers` as
    int64, the rest float (an empty cell: NaN, as write_rounded writes it)."""
    with open(path, encoding="utf-8-sig", newline="") as stream:
        header = next(csv.reader(stream))
    columns = {}
    text_idx = [i for i, n in enumerate(header) if n in text]
    num_idx = [i for i, n in enumerate(header) if n not in text]
    load = dict(delimiter=",", skiprows=1, quotechar='"', ndmin=2, encoding="utf-8",
                comments=None)  # '#' is text: an id may hold it ('#3.png', 'a#b.png')
    if text_idx:
        strings = np.loadtxt(path, dtype=str, usecols=text_idx, **load)
        for k, i in enumerate(text_idx):
            columns[header[i]] = np.array(unescape(strings[:, k].tolist()) if strings.size
                                          else [], dtype=str)
    if num_idx:
        try:
            numbers = np.loadtxt(path, dtype=np.float64, usecols=num_idx, **load)
        except ValueError:  # an empty cell: a figure that could not be computed (NaN)
            numbers = np.loadtxt(path, dtype=np.float64, usecols=num_idx, **load,
                                 converters=lambda cell: float(cell) if cell else np.nan)
        numbers = numbers.reshape(-1, len(num_idx))
        for k, i in enumerate(num_idx):
            column = numbers[:, k]
            columns[header[i]] = column.astype(np.int64) if header[i] in integers else column
    return {n: columns[n] for n in header}


def write_text(path, text):
    write_atomic(path, lambda stream: stream.write(text))


def write_table(table, key, path, decimals=None):
    """A Table as CSV: `key` (item/judge/feature), `group` (unless the table has none,
    as a weight matrix), then its columns; floats in shortest round-trip form, or with
    fixed `decimals`."""
    bad = ~np.isfinite(table.values)
    if bad.any():  # the stages check their results; this is the last line of defence
        row, col = np.argwhere(bad)[0]
        raise InputError(path, f"soart would write {table.values[row, col]} here, computed "
                               f"from {table.path}; nothing was written (please report "
                               f"this input)", line=line_of(row), column=table.columns[col])
    leading = {key: table.names}
    if table.groups is not None:
        leading["group"] = table.groups
    write_matrix(path, leading, table.columns, table.values, decimals)


def read_table(path, key):
    """Read a table written by `write_table` (the workflow's own files: trusted)."""
    import polars as pl

    with open(path, encoding="utf-8-sig", newline="") as stream:
        header = next(csv.reader(stream))
    lead = [key] + (["group"] if len(header) > 1 and header[1] == "group" else [])
    schema = {f"l{k}": pl.String for k in range(len(lead))}
    schema.update({f"v{j}": pl.Float64 for j in range(len(header) - len(lead))})
    frame = pl.read_csv(path, has_header=False, skip_rows=1, schema=schema,
                        quote_char='"', empty_string_is_null=False,
                        comment_prefix=None, encoding="utf8")
    columns = unescape(header[len(lead):])
    values = (frame.select(list(schema)[len(lead):]).to_numpy(order="c")
              if columns and len(frame) else np.empty((len(frame), len(columns))))
    names = unescape(frame["l0"].to_list())
    groups = unescape(frame["l1"].to_list()) if len(lead) == 2 else None
    return Table(str(path), names, groups, columns, np.asarray(values, dtype=np.float64))
