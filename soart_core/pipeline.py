"""The stages of docs/method.md, each declared once: what it reads (config keys and
earlier stages' outputs), what it writes, its job, and how it runs. The rules
(workflow/rules/stages.smk and sweeps.smk), a sweep's sharing of run folders
(soart_core.sweep), the code digests (soart_core.provenance), the report and `rule all`
all derive from STAGES; docs/rules.md lists the rules they make for the example config
(`python -m soart_core.pipeline > docs/rules.md`, checked by a test).

A stage's job is the function of soart_core.jobs named after it; its arithmetic lives
in soart_core.stages (and the modules that function calls). docs/architecture.md
walks one stage through these files and shows how to add one.
"""

import os
import sys
from dataclasses import dataclass, field

from .images import find_images
from .layout import FIGURES, ROLES
from .provenance import code_digest
from .settings import (METRICS_DIR, SCHEMA, baseline_group, block_tolerance, get_path,
                       input_paths, load_yaml, reference_group, set_path, words)


@dataclass(frozen=True)
class Report:
    """An output's entry in Snakemake's report: its caption workflow/report/{caption}.rst."""
    caption: str
    category: str
    subcategory: str | None
    labels: dict


@dataclass(frozen=True)
class Stage:
    """One stage: its job is soart_core.jobs.<name>.

    - `reads`: the config keys it reads (dotted paths; `*` the whole config), and
      `params`: config (holding only those keys) -> the job's params. Snakemake reruns
      a stage on a change of its params; a sweep shares a stage's run folder between
      instances that agree on these keys (and those of the stages before it).
    - `inputs`: input name -> (stage, output name[, "words"]): an earlier stage's
      output ("words": only the entries of the words metrics).
    - `outputs`: output name -> file in a run folder; `{metric}` makes one file per
      metric, `{word}` per words metric, `{role}` per role (query, key, value).
    - `threads`, `resources` (sized from benchmarks/), `group` (on a cluster, stages of
      one group go as one job), `report` (output name -> Report), `targets` (the
      outputs `rule all` asks for), `swept` (sweeps run it; else only the plain run).
    - `images`: "only" (the stage reads the images themselves, input `images` and
      param `labels`, and runs in images mode only), "also" (it reads them in images
      mode), or None; `image_inputs`: inputs as `inputs`, read in images mode only.
    """
    reads: tuple
    params: object
    outputs: dict
    inputs: dict = field(default_factory=dict)
    threads: int = 1
    resources: dict = field(default_factory=dict)
    group: str | None = None
    report: dict = field(default_factory=dict)
    targets: tuple = ()
    swept: bool = True
    modules: tuple = ("jobs",)
    needs: tuple = ()  # stages whose outputs it reads beyond `inputs` (run_files)
    images: str | None = None
    image_inputs: dict = field(default_factory=dict)

    def after(self):
        """The stages whose outputs this one reads, in the order of its inputs."""
        return tuple(dict.fromkeys(self.needs + tuple(
            source[0] for source in {**self.inputs, **self.image_inputs}.values())))

    def runs(self, config):
        """Does this stage run with `config` (an images-only stage needs images_dir)?"""
        return self.images != "only" or bool(config["images_dir"])


INPUT_KEYS = ("data_dir", "images_dir", "metrics")  # where input_paths looks


def _metrics(c):
    return list(c["metrics"])


