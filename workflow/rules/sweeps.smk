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
                    code=job_code(SOART, stage),
                    reuse=True,
                    runs=lambda wildcards, sweep=sweep, stage=stage, part=part:
                    sweep_job(sweep, stage, part),
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
            code=job_code(SOART, "sweep_summary"),
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
