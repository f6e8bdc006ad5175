# The optional first stage: metric tables from inspection images (config images_dir).
from soart_core.images import find_images

if config["images_dir"]:
    # listed here, so that a new or changed image, or a changed group, reruns the stage
    with one_line_errors():
        IMAGES = find_images(config["images_dir"], config["groups"]["order"],
                             config["encoding"])

    rule metrics:
        input:
            images=[path for path, _, _ in IMAGES],
        output:
            learn=[INPUTS[m]["learn"] for m in METRICS],
            valid=[INPUTS[m]["valid"] for m in METRICS],
            # each feature's region of the image: where a verdict points
            regions=REGIONS_GEOMETRY,
        params:
            stage="metrics",  # the job's name, also under a module's prefix
            code=job_code(SOART, "metrics"),
            # the images, by size and time: an older replacement reruns too
            images=files_stamp([path for path, _, _ in IMAGES]),
            labels=[[set_name, group] for _, set_name, group in IMAGES],
            **job_params(config, "metrics"),
        log:
            "results/logs/metrics.log",
        benchmark:
            "results/benchmarks/metrics.tsv"
        conda:
            "../envs/soart.yaml"
        script:
            "../scripts/stage.py"
