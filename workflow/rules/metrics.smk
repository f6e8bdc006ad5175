# The optional first stage: metric tables from inspection images (config images_dir).
from soart_core.images import find_images

if config["images_dir"]:
    # listed here so that a new or changed image reruns the stage
    IMAGES = [path for path, _, _ in find_images(config["images_dir"], config["groups"]["order"])]

    rule metrics:
        input:
            images=IMAGES,
            manifest=[config["images_dir"]] if os.path.isfile(config["images_dir"]) else [],
        output:
            learn=[INPUTS[m]["learn"] for m in METRICS],
            valid=[INPUTS[m]["valid"] for m in METRICS],
        params:
            **job_params(config, "metrics"),
        log:
            "results/logs/metrics.log",
        benchmark:
            "results/benchmarks/metrics.tsv"
        conda:
            "../envs/soart.yaml"
        script:
            "../scripts/stage.py"
