"""docs/configuration.md is generated from one source (the schema's descriptions and
config.yaml's values) and documents every key."""

import subprocess
import sys

import yaml

from conftest import ENV, ROOT
from soart_core import configdoc
from soart_core.settings import SCHEMA


def config_keys(node, prefix=""):
    for key, value in node.items():
        yield prefix + key
        if isinstance(value, dict) and prefix + key not in configdoc.WHOLE:
            yield from config_keys(value, prefix + key + ".")


def test_the_committed_file_is_the_generators_output():
    """Edit the schema's descriptions (or config.yaml), then run the command below:
    this test fails until docs/configuration.md is regenerated."""
    generated = subprocess.run([sys.executable, "-m", "soart_core.configdoc"], cwd=ROOT,
                               env=ENV, capture_output=True, text=True, check=True).stdout
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == generated, \
        "run: python -m soart_core.configdoc > docs/configuration.md"


def test_every_key_has_a_description_and_a_row():
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    schema = yaml.safe_load(
        (ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text(encoding="utf-8"))
    described = {path: text for path, _, _, text, _ in configdoc.entries(schema, config)}
    keys = list(config_keys(config))
    assert sorted(set(keys) - set(described)) == []  # a key the schema does not know
    assert [k for k in described if not described[k].strip()] == []  # undocumented
    doc = configdoc.render()
    assert all(f"| `{k}` |" in doc or f"| **`{k}`** |" in doc for k in keys)


def test_a_row_shows_value_constraints_and_meaning(tmp_path):
    """The generator reads the files it is given: a changed description or value shows."""
    for name in (SCHEMA, configdoc.CONFIG):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((ROOT / name).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    schema = tmp_path / SCHEMA
    schema.write_text(schema.read_text(encoding="utf-8").replace(
        "description: that quantile", "description: the quantile | of distances"),
        encoding="utf-8")
    config = tmp_path / configdoc.CONFIG
    config.write_text(config.read_text(encoding="utf-8").replace(
        "mt_quantile: 0.95", "mt_quantile: 0.9"), encoding="utf-8")
    doc = configdoc.render(str(tmp_path))
    assert "| `verdicts.mt_quantile` | `0.9` | a number > 0, <= 1 | the quantile \\| of " \
           "distances |" in doc
    assert "| `delimiter` | `auto` | `auto`, `\",\"`, `\";\"`, `tab` |" in doc
