# The line's daily batches (config batches_dir; soart_core.reference, docs/batches.md):
# the frozen reference, each batch scored against it, and the drift of their flag
# rates. A batch job reads the reference as `ancient`: a reference built again never
# rescores the batches already scored (`--forcerun batch` does, on purpose), and its
# verdicts name the reference (its id: code, libraries and judges) that made them.
from soart_core.pipeline import PLAIN, stage_files

REFERENCE = f"{PLAIN}/reference/reference.json"
NORMALISED = stage_files(PLAIN, "normalise", METRICS, WORDS)


rule reference:
    input:
        images=[path for path, set_name, _ in IMAGES if set_name == "learn"],
        learn=[NORMALISED["learn"][METRICS.index(m)] for m in WORDS],
        range=NORMALISED["range"],
        regions=NORMALISED["regions"],
        judge_groups=NORMALISED["judge_groups"],
        selection=f"{PLAIN}/verdicts/selection.csv",
        predictors=f"{PLAIN}/verdicts/predictors.csv",
    output:
        reference=REFERENCE,
    params:
        stage="reference",
        code=CODE,
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
        images=lambda wildcards: [path for path, _ in BATCHES[wildcards.batch]],
        reference=ancient(REFERENCE),
    output:
        verdicts=f"{PLAIN}/batches/{{batch}}/verdicts.csv",
        regions=f"{PLAIN}/batches/{{batch}}/regions.csv",
        rejected=f"{PLAIN}/batches/{{batch}}/rejected.csv",
        answer=f"{PLAIN}/batches/{{batch}}/answer.png",
    params:
        stage="batch",
        batch=lambda wildcards: wildcards.batch,
        # each image by its path in the batch folder, and its group ("" unlabeled)
        names=lambda wildcards: [os.path.relpath(path, config["batches_dir"])
                                 for path, _ in BATCHES[wildcards.batch]],
        groups=lambda wildcards: {os.path.relpath(path, config["batches_dir"]): group
                                  for path, group in BATCHES[wildcards.batch]},
        # the images, by size and time: an older replacement reruns too
        images=lambda wildcards: files_stamp([path for path, _ in BATCHES[wildcards.batch]]),
        on_bad_image=config["on_bad_image"],
    wildcard_constraints:
        batch="|".join(re.escape(b) for b in BATCHES) or "(?!)",
    log:
        f"{PLAIN}/batches/{{batch}}/batch.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule drift:
    input:
        verdicts=[f"{PLAIN}/batches/{b}/verdicts.csv" for b in BATCHES],
    output:
        drift=f"{PLAIN}/batches/drift.csv",
        plot=f"{PLAIN}/batches/drift.png",
    params:
        stage="drift",
        batches=list(BATCHES),
        false_alarm=config["verdicts"]["false_alarm"],
    log:
        f"{PLAIN}/logs/drift.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"
