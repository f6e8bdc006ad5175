"""What a result is made from besides its inputs and params: the code and libraries
that run it. Each job's digest (the `code` param of its rule, part of a sweep run's
stamp and of a batch's record) covers

- the soart_core modules its stage declares (soart_core.pipeline: `Stage.modules`, or
  `JOBS` for the jobs outside STAGES), the modules they import at their top, and so
  on, with the package's `__init__` and soart_core.script (which runs every job): each
  as its syntax tree without docstrings (comments, docstrings and layout rerun
  nothing). Files under soart_core/ that are not Python (a NOTES.md, an editor's swap
  file) are no code and rerun nothing;
- the workflow's scripts (`workflow/scripts/`) and its environment file
  (`workflow/envs/soart.yaml`, what `--sdm conda` installs where jobs run);
- the Python version and the installed versions of the libraries soart uses.

So a change reruns the stages whose code it changes: a new function in figures.py
reruns the figures, not the attention. A module a job imports inside a function is
within its digest only when the stage declares it: tests/test_never_stale.py (the plain
run's stages) and tests/test_batches.py (a day's) run every job and check that each
soart_core module it imported is within its declared modules' closure, so a
declaration cannot fall behind its code. Each job logs the library versions it
really ran with, and the soart modules it ran (script.run_stage), so a cluster node's
or a conda environment's differences are on record.
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
    """{name: path} of every file whose content is part of a digest, by name:
    soart_core's Python modules as `soart_core/...`, the workflow's scripts and
    environment relative to `workflow_dir` (so that a copy of the same code digests the
    same). Other files under soart_core/ are no code."""
    found = {}
    for folder, subfolders, names in os.walk(HERE):  # with its packages (detectors/)
        subfolders[:] = [d for d in subfolders if d != "__pycache__"]
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                found[f"soart_core/{os.path.relpath(path, HERE).replace(os.sep, '/')}"] = path
    for sub in WORKFLOW_FILES:
        for folder, subfolders, names in os.walk(os.path.join(workflow_dir, sub)):
            subfolders[:] = [d for d in subfolders if d != "__pycache__"]
            for name in names:
                if not name.endswith(".pyc"):
                    path = os.path.join(folder, name)
                    found[os.path.relpath(path, workflow_dir).replace(os.sep, "/")] = path
    return dict(sorted(found.items()))


def _content(path, data):
    """What of a file counts: a Python source's syntax tree without docstrings, any
    other file's bytes. A source that does not parse counts by its bytes."""
    if path.endswith(".py"):
        with contextlib.suppress(SyntaxError, ValueError):
            return ast.dump(_without_docstrings(ast.parse(data))).encode()
    return data


def module_name(file):
    """A soart_core file's module name as digests and logs name it: `jobs` for
    jobs.py, `detectors` for detectors/__init__.py, `detectors.mt` for
    detectors/mt.py (the package's own __init__.py: `__init__`)."""
    name = file[:-3].replace("/", ".")
    return name.removesuffix(".__init__") if "/" in file else name


def imported(node, package):
    """The soart_core modules (and names that may be modules) a relative
    `from ... import ...` in a module of `package` (its dotted parts) imports, with the
    packages they are in (importing detectors.mt from outside runs
    detectors/__init__.py; a package's own modules import one another, not it)."""
    if node.level - 1 > len(package):
        return set()
    base = list(package[:len(package) - (node.level - 1)])
    target = base + (node.module.split(".") if node.module else [])
    found = {".".join(target[:k]) for k in range(1, len(target) + 1)
             if tuple(target[:k]) != tuple(package[:k])}
    return found | {".".join(target + [a.name]) for a in node.names}


def top_imports(data, package=()):
    """The soart_core modules a module's source imports at its top (`from . import x`,
    `from .x import y`, in a package's module `from .. import x`) and names that may be
    modules (the caller keeps those that are); a source that does not parse: none.
    `package`: the dotted parts of the module's package within soart_core."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return []
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            found |= imported(node, package)
    return sorted(found)


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
    """{"modules": {module: {"digest", "imports"}}, "workflow": digest of the
    workflow's files}: each soart_core module's syntax tree and top imports. Kept in
    STORE by the files' bytes: parsed only when a byte changed."""
    files = code_files(workflow_dir)
    contents = _read(files.values())
    by_bytes = _hash([repr(sys.version_info[:2])]
                     + [x for name, path in files.items() for x in (name, contents[path])])
    try:
        with open(STORE, encoding="utf-8") as stream:
            kept = json.load(stream)
        if kept.get("bytes") == by_bytes and isinstance(kept["code"]["modules"], dict):
            return kept["code"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    modules, workflow = {}, []
    for name, path in files.items():
        if name.startswith("soart_core/"):
            file = name[len("soart_core/"):]
            modules[module_name(file)] = {
                "digest": _hash([_content(path, contents[path])]),
                "imports": top_imports(contents[path], tuple(file.split("/")[:-1]))}
        else:
            workflow += [name, _content(path, contents[path])]
    for module in modules.values():  # (a name imported from a module is no module)
        module["imports"] = [m for m in module["imports"] if m in modules]
    code = {"modules": modules, "workflow": _hash(workflow)}
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


# what every job runs besides its stage's modules: the package, and the runner
RUNNER = ("__init__", "script")


def closure(modules, imports):
    """`modules` and every soart_core module they import at their top, and so on
    (`imports`: {module: its top imports}), sorted."""
    seen, todo = set(), list(modules)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += imports.get(module, [])
    return sorted(seen)


def module_closure(workflow_dir, modules):
    """The soart_core modules a job that declares `modules` runs: RUNNER's and theirs,
    with what they import at their top."""
    found = _code(os.path.abspath(workflow_dir))["modules"]
    return closure(RUNNER + tuple(modules), {m: f["imports"] for m, f in found.items()})


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
def code_digest(workflow_dir, modules=None):
    """The short digest of the code, Python and libraries that run a job of the
    workflow in `workflow_dir` whose stage declares the soart_core `modules` (a
    tuple; None: every module, the whole of soart's code)."""
    code = _code(os.path.abspath(workflow_dir))
    found = code["modules"]
    names = sorted(found) if modules is None else module_closure(workflow_dir, modules)
    return _hash([code["workflow"], *[x for n in names if n in found
                                      for x in (n, found[n]["digest"])],
                  sys.version_info[:3], json.dumps(library_versions(), sort_keys=True)])[:16]


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
