"""soart_core: the arithmetic of soart's attention analysis (docs/method.md).

`stages` holds the pure array functions, `pipeline` the stages on tables with their
checks, `tables` the CSV I/O; the Snakemake workflow only moves data between them.
"""

from .errors import InputError

__all__ = ["InputError"]
