# Parameter sweeps (config `sweeps:`): `snakemake --cores N sweep`. The stages ran in
# stages.smk; here every instance folder gets its params.yaml and links to the stage
# folders it shares, and every sweep its ranked summary and plot.


localrules:
    sweep,


rule sweep:
    input:
        [f"results/sweeps/{sweep}/summary.csv" for sweep in SWEEPS],


if SWEEPS:

    rule sweep_summary:
        input:
            summaries=[f"{i.folders['evaluate']}/evaluation/summary.csv"
                       for instances in SWEEPS.values() for i in instances.values()],
        output:
            summaries=[
                report(f"results/sweeps/{sweep}/summary.csv",  # fmt: skip
                       caption="../report/sweep_summary.rst", category="Sweeps",
                       subcategory=sweep, labels={"sweep": sweep, "table": "summary"})
                for sweep in SWEEPS
            ],
            plots=[
                report(f"results/sweeps/{sweep}/summary.png",  # fmt: skip
                       caption="../report/sweep_plot.rst", category="Sweeps",
                       subcategory=sweep,
                       labels={"sweep": sweep, "figure": "figures by parameter"})
                for sweep in SWEEPS
            ],
            params=[f"results/sweeps/{s}/{name}/params.yaml"
                    for s, instances in SWEEPS.items() for name in instances],
        params:
            sweeps=[dict(name=sweep, parameters=list(config["sweeps"][sweep]),
                         instances=[dict(name=i.name, values=i.values, folders=i.folders,
                                         config=i.config) for i in instances.values()])
                    for sweep, instances in SWEEPS.items()],
            rank_by=config["evaluate"]["rank_by"],
            rank_method=config["evaluate"]["rank_method"],
        log:
            "results/logs/sweep_summary.log",
        conda:
            "../envs/soart.yaml"
        script:
            "../scripts/stage.py"
