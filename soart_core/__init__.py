"""soart_core: the arithmetic of soart's attention analysis (docs/method.md).

`stages` holds the pure array functions, `jobs` one function per stage (files in,
checks, files out), `settings` what each stage reads, `sweep` the sweeps' runs,
`tables` the CSV I/O; the Snakemake workflow only moves data between them.
"""

from .errors import InputError

__all__ = ["InputError"]