STAGES = {
    "metrics": Stage(
        modules=("jobs", "images", "patches"),
        reads=("metrics", "groups.column", "groups.order", "images", "patches"),
        params=lambda c: dict(metrics=_metrics(c), group_column=c["groups"]["column"],
                              kinds=c["images"]["kinds"],
                              # the kind `patch`: the pixel-level detector's settings
                              patches=c["patches"] if "patch" in c["images"]["kinds"].values()
                              else None,
                              grayscale=c["images"]["grayscale"],
                              grid=c["images"]["grid"], crop=c["images"]["crop"],
                              sn_ratio=c["images"]["sn_ratio"],
                              sn_max_db=c["images"]["sn_max_db"],
                              max_pixels=c["images"]["max_pixels"],
                              reference_group=c["images"]["reference_group"]
                              or reference_group(c)),
        # the metric tables, where input_paths says, and the regions' geometry
        # (run_files; workflow/rules/metrics.smk)
        outputs=dict(regions="metrics/regions.csv"), images="only"),
    # the pixel-level detector (soart_core.patches) on the images themselves
    "patches": Stage(
        modules=("jobs", "patches", "images"),
        reads=("groups.order", "images.grayscale", "images.crop", "images.max_pixels",
               "images.reference_group", "images.grid", "patches"),
        params=lambda c: dict(settings=c["patches"], grayscale=c["images"]["grayscale"],
                              crop=c["images"]["crop"], max_pixels=c["images"]["max_pixels"],
                              grid=c["images"]["grid"],
                              reference=c["images"]["reference_group"]
                              or reference_group(c)),
        outputs=dict(scores="patches/scores.csv", maps="patches/maps.npy",
                     model="patches/model.npz", model_settings="patches/model.json"),
        # (its own Slurm job: it reads the images, not the tables of group prepare)
        images="only", resources={"mem_mb": 4000}),
    # its input files: the metric tables (input_paths)
    "normalise": Stage(
        modules=("jobs", "inputs"),
        reads=INPUT_KEYS + ("features", "groups", "id_column", "encoding", "delimiter",
                            "decimal", "normalise"),
        # (tables from images are soart's own: UTF-8 and commas, whatever the user's
        # tables would be)
        params=lambda c: dict(metrics=_metrics(c), features=c["features"],
                              groups=c["groups"], id_column=c["id_column"],
                              **({"encoding": "utf-8-sig", "delimiter": ",", "decimal": "."}
                                 if c["images_dir"] else
                                 {"encoding": c["encoding"], "delimiter": c["delimiter"],
                                  "decimal": c["decimal"]}),
                              scale=c["normalise"]["scale"]),
        outputs=dict(learn="normalise/{metric}_learn.csv",
                     valid="normalise/{metric}_valid.csv", range="normalise/range.csv",
                     judge_groups="normalise/judges.csv", item_groups="normalise/items.csv",
                     # each row's line in its input table (blank rows counted): messages
                     lines="normalise/lines.csv",
                     # each feature's region of the image (images), or empty cells
                     regions="normalise/regions.csv"),
        # with images: the metrics stage's tables (input_paths, in its run folder)
        needs=("metrics",), resources={"mem_mb": 4000}, group="prepare"),
    # sources: the input tables, named in messages about their cells
    "threshold": Stage(
        reads=INPUT_KEYS + ("threshold",),
        params=lambda c: dict(metrics=_metrics(c), learn=c["threshold"]["learn"],
                              valid=c["threshold"]["valid"], sources=input_paths(c)),
        inputs={"learn": ("normalise", "learn"), "valid": ("normalise", "valid"),
                "lines": ("normalise", "lines")},
        outputs=dict(learn="threshold/{metric}_learn.csv",
                     valid="threshold/{metric}_valid.csv"),
        group="prepare"),
    "weights": Stage(
        reads=("metrics", "roles"),
        params=lambda c: dict(metrics=_metrics(c), roles=c["roles"]),
        inputs={"learn": ("threshold", "learn")},
        outputs=dict(weights="weights/{role}.csv"), group="prepare"),
    "attention": Stage(
        reads=INPUT_KEYS + ("words", "attention"),
        params=lambda c: dict(words=words(c), sources=input_paths(c),
                              decimals=c["attention"]["decimals"],
                              chunk_rows=c["attention"]["chunk_rows"],
                              dtype=c["attention"]["dtype"],
                              over=c["attention"]["over"],
                              features=c["attention"]["features"],
                              feature_scale=c["attention"]["feature_scale"]),
        inputs={"words": ("threshold", "valid", "words"), "weights": ("weights", "weights"),
                # the judges of the words metrics: attention.over judges compares with them
                "learn": ("threshold", "learn", "words"), "lines": ("normalise", "lines")},
        # N = 100,000 items over 256 judges: about 2 minutes, 0.5 GiB per words metric
        outputs=dict(attention="attention/{word}.csv"),
        threads=2, resources={"mem_mb": 4000, "runtime": 120}),
    "difference": Stage(
        reads=("baseline", "groups.order"),
        params=lambda c: dict(method=c["baseline"]["method"], group=baseline_group(c)),
        inputs={"attention": ("attention", "attention")},
        outputs=dict(difference="difference/{word}.csv",
                     baseline="difference/{word}_baseline.csv"),
        resources={"mem_mb": 4000}, group="score"),
    "blocks": Stage(
        reads=("groups.order", "blocks", "attention.decimals"),
        params=lambda c: dict(order=c["groups"]["order"], tolerance=block_tolerance(c)),
        inputs={"difference": ("difference", "difference"),
                "judge_groups": ("normalise", "judge_groups")},
        outputs=dict(blocks="blocks/{word}.csv"), group="score", targets=("blocks",),
        report={"blocks": Report("blocks_table", "Blocks", "sign counts",
                                 {"table": "blocks"})}),
    "verdicts": Stage(
        modules=("jobs", "answer", "detectors", "evaluation", "verdicts"),
        reads=("metrics", "words", "groups.order", "blocks", "attention.decimals",
               "verdicts"),
        params=lambda c: dict(words=words(c), order=c["groups"]["order"],
                              reference=reference_group(c), tolerance=block_tolerance(c),
                              verdicts=c["verdicts"]),
        inputs={"difference": ("difference", "difference"),
                "judge_groups": ("normalise", "judge_groups"),
                # the summary's verdict: the items' attention over the judges, on the
                # normalised (not thresholded) tables of the words metrics
                "learn": ("normalise", "learn", "words"),
                "valid": ("normalise", "valid", "words"),
                "regions": ("normalise", "regions")},
        # the pixel-level detector's scores of every image
        image_inputs={"patches": ("patches", "scores")},
        outputs=dict(verdicts="verdicts/{word}.csv", mt_thresholds="verdicts/mt_thresholds.csv",
                     summary="verdicts/summary.csv", calibration="verdicts/calibration.csv",
                     selection="verdicts/selection.csv", regions="verdicts/regions.csv",
                     answer="verdicts/answer.csv", predictors="verdicts/predictors.csv"),
        group="score", targets=("summary",),
        report={"verdicts": Report("verdicts", "Verdicts", "by metric",
                                   {"table": "verdicts"}),
                "summary": Report("verdicts_summary", "Verdicts", "summary",
                                  {"table": "verdicts, all metrics"}),
                "answer": Report("answer", "Verdicts", "the answer", {"table": "answer"}),
                "selection": Report("selection", "Verdicts", "the detector",
                                    {"table": "selection"}),
                "predictors": Report("predictors", "Verdicts", "the defect group",
                                     {"table": "predictors"}),
                "regions": Report("regions", "Verdicts", "where",
                                  {"table": "regions"})}),
    # the classic baselines: on the thresholded validation metrics themselves
    "classic": Stage(
        modules=("jobs", "evaluation"),
        reads=("metrics", "words", "groups.order", "evaluate.max_loo_items",
               "verdicts.mt_quantile", "verdicts.mt_max_loo_items"),
        params=lambda c: dict(words=words(c), order=c["groups"]["order"],
                              reference=reference_group(c),
                              max_loo_items=c["evaluate"]["max_loo_items"],
                              verdicts={k: c["verdicts"][k] for k in
                                        ("mt_quantile", "mt_max_loo_items")}),
        inputs={"words": ("threshold", "valid", "words")},
        outputs=dict(evaluation="classic/{word}.csv",
                     confusion="classic/{word}_confusion.csv"),
        group="score"),
    "evaluate": Stage(
        modules=("jobs", "detectors", "evaluation"),
        reads=("metrics", "words", "groups.order", "baseline.group", "attention"),
        params=lambda c: dict(words=words(c), order=c["groups"]["order"],
                              baseline=baseline_group(c), reference=reference_group(c),
                              over=c["attention"]["over"],
                              features=c["attention"]["features"],
                              feature_scale=c["attention"]["feature_scale"]),
        inputs={"attention": ("attention", "attention"),
                # the verdicts' summary (its rows `answer`, one per detector and
                # `attention` per metric), the pick of auto (its nested figures), and what
                # the attention's health is recomputed from
                "summary": ("verdicts", "summary"),
                "selection": ("verdicts", "selection"),
                "words": ("threshold", "valid", "words"),
                "learn": ("threshold", "learn", "words"),
                "weights": ("weights", "weights"),
                "difference": ("difference", "difference"), "blocks": ("blocks", "blocks"),
                "verdicts": ("verdicts", "verdicts"),
                "classic_evaluation": ("classic", "evaluation"),
                "classic_confusion": ("classic", "confusion")},
        outputs=dict(evaluation="evaluation/{word}.csv",
                     confusion="evaluation/{word}_confusion.csv",
                     summary="evaluation/summary.csv", health="evaluation/health.csv",
                     answer_confusion="evaluation/answer_confusion.csv"),
        resources={"mem_mb": 4000, "runtime": 60}, group="score", targets=("summary",),
        report={"evaluation": Report("evaluation", "Evaluation", "by metric",
                                     {"table": "figures"}),
                "confusion": Report("confusion", "Evaluation", "by metric",
                                    {"table": "confusion"}),
                "summary": Report("summary", "Evaluation", "summary", {"table": "summary"}),
                "answer_confusion": Report("answer_confusion", "Evaluation", "the answer",
                                           {"table": "confusion of the answer"})}),
    # in images mode also the images (workflow/rules/stages.smk): the where figure
    "figures": Stage(
        modules=("jobs", "figures", "images"),
        reads=("metrics", "words", "groups.order", "verdicts.false_alarm",
               "images.grayscale", "images.crop"),
        params=lambda c: dict(words=words(c), order=c["groups"]["order"],
                              false_alarm=c["verdicts"]["false_alarm"],
                              grayscale=c["images"]["grayscale"],
                              crop=c["images"]["crop"]),
        inputs={"attention": ("attention", "attention"),
                "difference": ("difference", "difference"), "blocks": ("blocks", "blocks"),
                "verdicts": ("verdicts", "verdicts"),
                "mt_thresholds": ("verdicts", "mt_thresholds"),
                "summary": ("verdicts", "summary"),
                "regions": ("verdicts", "regions"),
                "judge_groups": ("normalise", "judge_groups")},
        # the flagged images' anomaly maps
        image_inputs={"maps": ("patches", "maps"), "patches": ("patches", "scores")},
        # defects: a folder (a trailing /), one figure per flagged image
        outputs={**{kind: f"figures/{{word}}_{kind}.png" for kind in FIGURES},
                 "answer": "figures/answer.png", "where": "figures/where.png",
                 "defects": "figures/defects/"},
        images="also", swept=False, targets=FIGURES + ("answer", "where", "defects"),
        report={"attention": Report("attention", "Attention", "heatmaps",
                                    {"figure": "attention"}),
                "difference": Report("difference", "Baseline difference", "heatmaps",
                                     {"figure": "difference"}),
                "blocks": Report("blocks", "Blocks", "sign scores", {"figure": "blocks"}),
                "mt": Report("mt_figure", "Verdicts", "MT distances per metric",
                             {"figure": "MT verdicts"}),
                "answer": Report("answer_figure", "Verdicts", "the answer",
                                 {"figure": "answer"}),
                "where": Report("where_figure", "Verdicts", "where",
                                {"figure": "where"}),
                "defects": Report("defects_figure", "Verdicts", "each flagged image",
                                  {"figure": "{name}"})}),
    # settings: the whole config for the workbook's settings sheet (so any change of
    # config reruns this one cheap job)
    "workbook": Stage(
        modules=("jobs", "workbook"),
        reads=("*",),
        params=lambda c: dict(words=words(c), order=c["groups"]["order"],
                              max_items=c["workbook"]["max_items"],
                              tolerance=block_tolerance(c),
                              decimals=c["attention"]["decimals"], settings=dict(c)),
        inputs={"attention": ("attention", "attention"),
                "difference": ("difference", "difference"), "blocks": ("blocks", "blocks"),
                "summary": ("evaluate", "summary"),
                "judge_groups": ("normalise", "judge_groups"),
                "verdicts": ("verdicts", "verdicts"),
                "verdict_summary": ("verdicts", "summary")},
        outputs=dict(workbook="workbook.xlsx"), swept=False, targets=("workbook",),
        report={"workbook": Report("workbook", "Workbook", None,
                                   {"file": "workbook.xlsx"})}),
}


