# Names derived from the config, shared by the rule files.
from soart_core.settings import input_paths, job_params, words

METRICS = list(config["metrics"])
WORDS = words(config)
ROLES = ["query", "key", "value"]
INPUTS = input_paths(config)


