"""The six stages on in-memory Tables: what each workflow script calls, one function each.

These wrap the array arithmetic of `soart_core.stages` with the checks that turn bad
input or a bad setting into an `InputError` that names the file, line and column.
"""

from dataclasses import replace

import numpy as np

from . import stages
from .errors import InputError
from .layout import ROLES
from .tables import Table, line_of



def normalise_pair(learn, valid, scale):
    """Stage 1: scale both tables with the learning table's lo and hi."""
    lo, hi = stages.value_range(learn.values)
    if not hi > lo:
        raise InputError(learn.path, f"every cell of the learning table is {lo!r}: "
                                     f"normalise divides by hi - lo = 0")
    return (replace(learn, values=stages.normalise(learn.values, lo, hi, scale)),
            replace(valid, values=stages.normalise(valid.values, lo, hi, scale)), lo, hi)


def threshold_table(table, cutoff, power, setting):
    """Stage 2: x < cutoff -> 0, else x ** power; a NaN it makes is an error of `setting`."""
    values = stages.threshold(table.values, cutoff, power)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(table.path, f"{setting} (cutoff {cutoff}, power {power}) turns "
                                     f"{float(table.values[row, col])!r} into {values[row, col]}; "
                                     f"choose a cutoff that keeps such values out, or an "
                                     f"integer power", line=line_of(row),
                         column=table.columns[col])
    return replace(table, values=values)


def build_weights(learn_by_metric, roles):
    """Stage 3: {role: W} with W = thresholded learning table of roles[role], d x J."""
    weights = {}
    for role in ROLES:
        learn = learn_by_metric[roles[role]]
        weights[role] = Table(learn.path, list(learn.columns), None, list(learn.names),
                              stages.weight_matrix(learn.values))
    return weights


def attend(words, weights, *, decimals=5, chunk_rows=None, dtype="float64"):
    """Stage 4: the attention of the items (`words`) over the judges, items x judges."""
    out = stages.attention(words.values, weights["query"].values, weights["key"].values,
                           weights["value"].values, chunk_rows=chunk_rows,
                           dtype=np.dtype(dtype).type)
    values = stages.round_half_even(out.astype(np.float64), decimals)
    return Table(words.path, words.names, words.groups, list(weights["value"].columns),
                 values)


def baseline_difference(attention, method, group=None):
    """Stage 5: subtract the per-judge baseline row; returns (D, b)."""
    try:
        base = stages.baseline_row(attention.values, attention.groups, method, group)
    except ValueError as err:
        raise InputError(attention.path, f"baseline: {err}") from None
    return replace(attention, values=stages.difference(attention.values, base)), base


def score_blocks(difference, judge_groups, order, tolerance):
    """Stage 6: sign counts per (item group, judge group) block, as named columns."""
    return stages.block_scores(difference.values, difference.groups, judge_groups, order,
                               tolerance)
