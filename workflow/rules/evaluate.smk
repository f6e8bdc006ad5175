# Does it discriminate? Evaluation figures and pictures of every words metric.


rule evaluate:
    input:
        attention=rules.attention.output.attention,
        difference=rules.difference.output.difference,
        blocks=rules.blocks.output.blocks,
        verdicts=rules.verdicts.output.verdicts,
        words=expand("results/threshold/{metric}_valid.csv", metric=WORDS),
    output:
        evaluation=reported("results/evaluation/{metric}.csv", "evaluation",
                            "Evaluation", "by metric", table="figures"),
        confusion=reported("results/evaluation/{metric}_confusion.csv", "confusion",
                           "Evaluation", "by metric", table="confusion"),
        summary=report("results/evaluation/summary.csv", caption="../report/summary.rst",
                       category="Evaluation", subcategory="summary",
                       labels={"table": "summary"}),
    params:
        **job_params(config, "evaluate"),
    log:
        "results/logs/evaluate.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"


rule figures:
    input:
        attention=rules.attention.output.attention,
        difference=rules.difference.output.difference,
        blocks=rules.blocks.output.blocks,
        verdicts=rules.verdicts.output.verdicts,
        thresholds=rules.verdicts.output.thresholds,
        judge_groups=rules.normalise.output.judge_groups,
    output:
        attention=reported("results/figures/{metric}_attention.png", "attention",
                           "Attention", "heatmaps", figure="attention"),
        difference=reported("results/figures/{metric}_difference.png", "difference",
                            "Baseline difference", "heatmaps", figure="difference"),
        blocks=reported("results/figures/{metric}_blocks.png", "blocks",
                        "Blocks", "sign scores", figure="blocks"),
        verdicts=reported("results/figures/{metric}_verdicts.png", "verdicts_figure",
                          "Verdicts", "distances", figure="verdicts"),
    params:
        **job_params(config, "figures"),
    log:
        "results/logs/figures.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"
