"""Checks and derived values of the workflow config that a JSON schema cannot express."""

import os


class ConfigError(ValueError):
    """A config value that is well-typed but inconsistent; names the key."""

    def __init__(self, key, fault):
        super().__init__(f"config key '{key}': {fault}")


def check_config(config):
    """Cross-key checks; the schema has checked types and names already."""
    metrics = list(config["metrics"])
    for role, metric in config["roles"].items():
        if metric not in metrics:
            raise ConfigError(f"roles.{role}", f"'{metric}' is not a metric "
                                               f"(metrics: {', '.join(metrics)})")
    for metric in config.get("words") or []:
        if metric not in metrics:
            raise ConfigError("words", f"'{metric}' is not a metric "
                                       f"(metrics: {', '.join(metrics)})")
    order = config["groups"]["order"]
    counts = config["groups"]["valid_counts"]
    if len(counts) != len(order):
        raise ConfigError("groups.valid_counts", f"has {len(counts)} entries, one per "
                                                 f"group in groups.order ({len(order)})")
    baseline = config["baseline"]
    if baseline["method"] == "group_mean" and baseline["group"] not in order:
        raise ConfigError("baseline.group", f"'{baseline['group']}' is not in "
                                            f"groups.order ({', '.join(order)})")
    return config


def words(config):
    """The metrics whose validation tables are the attention's words (default: all)."""
    return list(config.get("words") or config["metrics"])


def input_paths(config):
    """{metric: {"learn": path, "valid": path}} inside data_dir."""
    return {metric: {kind: os.path.join(config["data_dir"], name)
                     for kind, name in files.items()}
            for metric, files in config["metrics"].items()}
