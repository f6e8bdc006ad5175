"""The errors a user sees: bad input (a file) and bad settings (a config key), each
as one line."""

import sys
from contextlib import contextmanager


def excerpt(value, limit=40):
    """A value as quoted in a message: printable, at most `limit` characters, so that
    no message echoes a long cell or a line of some file that is not a table."""
    text = "".join(c if c.isprintable() else "?" for c in str(value)[:limit + 1])
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(str(value))} characters)"
    return text


def names(values, limit=8):
    """A list of names (columns, groups) for a message: the first `limit`, excerpted."""
    values = list(values)
    shown = ", ".join(excerpt(v, 24) for v in values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


# characters refused in a name a user controls (an image path, a row id): the report
# embeds every table in its HTML, where `<` could close its script and open markup
MARKUP = "<>"


def has_markup(name):
    return any(c in name for c in MARKUP)


# the most of a fault a message shows: the last line of defence against a message that
# echoes a value (a cell, a config value) whole; each message quotes its values as an
# excerpt already
MAX_FAULT = 600


class InputError(Exception):
    """Bad input: names the file, where in it (line, column) and what is wrong.

    The message is complete on its own, so the workflow prints it as is.
    """

    def __init__(self, path, fault, line=None, column=None):
        self.path = str(path)
        self.fault = fault
        self.line = line
        self.column = column
        where = [self.path]
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column '{excerpt(column)}'")
        super().__init__(excerpt(", ".join(where), MAX_FAULT) + ": " +
                         excerpt(fault, MAX_FAULT))


class ConfigError(ValueError):
    """A config value that is well-typed but inconsistent; names the key."""

    def __init__(self, key, fault):
        super().__init__(f"config key '{excerpt(key, 120)}': {excerpt(fault, MAX_FAULT)}")


@contextmanager
def one_line_errors():
    """Where Snakemake reads the Snakefile: a user's error as one `soart: error` line and
    exit status 1, instead of Snakemake's traceback of the Snakefile."""
    try:
        yield
    except (InputError, ConfigError) as err:
        print(f"soart: error: {err}", file=sys.stderr)
        sys.exit(1)
    except OSError as err:  # a file soart writes or lists: read-only, full, not a folder
        where = f"{excerpt(err.filename, 200)}: " if err.filename else ""
        print(f"soart: error: {where}{excerpt(err.strerror or err, MAX_FAULT)}",
              file=sys.stderr)
        sys.exit(1)
