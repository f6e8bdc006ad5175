"""The last lines of a run: where the answer is and how many images it flags, read from
the answer's files as written (results/verdicts/answer.csv, each batch's
results/batches/{batch}/verdicts.csv), so that they say what the files say."""

import csv
import os
import sys

ANSWER = "results/verdicts/answer.csv"
FIGURE = "results/figures/where.png"
BATCH = "results/batches/{batch}/verdicts.csv"


def flagged(path):
    """(flagged, total) of an answer table: its rows whose `flag` is `abnormal`."""
    with open(path, encoding="utf-8-sig", newline="") as stream:
        flags = [row.get("flag", "") for row in csv.DictReader(stream)]
    return sum(flag == "abnormal" for flag in flags), len(flags)


def closing_lines(workdir=".", batches=(), targets=None):
    """One line for the run's answer (`answer: results/verdicts/answer.csv: 20 of 30
    images flagged; figures: results/figures/where.png`) and one per batch of the
    line's (`batch 2026-05-01: results/batches/2026-05-01/verdicts.csv: 2 of 5 images
    flagged`), for the files there are. `targets`: where given, the files this run
    made or checked (a run of `sweep` alone says nothing of an older answer)."""
    lines = []

    def wanted(path):
        return os.path.isfile(os.path.join(workdir, path)) and (
            targets is None or path in targets)

    if wanted(ANSWER):
        n, total = flagged(os.path.join(workdir, ANSWER))
        line = f"answer: {ANSWER}: {n} of {total} images flagged"
        if os.path.isfile(os.path.join(workdir, FIGURE)):
            line += f"; figures: {FIGURE}"
        lines.append(line)
    for batch in batches:
        path = BATCH.format(batch=batch)
        if wanted(path):
            n, total = flagged(os.path.join(workdir, path))
            lines.append(f"batch {batch}: {path}: {n} of {total} images flagged")
    return lines


def say_where_the_answer_is(workdir=".", batches=(), targets=None, stream=None):
    """Print closing_lines, last: Snakemake's own closing lines (its log's name, the
    time taken) come after its onsuccess hook, so the lines are printed at the exit of
    the process, after those."""
    import atexit

    lines = closing_lines(workdir, batches, targets)
    if lines:
        atexit.register(_print, "\n".join(lines), stream)
    return lines


def made_or_checked(workflow):
    """The files of this run's jobs (those it ran and those it found up to date), from
    Snakemake's DAG; None where it cannot tell (every file then counts)."""
    try:
        return {str(f) for job in workflow.dag.jobs for f in job.output}
    except Exception:  # noqa: BLE001 (a Snakemake without this API: say what is there)
        return None


def _print(text, stream=None):
    stream = stream or sys.stdout
    try:
        stream.write(text + "\n")
        stream.flush()
    except (OSError, ValueError):  # a closed or full stream: the files still say it
        pass
