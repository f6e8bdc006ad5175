# Parameter sweeps (config `sweeps:`): `snakemake --cores N sweep`. Every instance gets
# results/sweeps/{sweep}/{instance}/ in the plain layout; the stages it shares with
# other instances (normalise; threshold; the classic baselines; weights with attention)
# run once per distinct setting under results/sweeps/{sweep}/_shared/.
wildcard_constraints:
    sweep="|".join(re.escape(s) for s in SWEEPS) or "(?!)",
    key="[^/]+",
    instance="|".join(re.escape(n) for s in SWEEPS.values() for n in s) or "(?!)",


localrules:
    sweep,
    sweep_summary,


rule sweep:
    input:
        [f"results/sweeps/{sweep}/summary.csv" for sweep in SWEEPS],


rule sweep_normalise:
    input:
        learn=lambda w: [
            p["learn"] for p in input_paths(level_config(SWEEPS, w.sweep, "normalise", w.key)).values()
        ],
        valid=lambda w: [
            p["valid"] for p in input_paths(level_config(SWEEPS, w.sweep, "normalise", w.key)).values()
        ],
    output:
        folder=directory("results/sweeps/{sweep}/_shared/normalise/{key}"),
    params:
        settings=lambda w: level_params(level_config(SWEEPS, w.sweep, "normalise", w.key), "normalise"),
    log:
        "results/sweeps/{sweep}/_shared/logs/normalise/{key}.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule sweep_threshold:
    input:
        normalise=upstream("threshold", "normalise"),
    output:
        folder=directory("results/sweeps/{sweep}/_shared/threshold/{key}"),
    params:
        settings=lambda w: level_params(level_config(SWEEPS, w.sweep, "threshold", w.key), "threshold"),
    log:
        "results/sweeps/{sweep}/_shared/logs/threshold/{key}.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule sweep_classic:
    input:
        normalise=upstream("classic", "normalise"),
    output:
        folder=directory("results/sweeps/{sweep}/_shared/classic/{key}"),
    params:
        settings=lambda w: level_params(level_config(SWEEPS, w.sweep, "classic", w.key), "classic"),
    log:
        "results/sweeps/{sweep}/_shared/logs/classic/{key}.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule sweep_attention:
    input:
        threshold=upstream("attention", "threshold"),
    output:
        folder=directory("results/sweeps/{sweep}/_shared/attention/{key}"),
    params:
        settings=lambda w: level_params(level_config(SWEEPS, w.sweep, "attention", w.key), "attention"),
    log:
        "results/sweeps/{sweep}/_shared/logs/attention/{key}.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule sweep_instance:
    input:
        normalise=lambda w: shared_folder("normalise", w.sweep, instance_of(w).keys["normalise"]),
        threshold=lambda w: shared_folder("threshold", w.sweep, instance_of(w).keys["threshold"]),
        classic=lambda w: shared_folder("classic", w.sweep, instance_of(w).keys["classic"]),
        attention=lambda w: shared_folder("attention", w.sweep, instance_of(w).keys["attention"]),
    output:
        folder=directory("results/sweeps/{sweep}/{instance}"),
    params:
        settings=lambda w: {
            **level_params(instance_of(w).config, "instance"),
            "sweep": w.sweep,
            "instance": w.instance,
            "values": instance_of(w).values,
            "config": instance_of(w).config,
        },
    log:
        "results/sweeps/{sweep}/_shared/logs/instances/{instance}.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule sweep_summary:
    input:
        instances=lambda w: [f"results/sweeps/{w.sweep}/{name}" for name in SWEEPS[w.sweep]],
    output:
        summary=report(
            "results/sweeps/{sweep}/summary.csv",
            caption="../report/sweep_summary.rst",
            category="Sweeps",
            subcategory="{sweep}",
            labels={"sweep": "{sweep}", "table": "summary"},
        ),
        plot=report(
            "results/sweeps/{sweep}/summary.png",
            caption="../report/sweep_plot.rst",
            category="Sweeps",
            subcategory="{sweep}",
            labels={"sweep": "{sweep}", "figure": "figures by parameter"},
        ),
    params:
        settings=lambda w: {
            "instances": list(SWEEPS[w.sweep]),
            "values": [i.values for i in SWEEPS[w.sweep].values()],
            "parameters": list(config["sweeps"][w.sweep]),
            "rank_by": config["evaluate"]["rank_by"],
            "rank_method": config["evaluate"]["rank_method"],
        },
    log:
        "results/sweeps/{sweep}/summary.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"
