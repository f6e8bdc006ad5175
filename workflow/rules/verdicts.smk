# Inspect: a verdict for every item, labeled or not (soart_core/verdicts.py).


rule verdicts:
    input:
        difference=rules.difference.output.difference,
        judge_groups=rules.normalise.output.judge_groups,
    output:
        verdicts=reported("results/verdicts/{metric}.csv", "verdicts", "Verdicts",
                          "by metric", table="verdicts"),
        thresholds="results/verdicts/thresholds.csv",
        summary=report("results/verdicts/summary.csv",
                       caption="../report/verdicts_summary.rst", category="Verdicts",
                       subcategory="summary", labels={"table": "verdicts, all metrics"}),
    params:
        **job_params(config, "verdicts"),
    log:
        "results/logs/verdicts.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"
