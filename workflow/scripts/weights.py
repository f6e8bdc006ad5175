"""Stage 3: W_Q, W_K, W_V (features x judges) from the role metrics' learning tables."""
from soart_core.pipeline import ROLES, build_weights
from soart_core.script import run_stage
from soart_core.tables import read_table, write_table


def main(sm=snakemake):  # noqa: F821 (injected by Snakemake)
    learn = {m: read_table(path, "judge") for m, path in zip(sm.params.metrics, sm.input.learn)}
    weights = build_weights(learn, sm.params.roles)
    for role, path in zip(ROLES, sm.output.weights):
        write_table(weights[role], "feature", path)


run_stage(snakemake, main)  # noqa: F821
