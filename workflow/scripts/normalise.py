"""Stage 1: read and check every input table, scale each metric by its learning lo/hi."""
import pandas as pd

from soart_core.pipeline import load_inputs, normalise_pair
from soart_core.script import run_stage
from soart_core.tables import write_csv, write_table


def main(sm=snakemake):  # noqa: F821 (injected by Snakemake)
    p = sm.params
    files = {m: {"learn": learn, "valid": valid}
             for m, learn, valid in zip(p.metrics, sm.input.learn, sm.input.valid)}
    tables = load_inputs(files, p.features, group_column=p.groups["column"],
                         order=p.groups["order"], valid_counts=p.groups["valid_counts"],
                         id_column=p.id_column, encoding=p.encoding)
    normalised = {m: normalise_pair(learn, valid, p.scale)
                  for m, (learn, valid) in tables.items()}  # all checked before any write
    for m, learn_out, valid_out in zip(p.metrics, sm.output.learn, sm.output.valid):
        learn, valid, _, _ = normalised[m]
        write_table(learn, "judge", learn_out)
        write_table(valid, "item", valid_out)
    write_csv(pd.DataFrame([(m, n[2], n[3], p.scale) for m, n in normalised.items()],
                           columns=["metric", "lo", "hi", "scale"]), sm.output.range)
    learn, valid, _, _ = normalised[p.metrics[0]]
    write_csv(pd.DataFrame({"judge": learn.names, "group": learn.groups}), sm.output.judge_groups)
    write_csv(pd.DataFrame({"item": valid.names, "group": valid.groups}), sm.output.item_groups)


run_stage(snakemake, main)  # noqa: F821
