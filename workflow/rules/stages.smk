# The six stages of SPEC.md; each script calls one soart_core.pipeline function.


rule normalise:
    input:
        learn=[INPUTS[m]["learn"] for m in METRICS],
        valid=[INPUTS[m]["valid"] for m in METRICS],
    output:
        learn=expand("results/normalise/{metric}_learn.csv", metric=METRICS),
        valid=expand("results/normalise/{metric}_valid.csv", metric=METRICS),
        range="results/normalise/range.csv",
        judge_groups="results/normalise/judges.csv",
        item_groups="results/normalise/items.csv",
    params:
        metrics=METRICS,
        features=config["features"],
        groups=config["groups"],
        id_column=config["id_column"],
        encoding=config["encoding"],
        scale=config["normalise"]["scale"],
    log:
        "results/logs/normalise.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/normalise.py"


rule threshold:
    input:
        learn=rules.normalise.output.learn,
        valid=rules.normalise.output.valid,
    output:
        learn=expand("results/threshold/{metric}_learn.csv", metric=METRICS),
        valid=expand("results/threshold/{metric}_valid.csv", metric=METRICS),
    params:
        learn=config["threshold"]["learn"],
        valid=config["threshold"]["valid"],
    log:
        "results/logs/threshold.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/threshold.py"


rule weights:
    input:
        learn=rules.threshold.output.learn,
    output:
        weights=expand("results/weights/{role}.csv", role=ROLES),
    params:
        metrics=METRICS,
        roles=config["roles"],
    log:
        "results/logs/weights.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/weights.py"


rule attention:
    input:
        words="results/threshold/{metric}_valid.csv",
        weights=rules.weights.output.weights,
    output:
        attention="results/attention/{metric}.csv",
    params:
        decimals=config["attention"]["decimals"],
        chunk_rows=config["attention"]["chunk_rows"],
        dtype=config["attention"]["dtype"],
    log:
        "results/logs/attention/{metric}.log",
    benchmark:
        "results/benchmarks/attention/{metric}.tsv"
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/attention.py"


rule difference:
    input:
        attention=rules.attention.output.attention,
    output:
        difference="results/difference/{metric}.csv",
        baseline="results/difference/{metric}_baseline.csv",
    params:
        method=config["baseline"]["method"],
        group=config["baseline"]["group"],
    log:
        "results/logs/difference/{metric}.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/difference.py"


rule blocks:
    input:
        difference=rules.difference.output.difference,
        judges=rules.normalise.output.judge_groups,
    output:
        blocks="results/blocks/{metric}.csv",
    params:
        order=config["groups"]["order"],
        tolerance=config["blocks"]["tolerance"],
    log:
        "results/logs/blocks/{metric}.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/blocks.py"
