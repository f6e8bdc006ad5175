"""README's two commands are the ones CI and users run."""

import re

from conftest import ROOT


def readme_commands():
    return re.findall(r"```\n(.+?)\n```", (ROOT / "README.md").read_text())[:2]


def test_ci_runs_the_readmes_test_command():
    setup_run, test = readme_commands()
    assert test.endswith("pytest -q") and "snakemake --cores 2" in setup_run
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()


def test_readme_documents_every_config_key():
    import yaml

    readme = (ROOT / "README.md").read_text()

    def keys(node, prefix=""):
        for key, value in node.items():
            yield prefix + key
            if isinstance(value, dict) and prefix + key not in ("metrics", "images.kinds",
                                                                 "sweeps"):
                yield from keys(value, prefix + key + ".")

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    missing = [k for k in keys(config) if f"`{k}" not in readme
               and f"`.{k.rsplit('.', 1)[-1]}`" not in readme]
    assert missing == []
