"""`snakemake --report results/report.html` writes its report whole or not at all.

Snakemake renders the report in memory and then writes it over the file in place: a
writer killed mid-write (kill -9, a full disk, a lost session) leaves a truncated
report.html that opens as a page cut short. The Snakefile hands Snakemake's workflow to
`write_reports_atomically`, which has every report written into a scratch folder beside
it, under the same name (a .zip report's inner folder is named after it), and renamed
over the report when complete: a rename on one file system replaces the file at once,
so report.html is always the last complete report, or absent."""

import dataclasses
import functools
import os
import shutil
import tempfile
from pathlib import Path


def write_reports_atomically(workflow):
    """Wrap `workflow.create_report` (Snakemake's, which `--report` calls) so that the
    report goes to a scratch path and is renamed into place once written. Leaves a
    workflow without that method, or already wrapped, as it is."""
    original = getattr(workflow, "create_report", None)
    if original is None or getattr(original, "soart_atomic", False):
        return workflow

    @functools.wraps(original)
    def create_report(*args, **kwargs):
        settings = kwargs.get("report_settings")
        path = getattr(settings, "path", None)
        if path is None or not dataclasses.is_dataclass(settings):
            return original(*args, **kwargs)
        with scratch_for(path) as scratch:
            kwargs["report_settings"] = dataclasses.replace(settings, path=scratch)
            result = original(*args, **kwargs)
            if os.path.exists(scratch):
                os.replace(scratch, path)
        return result

    create_report.soart_atomic = True
    workflow.create_report = create_report
    return workflow


class scratch_for:
    """A context: a path of the same name as `path` in a new hidden folder beside it,
    the folder removed on the way out (a killed process leaves it, never a half file
    under the report's own name)."""

    def __init__(self, path):
        self.path = Path(path)

    def __enter__(self):
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.partial-",
                                            dir=folder))
        return self.folder / self.path.name

    def __exit__(self, *exc):
        shutil.rmtree(self.folder, ignore_errors=True)
        return False
