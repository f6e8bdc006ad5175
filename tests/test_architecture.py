"""The house: each stage declared once (soart_core.pipeline), its rules readable as
text (docs/rules.md), no import cycle, no private API of another library, and a new
stage added as docs/architecture.md says."""

import ast
import re
import shutil
import subprocess
import sys
from types import SimpleNamespace

from conftest import ENV, ROOT, SNAKEMAKE, copy_workflow, snakemake
from soart_core import pipeline, provenance, settings

PACKAGE = ROOT / "soart_core"
# own modules imported inside a function, each for a cost measured where it stands
# jobs.py: each job imports its stage's modules in its body (soart_core.pipeline,
# Stage.modules), so that a stage's code digest covers what it runs and no more
LOCAL_IMPORTS = {("jobs", m) for m in ("inputs", "images", "evaluation", "detectors",
                                       "verdicts", "answer", "figures", "sweep",
                                       "workbook", "reference", "provenance",
                                       "patches")} | {("images", "patches")}


def imports():
    """{module: {(imported own module, at top level?)}} over soart_core's sources, its
    packages' too (modules named as code digests name them: `detectors.mt`)."""
    files = {provenance.module_name(path.relative_to(PACKAGE).as_posix()): path
             for path in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in path.parts}
    found = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(node) for node in tree.body}
        package = tuple(path.relative_to(PACKAGE).parts[:-1])
        found[module] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 1:
                found[module] |= {(n, id(node) in top)
                                  for n in provenance.imported(node, package)
                                  if n in files and n != module}
    return found


def test_no_import_cycle_and_own_modules_at_the_top():
    graph = imports()
    local = {(m, n) for m, edges in graph.items() for n, at_top in edges if not at_top}
    assert local == LOCAL_IMPORTS
    # depth-first search for a cycle over every import, top level or not
    state = {}

    def visit(module, path):
        state[module] = "open"
        for target, _ in graph.get(module, ()):
            if state.get(target) == "open":
                raise AssertionError(f"import cycle: {' -> '.join(path + [target])}")
            if target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])


def private_uses(source):
    """`lib._name` and `from lib._x import` / `from lib import _name` of a library
    (anything imported without a leading dot, the standard library's documented
    `os._exit` and kin aside) in Python source."""
    tree = ast.parse(source)
    libraries, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            libraries |= {(a.asname or a.name).split(".")[0] for a in node.names}
            found += [a.name for a in node.names if "._" in a.name]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            libraries |= {a.asname or a.name for a in node.names}
            found += [f"{node.module}.{a.name}" for a in node.names
                      if "._" in f"{node.module}.{a.name}" or a.name.startswith("_")]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and \
                not node.attr.startswith("__"):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in libraries - set(sys.stdlib_module_names):
                found.append(f"{ast.unparse(node)}")
    return found


def test_no_private_attribute_of_another_library():
    """No private name of another library in soart's code, and Snakemake's workflow
    object read in one adapter only (settings.command_line)."""
    for path in [*PACKAGE.rglob("*.py"), *ROOT.glob("workflow/scripts/*.py"),
                 *ROOT.glob("benchmarks/*.py")]:
        assert private_uses(path.read_text(encoding="utf-8")) == [], path.name
    for path in [ROOT / "Snakefile", *ROOT.glob("workflow/rules/*.smk")]:
        text = path.read_text(encoding="utf-8")
        assert "config_settings" not in text and not re.search(r"workflow\._", text), path


def test_the_private_name_check_can_fail():
    assert private_uses("import openpyxl.cell._writer as w\n") == ["openpyxl.cell._writer"]
    assert private_uses("import openpyxl\nopenpyxl.cell._writer.safe_string = str\n") == \
        ["openpyxl.cell._writer"]
    assert private_uses("from .tables import x\nx._own = 1\n") == []


def test_the_snakemake_adapter_reads_what_snakemake_holds(tmp_path):
    """settings.command_line reads Snakemake's ConfigSettings: fails when it changes."""
    from snakemake.settings.types import ConfigSettings

    configfile = tmp_path / "my.yaml"
    configfile.write_text("data_dir: x\n")
    held = ConfigSettings(config={"data_dir": "y"}, configfiles=[configfile])
    assert settings.command_line(SimpleNamespace(config_settings=held)) == \
        ({"data_dir": "y"}, [str(configfile)])


