"""Stage 4: the attention of one words metric's items over the judges."""
from soart_core.pipeline import ROLES, attend
from soart_core.script import run_stage
from soart_core.tables import read_table, write_table


def main(sm=snakemake):  # noqa: F821 (injected by Snakemake)
    weights = {role: read_table(path, "feature")
               for role, path in zip(ROLES, sm.input.weights)}
    out = attend(read_table(sm.input.words, "item"), weights, decimals=sm.params.decimals,
                 chunk_rows=sm.params.chunk_rows, dtype=sm.params.dtype)
    write_table(out, "item", sm.output.attention, decimals=sm.params.decimals)


run_stage(snakemake, main)  # noqa: F821