# the jobs outside STAGES (workflow/rules/batches.smk, sweeps.smk): the soart_core
# modules each runs, as a Stage's `modules`
JOBS = {"reference": ("jobs", "reference", "provenance"),
        "batch": ("jobs", "reference", "figures"),
        "drift": ("jobs", "reference", "figures"),
        "sweep_summary": ("jobs", "figures", "sweep")}


def modules_of(job):
    """The soart_core modules job `job` (a stage, or one of JOBS) declares."""
    return STAGES[job].modules if job in STAGES else JOBS[job]


def job_code(workflow_dir, job):
    """The `code` param of job `job`'s rules: the digest of the code it runs
    (soart_core.provenance.code_digest over its declared modules)."""
    return code_digest(workflow_dir, tuple(modules_of(job)))


def only(config, paths):
    """A copy of `config` holding just the values at key `paths` (dotted): a stage's
    params function sees nothing it has not declared, so its declaration cannot lie."""
    view = {}
    for path in paths:
        set_path(view, path, get_path(config, path), create=True)
    return view


def stage_files(root, stage, metrics, words):
    """The files stage `stage` writes under run folder `root`, by output name: a list
    for an output per metric, words metric or role, else one path."""
    def files(pattern):
        pattern = pattern.rstrip("/")  # a folder (is_folder): its path
        for key, names in (("{metric}", metrics), ("{word}", words), ("{role}", ROLES)):
            if key in pattern:
                return [os.path.join(root, pattern.replace(key, n)) for n in names]
        return os.path.join(root, pattern)

    return {name: files(pattern) for name, pattern in STAGES[stage].outputs.items()}


