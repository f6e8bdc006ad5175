"""What a result is made from besides its inputs and params: the code and libraries
that run it. One digest, the `code` param of every rule (and part of a sweep run's
stamp), over

- every file of the soart_core package, the Python sources as syntax trees without
  docstrings (comments, docstrings and layout rerun nothing), any other file by its
  bytes;
- the workflow's scripts (`workflow/scripts/`) and its environment file
  (`workflow/envs/soart.yaml`, what `--sdm conda` installs where jobs run);
- the Python version and the installed versions of the libraries soart uses.

Any change to any of it reruns every stage. That is deliberate: a digest of what a
stage *seems* to reach (by following names) misses code reached through a dict of
functions or getattr, and is no cheaper to trust. Each job logs the library versions
it really ran with (script.run_stage), so a cluster node's or a conda environment's
differences are on record.
"""

import ast
import contextlib
import hashlib
import importlib.metadata
import json
import os
import sys
from functools import lru_cache

HERE = os.path.dirname(os.path.abspath(__file__))
# the libraries soart's jobs import (pyproject.toml's dependencies but Snakemake and its
# plugins, which plan and start jobs but compute nothing; tests/test_provenance.py
# keeps the two lists the same), by their distribution names
LIBRARIES = ("isal", "jsonschema", "matplotlib", "notojp-matplotlib", "numpy", "pandas",
             "pillow", "polars", "pyyaml", "scikit-learn", "scipy", "threadpoolctl")
# the workflow's files that jobs run, relative to its folder
WORKFLOW_FILES = (os.path.join("workflow", "scripts"), os.path.join("workflow", "envs"))
# What the syntax trees digest to, kept by the bytes of the files: parsing every module
# costs 0.5 s at every Snakemake start, reading this file a millisecond. It lives beside
# Python's bytecode cache; where that cannot be written, the trees are parsed each time.
STORE = os.path.join(HERE, "__pycache__", "soart-code.json")


def _without_docstrings(tree):
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def code_files(workflow_dir):
    """{name: path} of every file whose content is part of the digest, by name: soart_core's
    (but bytecode caches) as `soart_core/...`, the workflow's scripts and environment
    relative to `workflow_dir` (so that a copy of the same code digests the same)."""
    found = {}
    for top, base in [(HERE, os.path.dirname(HERE))] + [
            (os.path.join(workflow_dir, sub), workflow_dir) for sub in WORKFLOW_FILES]:
        for folder, subfolders, names in os.walk(top):
            subfolders[:] = [d for d in subfolders if d != "__pycache__"]
            for name in names:
                if not name.endswith(".pyc"):
                    path = os.path.join(folder, name)
                    found[os.path.relpath(path, base).replace(os.sep, "/")] = path
    return dict(sorted(found.items()))


def _content(path, data):
    """What of a file counts: a Python source's syntax tree without docstrings, any
    other file's bytes. A source that does not parse counts by its bytes."""
    if path.endswith(".py"):
        with contextlib.suppress(SyntaxError, ValueError):
            return ast.dump(_without_docstrings(ast.parse(data))).encode()
    return data


def _read(paths):
    contents = {}
    for path in paths:
        with open(path, "rb") as stream:
            contents[path] = stream.read()
    return contents


def _hash(parts):
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _code(workflow_dir):
    """The digest of the code files' contents and names."""
    files = code_files(workflow_dir)
    contents = _read(files.values())
    by_bytes = _hash([repr(sys.version_info[:2])]
                     + [x for name, path in files.items() for x in (name, contents[path])])
    try:
        with open(STORE, encoding="utf-8") as stream:
            kept = json.load(stream)
        if kept.get("bytes") == by_bytes:
            return kept["code"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    code = _hash([x for name, path in files.items()
                  for x in (name, _content(path, contents[path]))])
    temporary = f"{STORE}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(STORE), exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as stream:
            json.dump({"bytes": by_bytes, "code": code}, stream)
        os.replace(temporary, STORE)
    except OSError:  # a read-only install: parsed again at the next start
        with contextlib.suppress(OSError):
            os.remove(temporary)
    return code


def library_versions():
    """{distribution: version} of soart's libraries where this process runs."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


@lru_cache(maxsize=None)
def code_digest(workflow_dir):
    """The short digest of the code, Python and libraries that run every job of the
    workflow in `workflow_dir`."""
    return _hash([_code(os.path.abspath(workflow_dir)), sys.version_info[:3],
                  json.dumps(library_versions(), sort_keys=True)])[:16]


def files_stamp(paths):
    """A short digest of the size and modification time (ns) of each file: a param of
    the rules that read the user's files, as Snakemake reruns on a newer input only, and
    a table replaced by an older one (unzip, cp -p, rsync -a) would keep its results."""
    seen = []
    for path in paths:
        try:
            info = os.stat(path)
            seen.append([path, info.st_size, info.st_mtime_ns])
        except OSError:
            seen.append([path, None, None])
    return hashlib.sha256(json.dumps(seen).encode()).hexdigest()[:16]
