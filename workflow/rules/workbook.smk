# The results as one Excel workbook, ruled by group as the seed's authors read theirs
# (soart_core/workbook.py).


rule workbook:
    input:
        attention=rules.attention.output.attention,
        difference=rules.difference.output.difference,
        blocks=rules.blocks.output.blocks,
        summary=rules.evaluate.output.summary,
        judge_groups=rules.normalise.output.judge_groups,
        verdicts=rules.verdicts.output.verdicts,
    output:
        workbook=report("results/workbook.xlsx", caption="../report/workbook.rst",
                        category="Workbook", labels={"file": "workbook.xlsx"}),
    params:
        **job_params(config, "workbook"),
    log:
        "results/logs/workbook.log",
    conda:
        "../envs/soart.yaml"
    script:
        "../scripts/stage.py"
