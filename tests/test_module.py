"""soart inside another project: as a Snakemake module (docs/module.md's example, as typed),
and run with --snakefile from another folder."""

import re
import subprocess

import yaml

from conftest import ENV, ROOT, SNAKEMAKE

EXAMPLE = ROOT / "resources" / "example"


def readme_module_example():
    """docs/module.md's host Snakefile: its fenced block that declares `module soart:`."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "module.md").read_text(),
                        re.S)
    [snakefile] = [b for b in blocks if b.startswith("module soart:") or "\nmodule soart:" in b]
    return snakefile


def run(workdir, *args):
    # without PYTHONPATH: soart_core comes from soart's own folder, as for a user
    env = {k: v for k, v in ENV.items() if k != "PYTHONPATH"}
    return subprocess.run([*SNAKEMAKE, "--cores", "2", *args], cwd=workdir, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=600)


def soart_config(**changes):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config.update(images_dir=None, data_dir=str(EXAMPLE), sweeps={}, **changes)
    return config


def test_the_readme_module_example_runs_soarts_rules_in_the_host(tmp_path, example_run):
    host = tmp_path / "host"
    host.mkdir()
    snakefile = readme_module_example().replace("path/to/soart", str(ROOT))
    (host / "Snakefile").write_text(snakefile)
    (host / "config.yaml").write_text(yaml.safe_dump({"soart": soart_config()}))
    proc = run(host, "results/attention/Y1.csv", "results/verdicts/summary.csv")
    assert proc.returncode == 0, proc.stdout
    assert "soart_attention" in proc.stdout  # soart's rules, under the host's prefix
    for table in ("attention/Y1.csv", "verdicts/summary.csv"):
        assert (host / "results" / table).read_bytes() == \
            (example_run / "results" / table).read_bytes()


def test_snakefile_from_another_folder(tmp_path, example_run):
    (tmp_path / "my.yaml").write_text(yaml.safe_dump({"images_dir": None,
                                                      "data_dir": str(EXAMPLE),
                                                      "sweeps": {}}))
    proc = run(tmp_path, "--snakefile", str(ROOT / "Snakefile"), "results/attention/Y2.csv",
               "--configfile", "my.yaml")
    assert proc.returncode == 0, proc.stdout
    assert (tmp_path / "results" / "attention" / "Y2.csv").read_bytes() == \
        (example_run / "results" / "attention" / "Y2.csv").read_bytes()


def test_the_module_example_with_images(tmp_path, images_run):
    """docs/module.md's host with soart's shipped config (its example images, a path relative
    to soart's folder): the metrics stage runs under the host's prefix, and the host
    gets the verdicts the shipped run gives."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "Snakefile").write_text(readme_module_example().replace("path/to/soart",
                                                                    str(ROOT)))
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["sweeps"] = {}
    (host / "config.yaml").write_text(yaml.safe_dump({"soart": config}))
    proc = run(host, "results/verdicts/summary.csv")
    assert proc.returncode == 0, proc.stdout
    assert "soart_metrics" in proc.stdout
    ours = (host / "results" / "verdicts" / "summary.csv").read_text(encoding="utf-8-sig")
    theirs = (images_run / "results" / "verdicts" / "summary.csv").read_text(
        encoding="utf-8-sig")
    # the same images, the same verdicts (their ids: paths relative to the images)
    assert ours == theirs
