# The six stages of docs/method.md. Every rule runs soart_core.jobs.<rule name> through
# workflow/scripts/stage.py; a stage that runs per words metric handles them all in one
# job (one interpreter start instead of one per metric).


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
        **job_params(config, "normalise"),
    log:
        "results/logs/normalise.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule threshold:
    input:
        learn=rules.normalise.output.learn,
        valid=rules.normalise.output.valid,
    output:
        learn=expand("results/threshold/{metric}_learn.csv", metric=METRICS),
        valid=expand("results/threshold/{metric}_valid.csv", metric=METRICS),
    params:
        **job_params(config, "threshold"),
    log:
        "results/logs/threshold.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule weights:
    input:
        learn=rules.threshold.output.learn,
    output:
        weights=expand("results/weights/{role}.csv", role=ROLES),
    params:
        **job_params(config, "weights"),
    log:
        "results/logs/weights.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule attention:
    input:
        words=expand("results/threshold/{metric}_valid.csv", metric=WORDS),
        weights=rules.weights.output.weights,
    output:
        attention=expand("results/attention/{metric}.csv", metric=WORDS),
    params:
        **job_params(config, "attention"),
    log:
        "results/logs/attention.log",
    benchmark:
        "results/benchmarks/attention.tsv"
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule difference:
    input:
        attention=rules.attention.output.attention,
    output:
        difference=expand("results/difference/{metric}.csv", metric=WORDS),
        baseline=expand("results/difference/{metric}_baseline.csv", metric=WORDS),
    params:
        **job_params(config, "difference"),
    log:
        "results/logs/difference.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule blocks:
    input:
        difference=rules.difference.output.difference,
        judge_groups=rules.normalise.output.judge_groups,
    output:
        blocks=expand("results/blocks/{metric}.csv", metric=WORDS),
    params:
        **job_params(config, "blocks"),
    log:
        "results/logs/blocks.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"
