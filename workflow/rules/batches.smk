# The line's daily batches (config batches_dir; soart_core.reference, docs/batches.md):
# the frozen reference, each batch scored against it, and the drift of their flag
# rates. A scored batch is a record: once its record.json is written (last), no rule
# makes its files, so no changed setting, code or reference rescores it and no failed
# run deletes it (its files are also write-protected). Its verdicts name the reference
# (its id: code, libraries and judges) that made them.
from soart_core.pipeline import PLAIN, stage_files
from soart_core.reference import RECORD, recorded, refused_name

REFERENCE = f"{PLAIN}/reference/reference.json"
NORMALISED = stage_files(PLAIN, "normalise", METRICS, WORDS)
# the days scored before: records, read by drift, made by no rule
RECORDED = recorded(f"{PLAIN}/batches", BATCHES)
TO_SCORE = [b for b in BATCHES if b not in RECORDED]
if workflow.is_main_process:  # a scored day named by --forcerun: one line, no run
    with one_line_errors():
        refuse_rescoring(RECORDED, forced_rules(workflow, sys.argv))


def batch_images(batch):
    """A batch's images that a rule can read (refused_name: none)."""
    return [path for path, _ in BATCHES[batch] if refused_name(path) is None]


def batch_name(path):
    """An image by its path in the batch folder."""
    return os.path.relpath(path, config["batches_dir"])


rule reference:
    input:
        images=[path for path, set_name, _ in IMAGES if set_name == "learn"],
        learn=[NORMALISED["learn"][METRICS.index(m)] for m in WORDS],
        range=NORMALISED["range"],
        regions=NORMALISED["regions"],
        judge_groups=NORMALISED["judge_groups"],
        selection=f"{PLAIN}/verdicts/selection.csv",
        predictors=f"{PLAIN}/verdicts/predictors.csv",
        # the pixel-level detector, fitted (soart_core.patches.Model)
        patches_model=f"{PLAIN}/patches/model.npz",
        patches_settings=f"{PLAIN}/patches/model.json",
    output:
        reference=REFERENCE,
    params:
        stage="reference",
        code=job_code(SOART, "reference"),
        labels=[[set_name, group] for _, set_name, group in IMAGES if set_name == "learn"],
        words=WORDS,
        kinds=config["images"]["kinds"],
        image={k: config["images"][k] for k in ("grid", "crop", "grayscale", "sn_ratio",
                                               "sn_max_db", "max_pixels")},
        order=config["groups"]["order"],
        reference=config["groups"]["order"][0],
        false_alarm=config["verdicts"]["false_alarm"],
        detectors=config["verdicts"]["detectors"],
    log:
        f"{PLAIN}/logs/reference.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule batch:
    input:
        images=lambda wildcards: batch_images(wildcards.batch),
        # (not ancient: a recorded day has no job at all, and an ancient input hides a
        # new day's job from a run that builds the reference again)
        reference=REFERENCE,
    output:
        verdicts=protected(f"{PLAIN}/batches/{{batch}}/verdicts.csv"),
        regions=protected(f"{PLAIN}/batches/{{batch}}/regions.csv"),
        rejected=protected(f"{PLAIN}/batches/{{batch}}/rejected.csv"),
        answer=protected(f"{PLAIN}/batches/{{batch}}/answer.png"),
        record=protected(f"{PLAIN}/batches/{{batch}}/{RECORD}"),
    params:
        stage="batch",
        code=job_code(SOART, "batch"),
        batch=lambda wildcards: wildcards.batch,
        # each image by its path in the batch folder, and its group ("" unlabeled)
        names=lambda wildcards: [batch_name(path) for path in batch_images(wildcards.batch)],
        groups=lambda wildcards: {batch_name(path): group
                                  for path, group in BATCHES[wildcards.batch]},
        # files no rule can read, by name, with why: rejected (skip) or one error (stop)
        refused=lambda wildcards: [[batch_name(path), refused_name(path)]
                                   for path, _ in BATCHES[wildcards.batch]
                                   if refused_name(path) is not None],
        on_bad_image=config["on_bad_image"],
    wildcard_constraints:
        batch="|".join(re.escape(b) for b in TO_SCORE) or "(?!)",
    log:
        f"{PLAIN}/batches/{{batch}}/batch.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule drift:
    input:
        # each day's record: the reference and rate that scored it, its counts
        records=[f"{PLAIN}/batches/{b}/{RECORD}" for b in BATCHES],
    output:
        drift=f"{PLAIN}/batches/drift.csv",
        plot=f"{PLAIN}/batches/drift.png",
    params:
        stage="drift",
        code=job_code(SOART, "drift"),
        batches=list(BATCHES),
    log:
        f"{PLAIN}/logs/drift.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"
