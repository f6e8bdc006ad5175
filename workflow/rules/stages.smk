# The stages of docs/method.md, one rule definition each (settings.STAGES declares what
# a stage reads: config keys and earlier stages' outputs). The plain run's rule is named
# after the stage and writes results/{stage}/; the `sweep_{stage}` rule runs the same
# stage for every run folder of every sweep (soart_core.sweep) in one job, so a sweep
# costs its arithmetic, not an interpreter start per instance. A job runs
# soart_core.jobs.<stage> once per run folder (workflow/scripts/stage.py).
PLAIN_STAGES = [s for s in STAGES if s != "metrics"]  # metrics: metrics.smk

for prefix, stages, runs_of in (
    ("", PLAIN_STAGES, lambda stage: plain_runs(config, stage)),
    ("sweep_", SWEPT_STAGES, lambda stage: sweep_runs(SWEEPS, stage)),
):
    for stage in stages:
        runs = runs_of(stage)
        if not runs:  # every sweep reads this stage's plain outputs
            continue
        files = [run_files(stage, run) for run in runs]
        outputs = merged(out for _, out in files)

        rule:
            name:
                prefix + stage
            input:
                **merged(inp for inp, _ in files),
            output:
                **(reported(stage, files[0][1]) if not prefix else outputs),
            params:
                runs=[dict(folder=run.folder, inputs=inp, outputs=out,
                           params=job_params(run.config, stage))
                      for run, (inp, out) in zip(runs, files)],
            threads: STAGES[stage].threads
            log:
                f"results/logs/{prefix}{stage}.log",
            benchmark:
                f"results/benchmarks/{prefix}{stage}.tsv"
            conda:
                "../envs/soart.yaml"
            script:
                "../scripts/stage.py"
