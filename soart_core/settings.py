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
    if config.get("images_dir"):
        kinds = config["images"]["kinds"]
        for metric in metrics:
            if metric not in kinds:
                raise ConfigError("images.kinds", f"metric '{metric}' has no kind (beta, "
                                                  f"eta or gamma) to compute from images")
    baseline = config["baseline"]
    if baseline["method"] == "group_mean" and baseline["group"] not in order:
        raise ConfigError("baseline.group", f"'{baseline['group']}' is not in "
                                            f"groups.order ({', '.join(order)})")
    return config


def words(config):
    """The metrics whose validation tables are the attention's words (default: all)."""
    return list(config.get("words") or config["metrics"])


METRICS_DIR = "results/metrics"


def input_paths(config):
    """{metric: {"learn": path, "valid": path}}: in results/metrics/ when the tables come
    from images (the metrics stage writes them there), else in data_dir."""
    folder = METRICS_DIR if config.get("images_dir") else config["data_dir"]
    return {metric: {kind: os.path.join(folder, name) for kind, name in files.items()}
            for metric, files in config["metrics"].items()}


def job_params(config, job):
    """The tunables job `job` reads: what its rule passes as `params:` (so Snakemake
    reruns a job exactly when one of them changes). One mapping for the plain rules
    and the sweep levels."""
    metrics = list(config["metrics"])
    return {
        "metrics": lambda: dict(metrics=metrics,
                                group_column=config["groups"]["column"],
                                kinds=config["images"]["kinds"],
                                grayscale=config["images"]["grayscale"],
                                grid=config["images"]["grid"], crop=config["images"]["crop"],
                                sn_ratio=config["images"]["sn_ratio"],
                                sn_max_db=config["images"]["sn_max_db"],
                                reference_group=config["images"]["reference_group"]),
        "normalise": lambda: dict(metrics=metrics, features=config["features"],
                                  groups=config["groups"], id_column=config["id_column"],
                                  encoding=config["encoding"],
                                  scale=config["normalise"]["scale"]),
        "threshold": lambda: dict(learn=config["threshold"]["learn"],
                                  valid=config["threshold"]["valid"]),
        "weights": lambda: dict(metrics=metrics, roles=config["roles"]),
        "attention": lambda: dict(decimals=config["attention"]["decimals"],
                                  chunk_rows=config["attention"]["chunk_rows"],
                                  dtype=config["attention"]["dtype"]),
        "difference": lambda: dict(method=config["baseline"]["method"],
                                   group=config["baseline"]["group"]),
        "blocks": lambda: dict(order=config["groups"]["order"],
                               tolerance=config["blocks"]["tolerance"]),
        "evaluate": lambda: dict(words=words(config), order=config["groups"]["order"],
                                 reference=config["baseline"]["group"],
                                 max_loo_items=config["evaluate"]["max_loo_items"]),
        "figures": lambda: dict(words=words(config), order=config["groups"]["order"]),
    }[job]()


# the jobs whose tunables each sweep level's job reads
LEVEL_JOBS = {
    "normalise": ("normalise",),
    "threshold": ("normalise", "threshold"),
    "classic": ("normalise", "threshold", "evaluate"),
    "attention": ("normalise", "weights", "attention", "evaluate"),
    "instance": ("normalise", "difference", "blocks", "evaluate"),
}


def level_params(config, level):
    """All tunables of a sweep level's job, as one dict."""
    merged = {}
    for job in LEVEL_JOBS[level]:
        merged.update(job_params(config, job))
    return merged
