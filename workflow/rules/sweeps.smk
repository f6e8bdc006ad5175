# Parameter sweeps (config `sweeps:`): `snakemake --cores N sweep`, or one sweep's
# results/sweeps/{sweep}/summary.csv. Their stages run in stages.smk; here each sweep's
# instance folders get their params.yaml and links to the stage folders they share,
# and the sweep its ranked summary and plot.


localrules:
    sweep,


rule sweep:
    input:
        [f"results/sweeps/{sweep}/summary.csv" for sweep in SWEEPS],


for sweep, instances in SWEEPS.items():

    rule:
        name:
            sweep_rule(sweep, "summary")
        localrule: True
        input:
            **sweep_inputs(sweep, ["evaluate"], {"summaries": [
                f"{i.folders['evaluate']}/evaluation/summary.csv" for i in instances.values()]}),
        output:
            summary=report(f"results/sweeps/{sweep}/summary.csv",  # fmt: skip
                           caption="../report/sweep_summary.rst", category="Sweeps",
                           subcategory=sweep, labels={"sweep": sweep, "table": "summary"}),
            plot=report(f"results/sweeps/{sweep}/summary.png",  # fmt: skip
                        caption="../report/sweep_plot.rst", category="Sweeps",
                        subcategory=sweep,
                        labels={"sweep": sweep, "figure": "figures by parameter"}),
        params:
            stage="sweep_summary",
            code=code_digest("sweep_summary"),
            sweep=sweep,
            parameters=list(config["sweeps"][sweep]),
            # params.yaml: not an output, so that a new instance reruns this job by its
            # changed params (new outputs would have no provenance to compare)
            instances=[dict(name=i.name, values=i.values, folders=i.folders, config=i.config,
                            params=f"results/sweeps/{sweep}/{i.name}/params.yaml")
                       for i in instances.values()],
            rank_by=config["evaluate"]["rank_by"],
            rank_method=config["evaluate"]["rank_method"],
        log:
            f"results/sweeps/{sweep}/logs/summary.log",
        conda:
            "../envs/soart.yaml"
        script:
            "../scripts/stage.py"
