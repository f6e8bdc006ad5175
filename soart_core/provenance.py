"""Which code a stage runs: soart's own functions that its job can reach, and the
versions of the libraries they import. Its digest is a param of the stage's rule
(and part of a sweep run's stamp), so a change that can alter a stage's outputs reruns
that stage, and only the stages it can alter.

Reach is found from the source, without importing it: from `jobs.<stage>`, every name
a function uses that is a top-level function or class of a soart_core module (by
`from .x import y`, `from . import x` then `x.y`, or the module's own top-level names)
is followed. A module that any reached function belongs to, or whose constant one
uses, adds its other top-level statements (constants, imports), whose names are not
followed (jobs.py imports every module). Code is compared as its syntax tree without
docstrings, so comments, docstrings and layout never rerun anything.
"""

import ast
import contextlib
import hashlib
import importlib.metadata
import json
import os
import sys
from functools import lru_cache

PACKAGE = "soart_core"
HERE = os.path.dirname(os.path.abspath(__file__))


def _without_docstring(node):
    body = getattr(node, "body", None)
    if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
        node.body = body[1:] or [ast.Pass()]
    for child in ast.iter_child_nodes(node):
        _without_docstring(child)
    return node


def _imports(nodes):
    """Names bound by the imports in `nodes`: {name: (module, attr)} for soart_core
    (attr None for a module), and the third-party packages imported."""
    bound, libraries = {}, set()
    for node in (n for top in nodes for n in ast.walk(top)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                bound[alias.asname or alias.name] = ((alias.name, None) if node.module is None
                                                     else (node.module, alias.name))
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            libraries.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            libraries.update(alias.name.split(".")[0] for alias in node.names)
    return bound, libraries - set(sys.stdlib_module_names) - {PACKAGE}


@lru_cache(maxsize=None)
def _module(name):
    """A module's top-level definitions {name: node}, its other top-level statements,
    and what their imports bind."""
    with open(os.path.join(HERE, f"{name}.py"), encoding="utf-8") as stream:
        tree = _without_docstring(ast.parse(stream.read()))
    definitions, rest = {}, []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            definitions[node.name] = node
        else:
            rest.append(node)
    return definitions, rest, _imports(rest)


@lru_cache(maxsize=None)
def _uses(module, name):
    """The (module, name)s that `module.name` refers to, and the packages it imports."""
    definitions, _, (bound, libraries) = _module(module)
    node = definitions[name]
    own, own_libraries = _imports([node])
    bound = {**bound, **own}
    uses = set()
    for ref in ast.walk(node):
        if isinstance(ref, ast.Attribute) and isinstance(ref.value, ast.Name):
            target = bound.get(ref.value.id)
            if target and target[1] is None:  # module.attr
                uses.add((target[0], ref.attr))
        elif isinstance(ref, ast.Name):
            target = bound.get(ref.id)
            if target and target[1] is not None:
                uses.add(target)
            elif ref.id in definitions:
                uses.add((module, ref.id))
    return uses, libraries | own_libraries


def _reached(module, name):
    """Every (module, name) that `module.name` can reach, itself included, with
    (module, None) for a module whose constants it uses; the third-party packages
    imported on the way (and those they imply)."""
    seen, libraries, todo = set(), set(), [(module, name)]
    while todo:
        symbol = todo.pop()
        if symbol in seen:
            continue
        if symbol[1] not in _module(symbol[0])[0]:  # a constant: its module's statements
            seen.add((symbol[0], None))
            continue
        seen.add(symbol)
        uses, used_libraries = _uses(*symbol)
        libraries |= used_libraries
        todo.extend(uses)
    for package, implied in IMPLIED.items():
        if package in libraries:
            libraries |= set(implied)
    return seen, libraries


# libraries whose arithmetic runs inside another's: scikit-learn's LDA and Ledoit-Wolf
# call scipy.linalg
IMPLIED = {"sklearn": ("scipy",)}
# import name -> distribution where they differ (importlib.metadata's own map of every
# installed package costs 0.2 s, paid at every Snakemake start)
DISTRIBUTIONS = {"PIL": "pillow", "sklearn": "scikit-learn", "yaml": "pyyaml"}


@lru_cache(maxsize=None)
def _version(package):
    try:
        return importlib.metadata.version(DISTRIBUTIONS.get(package, package))
    except importlib.metadata.PackageNotFoundError:
        return "absent"


@lru_cache(maxsize=None)
def _dump(module, name=None):
    """The syntax tree of `module.name` (None: the module's other statements) as text."""
    definitions, rest, _ = _module(module)
    return ast.dump(definitions[name]) if name else [ast.dump(s) for s in rest]


@lru_cache(maxsize=None)
def reach(job):
    """{"code": {module.name: tree}, "modules": {module: trees of its other top-level
    statements}, "libraries": {package: version}} of soart_core.jobs.<job>."""
    symbols, libraries = _reached("jobs", job)
    modules = sorted({module for module, _ in symbols})
    return {"code": {f"{m}.{n}": _dump(m, n) for m, n in sorted(symbols, key=str) if n},
            "modules": {m: _dump(m) for m in modules},
            "libraries": {p: _version(p) for p in sorted(libraries | {"numpy"})}}


def _digest(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


# What reach() found, by the bytes of soart_core's sources: parsing them costs 0.5 s at
# every Snakemake start (a dry run's third), reading this file a millisecond. It lives
# beside Python's own bytecode cache; where that cannot be written, reach() runs.
STORE = os.path.join(HERE, "__pycache__", "soart-reach.json")


@lru_cache(maxsize=None)
def _sources():
    """A digest of every soart_core source file's name and bytes, and of the Python
    version that parses them."""
    digest = hashlib.sha256(repr(sys.version_info[:2]).encode())
    for name in sorted(os.listdir(HERE)):
        if name.endswith(".py"):
            with open(os.path.join(HERE, name), "rb") as stream:
                digest.update(name.encode() + b"\0" + stream.read() + b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=None)
def _stored():
    """{job: {"code": digest of its reached code, "libraries": [...]}} kept for the
    sources as they are (empty when they changed, or nothing is kept)."""
    try:
        with open(STORE, encoding="utf-8") as stream:
            kept = json.load(stream)
        return dict(kept["jobs"]) if kept.get("sources") == _sources() else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _store(jobs):
    temporary = f"{STORE}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(STORE), exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as stream:
            json.dump({"sources": _sources(), "jobs": jobs}, stream)
        os.replace(temporary, STORE)
    except OSError:  # a read-only install: found again at the next start
        with contextlib.suppress(OSError):
            os.remove(temporary)


def code_digest(job):
    """A short digest of what `reach(job)` holds: the stage's code param. The code's
    part is kept between starts (_stored); the libraries' versions are read each time."""
    stored = _stored()
    if job not in stored:
        found = reach(job)
        stored[job] = {"code": _digest([found["code"], found["modules"]]),
                       "libraries": sorted(found["libraries"])}
        _store(stored)
    kept = stored[job]
    return _digest({"code": kept["code"], "python": list(sys.version_info[:2]),
                    "libraries": {p: _version(p) for p in kept["libraries"]}})


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
