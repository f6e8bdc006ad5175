"""Checks and derived values of the workflow config that a JSON schema cannot express."""

import codecs
import difflib
import os
import sys

import yaml

from .errors import ConfigError, InputError, excerpt, names
from .evaluation import DETECTION_ONLY


SCHEMA = "workflow/schemas/config.schema.yaml"


def command_line(workflow):
    """(--config values, --configfile paths) of a Snakemake run, from its `workflow`
    object: the one place soart reads Snakemake beyond `config` (its ConfigSettings of
    Snakemake 9, pinned < 10 in pyproject.toml; tests/test_architecture.py fails when
    it changes)."""
    settings = workflow.config_settings
    return dict(settings.config), [str(path) for path in settings.configfiles]


FORCERUN = ("--forcerun", "-R")  # Snakemake's options naming rules or files to run again


def forced_rules(workflow, argv):
    """The rules and files a Snakemake run is told to run again (--forcerun / -R): from
    its DAG settings where it has them, else (while the Snakefile is read: Snakemake
    sets them after) from its command line `argv`."""
    settings = getattr(workflow, "dag_settings", None)
    if settings is not None:
        return set(map(str, settings.forcerun))
    forced, taking = set(), False
    for word in argv:
        if word in FORCERUN or any(word.startswith(f"{o}=") for o in FORCERUN[:1]):
            taking = True
            forced |= {word.split("=", 1)[1]} if "=" in word else set()
        elif word.startswith("-"):
            taking = False
        elif taking:
            forced.add(word)
    return forced


# libyaml's parser where PyYAML has it (its wheels do): a tenth of the pure-Python one's
# time on the schema and configs, read at every Snakemake start
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(stream):
    """yaml.safe_load, by libyaml where present."""
    return yaml.load(stream, Loader=SAFE_LOADER)  # noqa: S506 (a safe loader)


NULL_WORDS = ("", "null", "none", "~")  # what users type for null after --config key=


def nulls_from_command_line(config, overrides, schema):
    """`--config images_dir=null` hands Snakemake the text 'null', and so does a nested
    `--config 'baseline={"group":null}'` for its leaf: read the usual spellings of
    null as null for every key, top-level or nested, that may be null."""
    def walk(given, properties, path):
        for key, value in (given.items() if isinstance(given, dict) else ()):
            spec = properties.get(key, {}) if isinstance(properties, dict) else {}
            if isinstance(value, dict):
                walk(value, spec.get("properties", {}), path + [key])
            elif ("null" in _types(spec) and isinstance(value, str)
                  and value.strip().lower() in NULL_WORDS and holds(config, path + [key])):
                set_path(config, path + [key], None)

    walk(overrides, schema["properties"], [])
    return config


def _types(spec):
    types = spec.get("type", ())
    return (types,) if isinstance(types, str) else tuple(types)


def typed_overrides(config, overrides, schema):
    """`--config 'threshold={"learn":{"cutoff":0.4}}'` hands Snakemake's parser a nested
    value whose leaves it keeps as text ('0.4'): read such a leaf as YAML where the
    schema wants no text there. Top-level `key=value` pairs are typed already."""
    import jsonschema  # (0.16 s to import: not in every job, only where checked)
    validator = jsonschema.Draft202012Validator(schema)
    for _ in range(100):  # each pass fixes what the schema names; few passes suffice
        typed = 0
        for error in validator.iter_errors(config):
            for fault in [error, *error.context]:
                path = list(fault.absolute_path)
                if (fault.validator != "type" or not isinstance(fault.instance, str)
                        or len(path) < 2 or not holds(overrides, path)):
                    continue
                try:
                    value = load_yaml(fault.instance)
                except yaml.YAMLError:
                    continue
                if not isinstance(value, str):
                    set_path(config, path, value)
                    typed += 1
        if not typed:
            break
    # a sweep's values, lists of anything to the schema: each as YAML
    for sweep, grid in (overrides.get("sweeps") or {}).items():
        for path, values in (grid.items() if isinstance(grid, dict) else ()):
            if isinstance(values, list):
                config["sweeps"][sweep][path] = [_yaml_value(v) for v in values]
    return config


def _yaml_value(text):
    if not isinstance(text, str):
        return text
    try:
        return load_yaml(text)
    except yaml.YAMLError:
        return text


# ---- config paths: the one way to walk them ---------------------------------------------
def key_path(path):
    """A config path as a list of keys: from its dotted text (`threshold.learn.cutoff`)
    or a list of keys (list positions may be ints)."""
    return path.split(".") if isinstance(path, str) else list(path)


def _step(node, part):
    return node[int(part)] if isinstance(node, list) else node[part]


def get_path(config, path):
    """The value at `path` (key_path) of a config mapping."""
    for part in key_path(path):
        config = _step(config, part)
    return config


