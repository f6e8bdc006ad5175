"""Reading the user's input metric tables, checking every cell.

Every fault becomes an `InputError` naming the file, the line (as an editor or Excel
counts it: the header is line 1) and the column. pandas reads the files: it knows
encodings, BOMs and CRLF line ends, and finds bad cells without a loop over them.
"""

import os

import numpy as np
import pandas as pd

from .errors import InputError
from .tables import Table, line_of


def resolve_features(header, features, path):
    """The feature columns: a list of names, or the seed's slice 'first:last' (inclusive)."""
    if isinstance(features, str):
        first, _, last = features.partition(":")
        for name in (first, last):
            if name not in header:
                raise InputError(path, f"missing feature column '{name}' (features: "
                                       f"'{features}'; columns: {', '.join(header)})",
                                 column=name)
        i, j = header.index(first), header.index(last)
        if j < i:
            raise InputError(path, f"feature slice '{features}' is empty: '{last}' comes "
                                   f"before '{first}'")
        return header[i:j + 1]
    for name in features:
        if name not in header:
            raise InputError(path, f"missing feature column '{name}' "
                                   f"(columns: {', '.join(header)})", column=name)
    return list(features)


def _read_frame(path, encoding, as_text=False):
    if not os.path.isfile(path):
        raise InputError(path, "file not found")
    try:
        frame = pd.read_csv(path, encoding=encoding, skipinitialspace=True,
                            dtype=str if as_text else None,
                            keep_default_na=not as_text)
    except pd.errors.EmptyDataError:
        raise InputError(path, "the file is empty (no header, no rows)") from None
    except pd.errors.ParserError as err:
        raise InputError(path, f"not a well-formed CSV: {err}") from None
    except UnicodeDecodeError as err:
        raise InputError(path, f"cannot be decoded as '{encoding}' ({err.reason} at byte "
                               f"{err.start}); set `encoding` in config.yaml "
                               f"(cp932 for Japanese Excel)") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(set(frame.columns)) != len(frame.columns):
        dup = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
        raise InputError(path, f"duplicate column name(s): {', '.join(dup)}")
    return frame


def _numeric_block(frame, features, path, encoding):
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
    text = _read_frame(path, encoding, as_text=True)[features]
    parsed = text.apply(lambda col: pd.to_numeric(col.str.strip(), errors="coerce"))
    bad = ~np.isfinite(parsed.to_numpy(dtype=np.float64))
    row, col = np.argwhere(bad)[0]  # row-major: the first bad cell as a reader meets it
    raw = text.iat[row, col]
    if raw is None or pd.isna(raw) or str(raw).strip() == "":
        fault = "empty cell"
    elif np.isnan(parsed.iat[row, col]) and str(raw).strip().lower() not in (
            "nan", "-nan", "+nan", "na", "n/a", "null", "none", "#n/a"):
        fault = f"value '{raw}' is not a number"
    else:
        fault = f"value '{raw}' is not a finite number"
    raise InputError(path, fault, line=line_of(row), column=features[col])


def _row_names(frame, id_column, groups, path):
    if id_column and id_column in frame.columns:
        names = frame[id_column].astype(str).str.strip().tolist()
    else:  # readable and stable: NORMAL_1, NORMAL_2, ..., ERROR_A_1, ...
        seen = {}
        names = []
        for g in groups:
            seen[g] = seen.get(g, 0) + 1
            names.append(f"{g}_{seen[g]}")
    counts = pd.Series(names).duplicated()
    if counts.any():
        row = int(np.argmax(counts.to_numpy()))
        raise InputError(path, f"duplicate row id '{names[row]}'", line=line_of(row),
                         column=id_column)
    return names


def _groups_from_column(frame, group_column, order, path):
    groups = frame[group_column].astype(str).str.strip()
    unknown = ~groups.isin(order)
    if unknown.any():
        row = int(np.argmax(unknown.to_numpy()))
        raise InputError(path, f"group '{groups.iat[row]}' is not one of the configured "
                               f"groups.order ({', '.join(order)})",
                         line=line_of(row), column=group_column)
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
                      id_column=None, encoding="utf-8-sig"):
    """Read one input metric table (learning or validation) and check every cell.

    Groups come from `group_column` when the table has it; otherwise from `counts`
    (one per group in `order`, in row order); a table with neither is an error.
    """
    path = str(path)
    frame = _read_frame(path, encoding)
    if len(frame) == 0:
        raise InputError(path, "the table has a header but no data rows")
    header = list(frame.columns)
    columns = resolve_features(header, features, path)
    values = _numeric_block(frame, columns, path, encoding)
    if group_column in header:
        groups = _groups_from_column(frame, group_column, order, path)
    elif counts is not None:
        groups = _groups_from_counts(len(frame), order, counts, path)
    else:
        raise InputError(path, f"missing group column '{group_column}' (columns: "
                               f"{', '.join(header)})", column=group_column)
    names = _row_names(frame, id_column, groups, path)
    return Table(path, names, groups, columns, values)


def check_same_rows(tables, what):
    """All tables must have the same rows: count, order, ids and groups (SPEC.md shapes)."""
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
                raise InputError(other.path, f"{what[:-1]} {label} '{mine[row]}' differs "
                                             f"from '{theirs[row]}' in {first.path}; all "
                                             f"tables must list the same {what} in the "
                                             f"same order", line=line_of(row))
        if other.columns != first.columns:
            raise InputError(other.path, f"features {other.columns} differ from "
                                         f"{first.columns} in {first.path}")



def load_inputs(metrics, features, *, group_column, order, valid_counts, id_column=None,
                encoding="utf-8-sig"):
    """Read and check every metric's learning and validation table.

    `metrics` maps a metric id to {"learn": path, "valid": path}. Returns
    {metric: (learn Table, valid Table)}; all learning tables must list the same judges,
    all validation tables the same items (SPEC.md, Shapes).
    """
    read = dict(features=features, group_column=group_column, order=order,
                id_column=id_column, encoding=encoding)
    learn = {m: read_metric_table(p["learn"], **read) for m, p in metrics.items()}
    valid = {m: read_metric_table(p["valid"], counts=valid_counts, **read)
             for m, p in metrics.items()}
    check_same_rows(list(learn.values()), "judges")
    check_same_rows(list(valid.values()), "items")
    first_learn, first_valid = next(iter(learn.values())), next(iter(valid.values()))
    if first_valid.columns != first_learn.columns:
        raise InputError(first_valid.path, f"features {first_valid.columns} differ from "
                                           f"{first_learn.columns} in {first_learn.path}")
    return {m: (learn[m], valid[m]) for m in metrics}
