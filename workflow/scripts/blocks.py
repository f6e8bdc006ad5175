"""Stage 6: sign agreement per (item group, judge group) block of the difference."""
import pandas as pd

from soart_core.pipeline import score_blocks
from soart_core.script import run_stage
from soart_core.tables import read_table, write_csv


def main(sm=snakemake):  # noqa: F821 (injected by Snakemake)
    judges = pd.read_csv(sm.input.judges, dtype=str, keep_default_na=False)
    blocks = score_blocks(read_table(sm.input.difference, "item"), judges["group"].tolist(),
                          sm.params.order, sm.params.tolerance)
    write_csv(blocks, sm.output.blocks)


run_stage(snakemake, main)  # noqa: F821
