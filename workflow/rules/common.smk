# Names derived from the config, shared by the rule files.
import re

from soart_core.errors import one_line_errors
from soart_core.layout import FIGURES, run_files
from soart_core.provenance import code_digest, files_stamp
from soart_core.settings import (STAGES, attention_parts, check_schema, input_paths,
                                 job_params, load_schema, source_of, words)
from soart_core.sweep import SWEPT_STAGES, plain_runs, plan, sweep_runs

METRICS = list(config["metrics"])
WORDS = words(config)

INPUTS = input_paths(config)
SWEEP_SCHEMA = load_schema(workflow.basedir)


with one_line_errors():
    SWEEPS = plan(config, lambda swept: check_schema(swept, SWEEP_SCHEMA,
                                                     source="a swept value"),
                  origin=source_of(["sweeps"], workflow.config_settings.config,
                                   workflow.config_settings.configfiles))


# ---- report entries of the plain run: (stage, output) -> caption, category, subcategory,
# labels; an output per words metric gets one entry per metric
REPORTED = {
    ("verdicts", "verdicts"): ("verdicts", "Verdicts", "by metric", {"table": "verdicts"}),
    ("verdicts", "summary"): ("verdicts_summary", "Verdicts", "summary",
                              {"table": "verdicts, all metrics"}),
    ("evaluate", "evaluation"): ("evaluation", "Evaluation", "by metric", {"table": "figures"}),
    ("evaluate", "confusion"): ("confusion", "Evaluation", "by metric", {"table": "confusion"}),
    ("evaluate", "summary"): ("summary", "Evaluation", "summary", {"table": "summary"}),
    ("figures", "attention"): ("attention", "Attention", "heatmaps", {"figure": "attention"}),
    ("figures", "difference"): ("difference", "Baseline difference", "heatmaps",
                                {"figure": "difference"}),
    ("figures", "blocks"): ("blocks", "Blocks", "sign scores", {"figure": "blocks"}),
    ("blocks", "blocks"): ("blocks_table", "Blocks", "sign counts", {"table": "blocks"}),
    ("figures", "verdicts"): ("verdicts_figure", "Verdicts", "distances",
                              {"figure": "verdicts"}),
    ("workbook", "workbook"): ("workbook", "Workbook", None, {"file": "workbook.xlsx"}),
}


def reported(stage, outputs):
    """The plain run's outputs, those in REPORTED wrapped in report()."""
    done = {}
    for name, files in outputs.items():
        if (stage, name) not in REPORTED:
            done[name] = files
            continue
        caption, category, subcategory, labels = REPORTED[stage, name]
        entries = ([(files, labels)] if isinstance(files, str) else
                   [(f, {"metric": m, **labels}) for f, m in zip(files, WORDS)])
        # (a line may not start with `report(`: Snakemake reads that as its keyword)
        done[name] = [report(f, f"../report/{caption}.rst", category, subcategory,  # fmt: skip
                             labels=l) for f, l in entries]
        if isinstance(files, str):
            done[name] = done[name][0]
    return done


def sweep_inputs(sweep, stages, inputs):
    """A sweep job's inputs: the plain run's files it reads, and the manifests of the
    sweep's jobs of `stages` that write the others (stages.smk)."""
    plain = {name: [f for f in files if not f.startswith(f"results/sweeps/{sweep}/")]
             for name, files in inputs.items()}
    manifests = [m for stage in stages for m in MANIFESTS.get((sweep, stage), [])]
    return {**{name: files for name, files in plain.items() if files},
            "manifests": manifests}


def sweep_rule(sweep, stage):
    """The name of sweep `sweep`'s rule for `stage` (a rule name is an identifier)."""
    return f"sweep_{re.sub(r'[^A-Za-z0-9_]', '_', sweep)}_{stage}"


def merged(parts):
    """Named file lists of several runs, concatenated name by name."""
    names = {}
    for part in parts:
        for name, files in part.items():
            names.setdefault(name, []).extend([files] if isinstance(files, str) else files)
    return names
