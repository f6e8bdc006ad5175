from dataclasses import replace

# The stages of docs/method.md, one rule definition each (settings.STAGES declares what
# a stage reads: config keys and earlier stages' outputs). The plain run's rule is named
# after the stage and writes results/{stage}/; for each sweep, `sweep_{sweep}_{stage}`
# runs the same stage for every run folder of the sweep (soart_core.sweep) in one job,
# so that a sweep costs its arithmetic, not an interpreter start per instance. A job
# runs soart_core.jobs.<stage> once per run folder (workflow/scripts/stage.py). A
# sweep's job declares one output, its manifest (the files it wrote, with digests), and
# reads the manifests of the sweep's jobs before it: Snakemake keeps a record per
# output, and a record per run file would repeat every run's params and inputs (with
# 100 instances: 1 GB). It keeps the runs whose inputs, params and code are unchanged
# (soart_core.script.Stamps): a value added to a grid computes only the runs it adds.
PLAIN_STAGES = [s for s in STAGES if s != "metrics"]  # metrics: metrics.smk
# On a cluster (profiles/slurm) the short stages of a run go as two jobs, not one each;
# local runs ignore groups.
GROUPS = {"normalise": "prepare", "threshold": "prepare", "weights": "prepare",
          "difference": "score", "blocks": "score", "verdicts": "score",
          "classic": "score", "evaluate": "score"}


def valid_items():
    """The validation items (N), counted while planning: images or table lines (a
    missing table: 0, the normalise job names it)."""
    if config["images_dir"]:
        return sum(1 for _, set_name, _ in IMAGES if set_name == "valid")
    try:
        with open(INPUTS[WORDS[0]]["valid"], "rb") as table:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: table.read(1 << 20), b""))
    except OSError:
        return 0
    return max(lines - 1, 0)


PARTS = {"attention": attention_parts(config, valid_items)}  # else one job
MANIFESTS = {}  # (sweep, stage) -> the manifests of its jobs

for sweep, stages, runs_of in [
    (None, PLAIN_STAGES, lambda stage: plain_runs(config, stage)),
    *[(s, SWEPT_STAGES, lambda stage, s=s: sweep_runs(SWEEPS[s], stage)) for s in SWEEPS],
]:
    for stage, part in [(s, p) for s in stages for p in PARTS.get(s, [None])]:
        runs = runs_of(stage)
        if not runs:  # the sweep reads this stage's outputs in the plain run
            continue
        job = stage
        if len(PARTS.get(stage, ())) > 1:  # this job: one words metric only
            runs = [replace(run, config={**run.config, "words": part}) for run in runs]
            job = f"{stage}_{re.sub(r'[^A-Za-z0-9_]', '_', part[0])}"
        files = [run_files(stage, run) for run in runs]
        logs = "results" if sweep is None else f"results/sweeps/{sweep}"
        if sweep is not None:
            MANIFESTS.setdefault((sweep, stage), []).append(f"{logs}/jobs/{job}.json")

        rule:
            name:
                job if sweep is None else sweep_rule(sweep, job)
            input:
                **(merged(inp for inp, _ in files) if sweep is None else
                   sweep_inputs(sweep, STAGES[stage].after(), merged(i for i, _ in files))),
            output:
                **(reported(stage, files[0][1]) if sweep is None else
                   {"manifest": MANIFESTS[sweep, stage][-1]}),
            params:
                stage=stage,
                code=code_digest(stage),
                # the user's tables, by size and time: an older replacement reruns too
                **({"tables": files_stamp(sorted({f for inp, _ in files
                                                  for names in inp.values() for f in names}))}
                   if stage == "normalise" else {}),
                reuse=sweep is not None,
                runs=[dict(folder=run.folder, inputs=inp, outputs=out,
                           params=job_params(run.config, stage))
                      for run, (inp, out) in zip(runs, files)],
            threads: STAGES[stage].threads
            resources:
                **STAGES[stage].resources,
            group:
                GROUPS.get(stage) if sweep is None else
                (sweep_rule(sweep, GROUPS[stage]) if stage in GROUPS else None)
            log:
                f"{logs}/logs/{job}.log",
            benchmark:
                f"{logs}/benchmarks/{job}.tsv"
            conda:
                "../envs/soart.yaml"
            script:
                "../scripts/stage.py"
