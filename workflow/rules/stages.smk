# The plain run: one rule per stage of soart_core.pipeline.STAGES (the attention: one
# per words metric when it is split), writing results/{stage folder}/. Each rule runs
# soart_core.jobs.<stage> (workflow/scripts/stage.py) on its input, output and params;
# docs/rules.md lists these rules as text for the example config.

# the jobs of each stage: one, or for the attention one per words metric (parts)
PARTS = {stage: [None] for stage in STAGES
         if stage != "metrics" and STAGES[stage].runs(config)}
if len(parts := attention_parts(config, valid_items)) > 1:
    PARTS["attention"] = parts


for stage, parts in PARTS.items():
    for part in parts:
        run = plain_run(with_part(config, part), stage)
        stage_inputs, stage_outputs = run_files(stage, run)

        rule:
            name:
                job_name(stage, part)
            input:
                **stage_inputs,
                # the images themselves (pipeline.Stage.images)
                **({"images": [path for path, _, _ in IMAGES]}
                   if STAGES[stage].images and config["images_dir"] else {}),
            output:
                **reported(stage, stage_outputs, words(run.config)),
            params:
                stage=stage,
                code=job_code(SOART, stage),
                # the user's tables, by size and time: an older replacement reruns too
                # (not tables the metrics job writes: they change after planning)
                **({"tables": files_stamp(sorted(set(stage_inputs["learn"]
                                                     + stage_inputs["valid"])))}
                   if stage == "normalise" and not config["images_dir"] else {}),
                # each image's set and group, for a stage that reads the images
                **({"labels": [[set_name, group] for _, set_name, group in IMAGES]}
                   if STAGES[stage].images == "only" else {}),
                **job_params(run.config, stage),
            threads: STAGES[stage].threads
            resources:
                **STAGES[stage].resources,
            group:
                STAGES[stage].group
            log:
                f"results/logs/{job_name(stage, part)}.log",
            benchmark:
                f"results/benchmarks/{job_name(stage, part)}.tsv"
            conda:
                "../envs/soart.yaml"
            script:
                "../scripts/stage.py"
