"""Stage 2: x < cutoff -> 0, else x ** power, learning and validation tables apart."""
from soart_core.pipeline import threshold_table
from soart_core.script import run_stage
from soart_core.tables import read_table, write_table


def main(sm=snakemake):  # noqa: F821 (injected by Snakemake)
    jobs = [(src, dst, "judge", sm.params.learn, "threshold.learn")
            for src, dst in zip(sm.input.learn, sm.output.learn)]
    jobs += [(src, dst, "item", sm.params.valid, "threshold.valid")
             for src, dst in zip(sm.input.valid, sm.output.valid)]
    done = [(threshold_table(read_table(src, key), s["cutoff"], s["power"], setting),
             key, dst) for src, dst, key, s, setting in jobs]  # all checked before any write
    for table, key, dst in done:
        write_table(table, key, dst)


run_stage(snakemake, main)  # noqa: F821