def set_path(config, path, value, create=False):
    """Set the value at `path` (key_path); `create`: make the mappings on the way."""
    *parents, last = key_path(path)
    for part in parents:
        config = config.setdefault(part, {}) if create else _step(config, part)
    config[int(last) if isinstance(config, list) else last] = value


def holds(config, path):
    """Whether a config mapping holds a value at `path` (key_path)."""
    try:
        get_path(config, path)
    except (KeyError, IndexError, TypeError, ValueError):
        return False
    return True


# Mappings keyed by the user's own names: a configfile (or --config) that gives one
# replaces config.yaml's whole, instead of Snakemake's key-by-key merge, which would
# keep config.yaml's metric Y3 or its example sweep in a config that left them out.
REPLACED = ("metrics", "images.kinds", "sweeps")


def replaced_mappings(config, overrides, configfiles):
    """Set each REPLACED mapping to the one of the last source that gives it
    (`configfiles`: their data in order, then --config); returns the keys replaced."""
    sources = [data or {} for data in configfiles] + [overrides]
    replaced = []
    for key in REPLACED:
        given = [source for source in sources if holds(source, key)]
        if not given:
            continue
        value = get_path(given[-1], key)
        if get_path(config, key) != value:
            set_path(config, key, value)
            replaced.append(key)
    return replaced


def source_of(path, overrides, configfiles):
    """Where the config value at `path` (a list of keys) came from, for messages."""
    if holds(overrides, path):
        return "--config"
    for configfile in reversed(list(configfiles)):
        with open(configfile, encoding="utf-8") as stream:
            if holds(load_yaml(stream) or {}, path):
                return os.path.basename(str(configfile))
    return "config.yaml"


def _message(error):
    """jsonschema's message with the value it quotes (its repr) cut to an excerpt: a
    10 MB config value is not echoed whole."""
    shown = repr(error.instance)
    if len(shown) <= 60 or shown not in error.message:
        return error.message
    return error.message.replace(shown, excerpt(shown, 60))


def check_configfiles(paths):
    """Read each configfile (config.yaml, every --configfile) once more, strictly, for
    what Snakemake's loader lets pass: a key given twice in one mapping (the later wins
    without a word) and a tag that is no plain data (`!!python/name:...`). Either is an
    InputError naming the file, the line and the key or tag. Returns {path: its data}
    (None where Snakemake, not soart, is to judge the file)."""
    loaded = {}
    for path in paths:
        loaded[path] = None
        try:
            with open(path, encoding="utf-8") as stream:
                loader = _strict_loader()(stream)
                loader.path = str(path)
                try:
                    loaded[path] = loader.get_single_data()
                finally:
                    loader.dispose()
        except yaml.constructor.ConstructorError as err:
            mark = err.problem_mark
            raise InputError(path, f"{excerpt(err.problem, 120)}: a soart config holds "
                                   f"plain YAML data only (read with yaml.safe_load)",
                             line=mark.line + 1 if mark else None) from None
        except (OSError, yaml.YAMLError):  # not ours to judge: Snakemake read it
            continue
    return loaded


def _strict_loader():
    class StrictLoader(SAFE_LOADER):
        """yaml.safe_load's loader that refuses a key given twice in a mapping."""
        path = "configfile"

        def construct_mapping(self, node, deep=False):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or \
                        not isinstance(key_node, yaml.ScalarNode):
                    continue  # `<<` merges, which may override; complex keys: safe_load
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise InputError(self.path, f"key '{excerpt(key)}' is given twice "
                                                f"(also on line {seen[key]}); YAML keeps "
                                                f"the later one without a word: keep one",
                                     line=line)
                seen[key] = line
            return super().construct_mapping(node, deep)

    return StrictLoader


def load_schema(basedir):
    with open(os.path.join(basedir, SCHEMA), encoding="utf-8") as stream:
        return load_yaml(stream)


# The schema's patterns for names, in words (its regular expressions mean nothing to
# a person naming a group)
NAME_RULES = {
    "^[\\w.-]+$": "is not a name soart takes: use letters (of any script), digits, "
                   "'_', '.' and '-' only, no space or other mark (as '不良_A' or 'ERROR-A')",
    "^[A-Za-z0-9.-][A-Za-z0-9_.-]*$": "is not a sweep name soart takes: use Latin letters, "
                                       "digits, '_', '.' and '-' only, not starting with '_'",
}


