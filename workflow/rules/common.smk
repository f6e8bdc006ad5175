# Names derived from the config, shared by the rule files.
import re

from soart_core.settings import check_config, input_paths, job_params, level_params, words
from soart_core.errors import one_line_errors
from soart_core.layout import FIGURES, ROLES
from soart_core.sweep import level_config, plan

METRICS = list(config["metrics"])
WORDS = words(config)

INPUTS = input_paths(config)


# ---- report entries ----
def reported(pattern, caption, category, subcategory, **labels):
    """One report() entry per words metric, grouped in the HTML report by stage/metric."""
    # (a line may not start with `report(`: Snakemake reads that as its keyword)
    entries = [
        (pattern.format(metric=m), {"metric": m, **labels}) for m in WORDS
    ]
    caption = f"../report/{caption}.rst"
    return [report(path, caption, category, subcategory, labels=labels)  # fmt: skip
            for path, labels in entries]


# ---- sweeps (workflow/rules/sweeps.smk) ----
def check_instance(instance_config):
    validate(instance_config, "../schemas/config.schema.yaml")
    check_config(instance_config)


with one_line_errors():
    SWEEPS = plan(config, check_instance)


def shared_folder(level, sweep, key):
    return f"results/sweeps/{sweep}/_shared/{level}/{key}"


def instance_of(w):
    return SWEEPS[w.sweep][w.instance]


def upstream(level, above):
    """Input function: the shared folder of level `above` that `level`'s key reads."""

    def folder(w):
        instances = SWEEPS[w.sweep].values()
        key = next(i.keys[above] for i in instances if i.keys[level] == w.key)
        return shared_folder(above, w.sweep, key)

    return folder
