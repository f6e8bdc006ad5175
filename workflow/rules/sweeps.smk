# Parameter sweeps (config `sweeps:`, soart_core.sweep): `snakemake --cores N sweep`, or
# one sweep's results/sweeps/{sweep}/summary.csv. For each sweep, `sweep_{sweep}_{stage}`
# runs a stage for every run folder of the sweep in one job, so that a sweep costs its
# arithmetic, not an interpreter start per instance. Such a job declares one output,
# its manifest (the files it wrote, with digests), and reads the manifests of the
# sweep's jobs before it: Snakemake keeps a record per output, and a record per run
# file would repeat every run's params and inputs (with 100 instances: 1 GB). It keeps
# the runs whose inputs, params and code are unchanged (soart_core.script.Stamps): a
# value added to a grid computes only the runs it adds. Then each instance folder gets
# its params.yaml and links to the stage folders it shares, and the sweep its ranked
# summary and plot.


localrules:
    sweep,


rule sweep:
    input:
        [f"results/sweeps/{sweep}/summary.csv" for sweep in SWEEPS],


MANIFESTS = {}  # (sweep, stage) -> the manifests of its jobs


def sweep_parts(sweep, stage):
    """The jobs of `stage` in sweep `sweep`: the plain run's parts (attention per words
    metric), or one job where the sweep changes the metrics or the words."""
    if stage not in PARTS or any(path.split(".", 1)[0] in ("metrics", "words")
                                 for path in SWEEPS[sweep]):
        return [None]
    return PARTS[stage]


@functools.cache
def sweep_job(sweep, stage, part):
    """(runs, [(inputs, outputs)]) of `stage`'s job for words metrics `part` (a tuple,
    None: all) in sweep `sweep`: computed when Snakemake plans that job, not before."""
    runs = [replace(run, config=with_part(run.config, part and list(part)))
            for run in sweep_runs(sweep_instances(sweep), stage)]
    files = [run_files(stage, run) for run in runs]
    if stage == "metrics":  # the images of the plain run's metrics rule
        files = [({"images": [path for path, _, _ in IMAGES]}, outputs)
                 for _, outputs in files]
    return runs, files


def sweep_job_inputs(sweep, stage, part):
    runs, files = sweep_job(sweep, stage, part)
    return sweep_inputs(sweep, STAGES[stage].after(), merged(inputs for inputs, _ in files))


def sweep_job_runs(sweep, stage, part):
    runs, files = sweep_job(sweep, stage, part)
    extra = ({"labels": [[set_name, group] for _, set_name, group in IMAGES]}
             if stage == "metrics" else {})
    return [dict(folder=run.folder, inputs=inputs, outputs=outputs,
                 params={**job_params(run.config, stage), **extra})
            for run, (inputs, outputs) in zip(runs, files)]


for sweep in SWEEPS:
    for stage in swept_stages(config, SWEEPS[sweep]):
        for part in sweep_parts(sweep, stage):
            part = part and tuple(part)
            job = job_name(stage, part)
            MANIFESTS.setdefault((sweep, stage), []).append(
                f"results/sweeps/{sweep}/jobs/{job}.json")

            rule:
                name:
                    sweep_rule(sweep, job)
                input:
                    # (functions: a sweep's instances are made only when it is planned)
                    unpack(lambda wildcards, sweep=sweep, stage=stage, part=part:
                           sweep_job_inputs(sweep, stage, part)),
                output:
                    manifest=MANIFESTS[sweep, stage][-1],
                params:
                    stage=stage,
                    code=CODE,
                    reuse=True,
                    runs=lambda wildcards, sweep=sweep, stage=stage, part=part:
                    sweep_job_runs(sweep, stage, part),
                threads: STAGES[stage].threads
                resources:
                    **STAGES[stage].resources,
                group:
                    sweep_rule(sweep, STAGES[stage].group) if STAGES[stage].group else None
                log:
                    f"results/sweeps/{sweep}/logs/{job}.log",
                benchmark:
                    f"results/sweeps/{sweep}/benchmarks/{job}.tsv"
                conda:
                    "../envs/soart.yaml"
                script:
                    "../scripts/stage.py"


def summary_inputs(sweep):
    return sweep_inputs(sweep, ["evaluate"], {"summaries": [
        f"{i.folders['evaluate']}/evaluation/summary.csv"
        for i in sweep_instances(sweep).values()]})


def summary_instances(sweep):
    # params.yaml: not an output, so that a new instance reruns this job by its
    # changed params (new outputs would have no provenance to compare)
    return [dict(name=i.name, values=i.values, folders=i.folders, config=i.config,
                 params=f"results/sweeps/{sweep}/{i.name}/params.yaml")
            for i in sweep_instances(sweep).values()]


for sweep in SWEEPS:

    rule:
        name:
            sweep_rule(sweep, "summary")
        localrule: True
        input:
            unpack(lambda wildcards, sweep=sweep: summary_inputs(sweep)),
        output:
            summary=report(f"results/sweeps/{sweep}/summary.csv",  # fmt: skip
                           caption="../report/sweep_summary.rst", category="Sweeps",
                           subcategory=sweep, labels={"sweep": sweep, "table": "summary"}),
            plot=report(f"results/sweeps/{sweep}/summary.png",  # fmt: skip
                        caption="../report/sweep_plot.rst", category="Sweeps",
                        subcategory=sweep,
                        labels={"sweep": sweep, "figure": "figures by parameter"}),
            best=f"results/sweeps/{sweep}/best.yaml",
        params:
            stage="sweep_summary",
            code=CODE,
            sweep=sweep,
            parameters=list(config["sweeps"][sweep]),
            instances=lambda wildcards, sweep=sweep: summary_instances(sweep),
            # the folders each stage writes in a run folder: an instance links them
            links={stage: output_folders(stage) for stage in STAGES if STAGES[stage].swept},
            rank_by=config["evaluate"]["rank_by"],
            rank_method=config["evaluate"]["rank_method"],
        log:
            f"results/sweeps/{sweep}/logs/summary.log",
        conda:
            "../envs/soart.yaml"
        script:
            "../scripts/stage.py"