def check_schema(config, schema, overrides=None, configfiles=(), source=None):
    """The config against the JSON schema; the first fault as a ConfigError of a few
    words: the key, where it came from (`source`, or found in the overrides and
    configfiles), and for a misspelt key the nearest valid one."""
    import jsonschema  # (0.16 s to import: not in every job, only where checked)

    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return config
    path = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        path, fault = path + [excerpt(extra[0])], "not a soart setting"
        near = difflib.get_close_matches(extra[0], allowed, n=1, cutoff=0.6)
        fault += f"; did you mean '{near[0]}'?" if near else \
            f" (settings here: {', '.join(allowed)})"
    elif error.validator == "pattern" and error.validator_value in NAME_RULES:
        fault = f"'{excerpt(error.instance)}' {NAME_RULES[error.validator_value]}"
    elif error.validator == "oneOf":  # say what each alternative wanted
        fault = "; or ".join(dict.fromkeys(_message(e) for e in error.context)) or \
            _message(error)
    else:
        fault = _message(error)
    source = source or source_of(path, overrides or {}, configfiles)
    raise ConfigError(".".join(path) or "(top level)", f"{fault} (from {source})")


def prepare_config(config, basedir, overrides, configfiles, set_defaults):
    """Everything the Snakefile does with the config before any rule: nulls typed on
    the command line, the schema (`set_defaults` fills its defaults), the cross-key
    checks, and images or tables. Raises ConfigError; prints a note where it chose."""
    loaded = check_configfiles([os.path.join(basedir, "config.yaml"), *configfiles])
    schema = load_schema(basedir)
    with open(os.path.join(basedir, "config.yaml"), encoding="utf-8") as stream:
        shipped = load_yaml(stream)
    nulls_from_command_line(config, overrides, schema)
    replaced_mappings(config, overrides, [loaded[f] for f in configfiles])
    typed_overrides(config, overrides, schema)
    check_schema(config, schema, overrides, configfiles)
    set_defaults(config)
    check_config(config)
    note = choose_input(config, shipped)
    if note:
        print(note, file=sys.stderr)
    for key in ("images_dir", "data_dir"):  # soart's own example, from any folder
        if config.get(key) and config[key] == shipped[key] and not os.path.exists(
                config[key]) and os.path.exists(os.path.join(basedir, config[key])):
            config[key] = os.path.join(basedir, config[key])
    if not config.get("images_dir"):
        check_input_tables(config)
    return config


def check_input_tables(config):
    """Tables mode: every metric table the config names exists. Checked while planning,
    as Snakemake, with the normalise outputs of an earlier run in place, would not run
    normalise for a missing input and silently keep the earlier run's tables."""
    data_dir = config["data_dir"]
    if not os.path.isdir(data_dir):
        raise ConfigError("data_dir", f"'{excerpt(data_dir, 200)}' is not a folder (the "
                                      f"metric tables are read from it when images_dir "
                                      f"is null)")
    for metric, kinds in input_paths(config).items():
        for kind, path in kinds.items():
            if os.path.isfile(path):
                continue
            if os.path.isdir(path):
                fault = "is a folder, not a table"
            elif os.path.lexists(path):
                fault = "is a link to nothing (or not a file)"
            else:
                there = sorted(n for n in os.listdir(data_dir)
                               if n.lower().endswith((".csv", ".tsv", ".txt")))
                fault = (f"not found (data_dir + this file name); tables in data_dir: "
                         f"{names(there) or 'none'}; name yours in the config's metrics "
                         f"mapping (README: Your own tables)")
            raise ConfigError(f"metrics.{metric}.{kind}", f"table '{excerpt(path, 200)}' "
                                                          f"{fault}")


CONFIG_IN_FORCE = "results/config.yaml"