def is_folder(stage, output):
    """Is output `output` of `stage` a folder (its declaration ends with a /)?"""
    return STAGES[stage].outputs[output].endswith("/")


def output_folders(stage):
    """The folders stage `stage` writes in a run folder (a sweep instance links them)."""
    return sorted({pattern.split("/")[0] for pattern in STAGES[stage].outputs.values()})


PLAIN = "results"  # the plain run's folder
REGIONS_GEOMETRY = os.path.join(METRICS_DIR, "regions.csv")  # the metrics stage's


@dataclass
class Run:
    """One stage's work in one run folder: the config it runs with and, per stage
    before it, the folder of the outputs it reads."""
    folder: str
    config: dict
    upstream: dict


def plain_run(config, stage):
    """`stage`'s run in the plain run's folder, reading the plain run's outputs."""
    return Run(PLAIN, config, {s: PLAIN for s in STAGES[stage].after()})


def run_files(stage, run):
    """({input name: files}, {output name: files}) of `stage` in `run`: outputs in its
    folder, inputs from the folders of the stages
    it reads, or, for normalise, the metric tables."""
    metrics, words_ = list(run.config["metrics"]), words(run.config)
    if stage == "metrics":  # its inputs, the images: the rule's (find_images)
        tables = input_paths(run.config, run.folder)
        return {}, {**{kind: [tables[m][kind] for m in metrics] for kind in ("learn", "valid")},
                    **stage_files(run.folder, stage, metrics, words_)}
    if stage == "normalise":
        root = run.upstream.get("metrics", PLAIN)
        tables = input_paths(run.config, root)
        inputs = {kind: [tables[m][kind] for m in metrics] for kind in ("learn", "valid")}
        # the regions' geometry that the metrics stage writes beside its tables
        inputs["geometry"] = ([stage_files(root, "metrics", metrics, words_)["regions"]]
                              if run.config["images_dir"] else [])
    else:
        inputs = {}
        declared = STAGES[stage]
        for name, (before, output, *only_words) in {
                **declared.inputs,
                **(declared.image_inputs if run.config["images_dir"] else {})}.items():
            files = stage_files(run.upstream[before], before, metrics, words_)[output]
            inputs[name] = [files[metrics.index(w)] for w in words_] if only_words else files
    return inputs, stage_files(run.folder, stage, metrics, words_)


