"""Stage 5: subtract the per-judge baseline row from the attention."""
import pandas as pd

from soart_core.pipeline import baseline_difference
from soart_core.script import run_stage
from soart_core.tables import read_table, write_csv, write_table


def main(sm=snakemake):  # noqa: F821 (injected by Snakemake)
    attention = read_table(sm.input.attention, "item")
    diff, base = baseline_difference(attention, sm.params.method, sm.params.group)
    write_table(diff, "item", sm.output.difference)
    write_csv(pd.DataFrame({"judge": diff.columns, "baseline": base}), sm.output.baseline)


run_stage(snakemake, main)  # noqa: F821