def config_in_force(config, configfiles, overrides):
    """The config a run used, every default filled in, as YAML text for
    results/config.yaml, headed by where it came from."""
    sources = ["config.yaml", *(str(f) for f in configfiles)]
    if overrides:
        sources.append("--config " + excerpt(" ".join(f"{k}={v}" for k, v in
                                                       overrides.items()), 400))
    return (f"# The config in force for the last run in this folder, from: "
            f"{'; '.join(sources)}\n"
            f"# ({', '.join(REPLACED)}: a configfile's own replaces config.yaml's whole)\n"
            + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


def check_config(config):
    """Cross-key checks; the schema has checked types and names already."""
    metrics = list(config["metrics"])
    patches = config.get("patches") or {}
    for scale in patches.get("scales", []):
        if patches["stride"] % scale:
            raise ConfigError("patches.scales", f"scale {scale} does not divide "
                                                f"patches.stride ({patches['stride']}): "
                                                f"every scale's locations must fall on "
                                                f"its pixels")
    for role, metric in config["roles"].items():
        if metric not in metrics:
            raise ConfigError(f"roles.{role}", f"'{excerpt(metric)}' is not a metric "
                                               f"(metrics: {', '.join(metrics)})")
    for metric in config.get("words") or []:
        if metric not in metrics:
            raise ConfigError("words", f"'{excerpt(metric)}' is not a metric "
                                       f"(metrics: {', '.join(metrics)})")
    order = config["groups"]["order"]
    try:
        codecs.lookup(config["encoding"])
    except LookupError:
        raise ConfigError("encoding", f"'{excerpt(config['encoding'])}' is not a text "
                                      f"encoding Python knows (utf-8-sig, cp932, latin-1, "
                                      f"...)") from None
    if config.get("images_dir"):
        kinds = config["images"]["kinds"]
        for metric in metrics:
            if metric not in kinds:
                raise ConfigError("images.kinds", f"metric '{metric}' has no kind (beta, "
                                                  f"eta or gamma) to compute from images")
    check_file_names(config["metrics"], images=bool(config.get("images_dir")))
    rank_by, method = config["evaluate"]["rank_by"], config["evaluate"]["rank_method"]
    fits = ("roc_auc", "detection_rate") if method in DETECTION_ONLY else (
        "accuracy", "balanced_accuracy", "roc_auc", "detection_rate")
    if rank_by not in fits + ("block_contrast",):
        raise ConfigError("evaluate.rank_by", f"'{rank_by}' is not a figure of "
                                              f"evaluate.rank_method '{method}' (its "
                                              f"figures: {', '.join(fits)}, block_contrast)")
    for key, group in (("baseline.group", config["baseline"]["group"]),
                       ("images.reference_group", config["images"]["reference_group"])):
        if group is not None and group not in order:
            raise ConfigError(key, f"'{excerpt(group)}' is not in groups.order "
                                   f"({', '.join(order)})")
    return config


def check_file_names(metrics, images=True):
    """From images, the metrics stage writes each metric's tables as
    results/metrics/<name>: a name from config is a file name, not a path, so that no
    output leaves results/. (From tables, the names are read in data_dir, where
    sub-folders are fine: nothing is written there.) Every name is another table's."""
    for metric, files in (metrics.items() if images else ()):
        for kind, name in files.items():
            if name in ("", ".", "..") or any(c in name for c in "/\\\0"):
                raise ConfigError(f"metrics.{metric}.{kind}", f"'{excerpt(name)}' is not a "
                                  f"file name: computed from images (images_dir set), "
                                  f"the table is written as {METRICS_DIR}/<name>, so the "
                                  f"name may hold no '/' or '\\' and not be '..'")
    seen = {}
    for metric, files in metrics.items():
        for kind, name in files.items():
            key = os.path.normpath(name)
            if key in seen:  # one table would be read (or written) for two
                raise ConfigError(f"metrics.{metric}.{kind}", f"'{excerpt(name)}' names "
                                  f"the same table as metrics.{seen[key]}; every metric "
                                  f"needs its own learn and valid tables")
            seen[key] = f"{metric}.{kind}"


def choose_input(config, shipped):
    """Images or tables: a user who points `data_dir` at their tables but leaves
    `images_dir` at the shipped example images means the tables. Returns a note to
    print (or None); both pointing at the user's data is an error."""
    images_dir, data_dir = config.get("images_dir"), config["data_dir"]
    if not images_dir or data_dir == shipped["data_dir"]:
        return None
    if images_dir == shipped["images_dir"]:
        config["images_dir"] = None
        return (f"soart: reading the metric tables in data_dir={excerpt(data_dir, 200)} "
                f"(images_dir, the bundled example images, is not used)")
    raise ConfigError("images_dir", f"both images_dir ({excerpt(images_dir, 100)}) and "
                                    f"data_dir ({excerpt(data_dir, 100)}) point at your "
                                    f"data; set images_dir=null "
                                    f"to read the tables in data_dir, or leave data_dir out "
                                    f"to compute them from the images")


def reference_group(config):
    """The reference (normal) group: the first of groups.order."""
    return config["groups"]["order"][0]


def baseline_group(config):
    return config["baseline"]["group"] or reference_group(config)


def block_tolerance(config):
    """`blocks.tolerance`, with auto: one unit of the attention's last kept decimal."""
    tolerance = config["blocks"]["tolerance"]
    if tolerance != "auto":
        return float(tolerance)
    decimals = config["attention"]["decimals"]
    return 0.0 if decimals is None else 10.0 ** -decimals


def words(config):
    """The metrics whose validation tables are the attention's words (default: all)."""
    return list(config.get("words") or config["metrics"])


METRICS_DIR = "results/metrics"


def input_paths(config, root=None):
    """{metric: {"learn": path, "valid": path}}: in results/metrics/ when the tables come
    from images (the metrics stage writes them there; `root`: another run folder's
    metrics/, a sweep's), else in data_dir."""
    folder = ((METRICS_DIR if root is None else os.path.join(root, "metrics"))
              if config.get("images_dir") else config["data_dir"])
    return {metric: {kind: os.path.join(folder, name) for kind, name in files.items()}
            for metric, files in config["metrics"].items()}