def targets(config, root=PLAIN):
    """The files `rule all` asks for: each stage's `targets` outputs."""
    found = []
    for stage, declared in STAGES.items():
        files = stage_files(root, stage, list(config["metrics"]), words(config))
        for name in declared.targets:
            found += [files[name]] if isinstance(files[name], str) else files[name]
    return found


SPLIT_ITEMS = 10_000  # attention.job_per_metric: auto splits from this many items on


def attention_parts(config, count_items):
    """The words metrics of each attention job: one list, or one per metric
    (`count_items()`: the validation items, counted only for auto)."""
    split = config["attention"]["job_per_metric"]
    if config["attention"]["features"] == "combined":
        split = False  # one attention over every words metric: one job
    if split == "auto":
        split = count_items() >= SPLIT_ITEMS
    return [[m] for m in words(config)] if split else [words(config)]


def job_params(config, stage):
    """The tunables stage `stage` reads, from the config values it declares."""
    reads = STAGES[stage].reads
    return STAGES[stage].params(config if reads == ("*",) else only(config, reads))


def upstream(stage):
    """Every stage whose outputs `stage` reads, directly or through others."""
    seen = []
    for before in STAGES[stage].after():
        for s in upstream(before) + (before,):
            if s not in seen:
                seen.append(s)
    return tuple(seen)


