"""The six stages on in-memory Tables: what each workflow script calls, one function each.

These wrap the array arithmetic of `soart_core.stages` with the checks that turn bad
input or a bad setting into an `InputError` that names the file, line and column.
"""

from dataclasses import replace

import numpy as np

from . import stages
from .errors import InputError, excerpt
from .layout import ROLES
from .tables import Table, line_of



def _first_bad(values):
    """(row, column) of the first non-finite cell in reading order, or None."""
    bad = ~np.isfinite(values)
    return tuple(int(i) for i in np.argwhere(bad)[0]) if bad.any() else None


def normalise_pair(learn, valid, scale):
    """Stage 1: scale both tables with the learning table's lo and hi."""
    lo, hi = stages.value_range(learn.values)
    if not hi > lo:
        raise InputError(learn.path, f"every cell of the learning table is {lo!r}: "
                                     f"normalise divides by hi - lo = 0")
    with np.errstate(over="ignore", invalid="ignore"):
        done = [replace(t, values=stages.normalise(t.values, lo, hi, scale))
                for t in (learn, valid)]
    for before, after in zip((learn, valid), done):
        bad = _first_bad(after.values)
        if bad:  # hi - lo overflows, or is so small (subnormal) that dividing overflows
            raise InputError(before.path, f"value {float(before.values[bad])!r} cannot be "
                                          f"normalised: (x - lo) / (hi - lo) with lo = "
                                          f"{lo!r}, hi = {hi!r} of {learn.path} is not a "
                                          f"finite float64; rescale the metric's tables",
                             line=line_of(bad[0]), column=before.columns[bad[1]])
    return done[0], done[1], lo, hi


FAR_OUTSIDE = 10.0  # learning ranges beyond the learning table: surely a wrong value
LONE_OUTLIER = 1000.0  # median absolute deviations from a learning table's median


def implausible_values(learn, valid, lo, hi):
    """Warnings (text) about values that are finite but surely wrong, as they silently
    dominate the result: a learning value far from all the others (it alone sets the
    normalise range), a validation value many learning ranges outside it (that item
    then dominates every item's attention)."""
    found = []
    centre = np.median(learn.values)
    spread = np.median(np.abs(learn.values - centre))
    if spread > 0:
        far = np.abs(learn.values - centre) > LONE_OUTLIER * spread
        if far.any():
            row, col = np.argwhere(far)[0]
            found.append(f"{learn.path}, line {line_of(row)}, column "
                         f"'{excerpt(learn.columns[col])}': value "
                         f"{float(learn.values[row, col]):.6g} is over {LONE_OUTLIER:g} "
                         f"median absolute deviations from the table's median "
                         f"{centre:.6g}, and sets its normalise range alone "
                         f"({int(far.sum())} such cell(s)); check it")
    outside = np.maximum(lo - valid.values, valid.values - hi) / (hi - lo)
    far = outside > FAR_OUTSIDE
    if far.any():
        row, col = np.unravel_index(np.argmax(outside), outside.shape)
        found.append(f"{valid.path}, line {line_of(row)}, column "
                     f"'{excerpt(valid.columns[col])}': value "
                     f"{float(valid.values[row, col]):.6g} lies {outside[row, col]:.3g} "
                     f"learning ranges outside [{lo:.6g}, {hi:.6g}] of {learn.path} "
                     f"({int(far.sum())} cell(s) beyond {FAR_OUTSIDE:g}); such an item "
                     f"dominates every item's attention: check it")
    return found


def threshold_table(table, cutoff, power, setting, source):
    """Stage 2: x < cutoff -> 0, else x ** power; a NaN or inf it makes is an error of
    `setting`, blamed on the input file `source` (the table's rows are its rows)."""
    values = stages.threshold(table.values, cutoff, power)
    bad = _first_bad(values)
    if bad:
        raise InputError(source, f"{setting} (cutoff {cutoff}, power {power}) turns this "
                                 f"value, normalised to {float(table.values[bad])!r}, into "
                                 f"{values[bad]}; choose a cutoff that keeps such values "
                                 f"out, or an integer power, or check the value",
                         line=line_of(bad[0]), column=table.columns[bad[1]])
    return replace(table, values=values)


def build_weights(learn_by_metric, roles):
    """Stage 3: {role: W} with W = thresholded learning table of roles[role], d x J."""
    weights = {}
    for role in ROLES:
        learn = learn_by_metric[roles[role]]
        weights[role] = Table(learn.path, list(learn.columns), None, list(learn.names),
                              stages.weight_matrix(learn.values))
    return weights


def attend(words, weights, *, decimals=5, chunk_rows=None, dtype="float64", source=None,
           workers=1):
    """Stage 4: the attention of the items (`words`) over the judges, items x judges.

    Scores beyond float64 (or float32) make NaN rows; that is an error blamed on the
    largest cell of the words table, whose item drives every score it takes part in,
    at its line in the input file `source`."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = stages.attention(words.values, weights["query"].values,
                               weights["key"].values, weights["value"].values,
                               chunk_rows=chunk_rows, dtype=np.dtype(dtype).type,
                               workers=workers)
    if _first_bad(out):
        row, col = np.unravel_index(np.argmax(np.abs(words.values)), words.values.shape)
        raise InputError(source or words.path,
                         f"the attention overflows {dtype} (its scores pass "
                         f"{np.finfo(dtype).max:.3g}): item '{excerpt(words.names[row])}' "
                         f"has the largest value, {words.values[row, col]:.6g} after "
                         f"normalising and thresholding, far outside the learning "
                         f"table's range; check the value", line=line_of(row),
                         column=words.columns[col])
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