def test_every_stage_is_declared_once_and_whole():
    """Each stage's declaration names a job function, earlier stages' outputs that
    exist, its report captions, and its targets among its outputs."""
    from soart_core import jobs

    seen = []
    for name, stage in pipeline.STAGES.items():
        assert callable(getattr(jobs, name)), name
        for source, output, *words in stage.inputs.values():
            assert source in seen and output in pipeline.STAGES[source].outputs, (name, source)
            assert words in ([], ["words"])
        for output, entry in stage.report.items():
            assert output in stage.outputs
            assert (ROOT / "workflow" / "report" / f"{entry.caption}.rst").is_file()
        assert set(stage.targets) <= set(stage.outputs)
        seen.append(name)


def test_the_rules_listing_is_current():
    """docs/rules.md is what `python -m soart_core.pipeline` prints."""
    made = subprocess.run([sys.executable, "-m", "soart_core.pipeline"], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, check=True).stdout
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == made


def listed_outputs(text):
    """{file: rule} from docs/rules.md's output lists."""
    found, rule, in_output = {}, None, False
    for line in text.splitlines():
        if line.startswith("## "):
            rule = line[3:]
        elif line in ("output:", "input:", ""):
            in_output = line == "output:" or (in_output and line != "" and line != "input:")
        elif in_output and line.startswith("- "):
            for path in line.split(": ", 1)[1].split(", "):
                found[path] = rule
    return found


def test_snakemake_rules_write_what_the_listing_says(tmp_path):
    """Snakemake's own account of the example's rules (--summary: every output file and
    the rule that makes it) equals docs/rules.md's."""
    workdir = copy_workflow(tmp_path, tables=False)  # config.yaml as shipped
    summary = snakemake(workdir, "--summary").stdout
    made = {}
    for line in summary.splitlines():
        cells = line.split("\t")
        if len(cells) > 2 and cells[0].startswith("results/") and \
                not cells[0].startswith("results/metrics/"):
            made[cells[0]] = cells[2]
    listed = listed_outputs((ROOT / "docs" / "rules.md").read_text(encoding="utf-8"))
    assert made == listed


TOY_STAGE = '''

# docs/architecture.md's example: a stage added by its declaration and its job
STAGES["spread"] = Stage(
    reads=("normalise.scale",),
    params=lambda c: dict(scale=c["normalise"]["scale"]),
    inputs={"range": ("normalise", "range")},
    outputs=dict(spread="spread/spread.csv"),
    targets=("spread",))
'''
TOY_JOB = '''

def spread(inputs, outputs, params):
    """Each metric's learning range hi - lo, in units of the normalise scale."""
    ranges = read_columns(inputs.range, text=("metric",))
    write_columns(outputs.spread, {"metric": ranges["metric"],
                                   "spread": (ranges["hi"] - ranges["lo"]) / params.scale})
'''


def test_a_stage_added_as_the_architecture_doc_says(tmp_path):
    """A toy stage, declared in pipeline.STAGES with its job in jobs.py (in a scratch
    copy of soart_core), is a rule of the workflow: it runs, is in `rule all`, and
    reruns when its config key changes."""
    workdir = copy_workflow(tmp_path)
    shutil.copytree(PACKAGE, workdir / "soart_core",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(workdir / "soart_core" / "pipeline.py", "a", encoding="utf-8") as stream:
        stream.write(TOY_STAGE)
    with open(workdir / "soart_core" / "jobs.py", "a", encoding="utf-8") as stream:
        stream.write(TOY_JOB)
    env = {**ENV, "PYTHONPATH": str(workdir)}  # the scratch copy's soart_core
    run = subprocess.run([*SNAKEMAKE, "--cores", "2", "results/spread/spread.csv"],
                         cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    spread = (workdir / "results" / "spread" / "spread.csv").read_text().splitlines()
    assert spread[0] == "metric,spread" and len(spread) == 4
    assert (workdir / "results" / "logs" / "spread.log").is_file()
    # (--quiet rules: the plan's job counts, which the default profile's quiet hides)
    plan = subprocess.run([*SNAKEMAKE, "--cores", "2", "-n", "--quiet", "rules", "--config",
                           "normalise={scale: 3.0}"],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert plan.returncode == 0, plan.stderr
    assert re.search(r"^spread\s+1$", plan.stdout, re.M), plan.stdout