def listing(config, images=None):
    """docs/rules.md: every rule of a plain run with `config` (defaults filled in), its
    job, config keys, inputs, outputs, params, threads, group and log, as text.
    `images`: how many images the metrics stage reads (None: no metrics rule)."""
    def files(named):
        return [f"- {name}: " + ", ".join([paths] if isinstance(paths, str) else paths)
                for name, paths in named.items()]

    lines = ["# The rules of a plain run", "",
             "Generated from config.yaml by `python -m soart_core.pipeline > docs/rules.md`",
             "(tests/test_architecture.py checks that it is current and that Snakemake's",
             "rules write these files). Each rule runs `soart_core.jobs.<stage>` on its",
             "input, output and params (workflow/rules/stages.smk); a sweep runs the same",
             "stages in `sweep_{sweep}_{stage}` rules (workflow/rules/sweeps.smk).", ""]
    for stage, declared in STAGES.items():
        lines += [f"## {stage}", ""]
        facts = (f"job `soart_core.jobs.{stage}` · threads {declared.threads}"
                 + (f" · group {declared.group}" if declared.group else "")
                 + f" · log results/logs/{stage}.log")
        if stage == "metrics":
            if images is None:
                continue
            lines += [facts, "", f"- input images: {images} files under images_dir",
                      "- output: the metric tables of the config's `metrics`, in "
                      "results/metrics/", ""]
            continue
        inputs, outputs = run_files(stage, plain_run(config, stage))
        params = job_params(config, stage)
        lines += [facts, "", "config keys: " + ", ".join(declared.reads), "",
                  "input:", *files(inputs), "", "output:", *files(outputs), "",
                  "params: stage, code" + (", tables" if stage == "normalise" else "")
                  + ", " + ", ".join(params), ""]
    return "\n".join(lines)


def example_config(root):
    """config.yaml under `root` with the schema's defaults, as Snakemake reads it."""
    from snakemake.utils import validate  # (0.5 s to import: only here)

    with open(os.path.join(root, "config.yaml"), encoding="utf-8") as stream:
        config = load_yaml(stream)
    validate(config, os.path.join(root, SCHEMA), set_default=True)
    return config


if __name__ == "__main__":
    ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.chdir(ROOT)
    example = example_config(ROOT)
    shown = (len(find_images(example["images_dir"], example["groups"]["order"]))
             if example["images_dir"] else None)
    sys.stdout.write(listing(example, shown))
