# Names derived from the config, shared by the rule files.
from soart_core.settings import input_paths, words

METRICS = list(config["metrics"])
WORDS = words(config)
ROLES = ["query", "key", "value"]
INPUTS = input_paths(config)


wildcard_constraints:
    metric="|".join(METRICS),

