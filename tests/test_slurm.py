"""The workflow on a real one-node Slurm cluster (ci/slurm-up.sh) through Snakemake's
Slurm executor plugin and profiles/slurm: the jobs run as Slurm jobs and the results
equal a local run's byte for byte.

Opt-in: it installs Debian's slurm-wlm and munge, writes /etc/slurm and /etc/munge and
starts daemons, which a user's plain `pytest -q` must never do. Run it with
SOART_TEST_SLURM=1 (.ci/run does); even then it is skipped, with the reason, where
Slurm cannot be installed (not root, no apt-get).
"""

import os
import subprocess

import pytest
import yaml

from conftest import ROOT, SLURM_PATH, SNAKEMAKE, copy_workflow, snakemake

SMALL_SWEEP = {"small": {"threshold.learn.cutoff": [0.4, 0.5],
                         "baseline.method": ["group_mean", "median"]}}


OPT_IN = "SOART_TEST_SLURM"
# Slurm's own tools (conftest puts a failing scontrol first on this process's PATH)
SLURM_ENV = {**os.environ, "PATH": SLURM_PATH, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def cluster():
    if os.environ.get(OPT_IN) != "1":
        pytest.skip(f"opt-in: set {OPT_IN}=1 to run it; it installs slurm-wlm and munge "
                    f"with apt-get, writes /etc/slurm and /etc/munge, starts daemons")
    up = subprocess.run(["bash", str(ROOT / "ci" / "slurm-up.sh")], capture_output=True,
                        text=True, timeout=600, env=SLURM_ENV)
    if up.returncode == 3:
        pytest.skip(f"Slurm cannot be set up here: {up.stderr.strip()}")
    assert up.returncode == 0, up.stdout + up.stderr
    yield
    subprocess.run(["bash", str(ROOT / "ci" / "slurm-down.sh")], timeout=120, env=SLURM_ENV)


def with_small_sweep(workdir):
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["sweeps"] = SMALL_SWEEP
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir


def outputs(workdir):
    """Every CSV and params.yaml under results/, as bytes, by relative path."""
    results = workdir / "results"
    return {str(p.relative_to(results)): p.read_bytes() for p in sorted(results.rglob("*"))
            if p.is_file() and (p.suffix == ".csv" or p.name == "params.yaml")
            and "logs" not in p.parts}


def test_slurm_run_equals_local_run(cluster, tmp_path):
    local = with_small_sweep(copy_workflow(tmp_path / "local", tables=False))
    snakemake(local, "all", "sweep")
    remote = with_small_sweep(copy_workflow(tmp_path / "slurm", tables=False))
    # with accounting disabled the plugin must poll squeue, not sacct
    command = ["timeout", "-k", "10", "900", *SNAKEMAKE, "all", "sweep",
               "--workflow-profile", "profiles/slurm", "--slurm-status-command", "squeue",
               "--slurm-init-seconds-before-status-checks", "2", "--slurm-no-account"]
    proc = subprocess.run(command, cwd=remote, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          env=SLURM_ENV)
    assert proc.returncode == 0, proc.stdout[-5000:]
    # every job ran as a Slurm job; the short stages in groups, a handful in all
    ids = {}
    for log in [*(remote / "results" / "logs").glob("*.log"),
                *(remote / "results" / "sweeps" / "small" / "logs").glob("*.log")]:
        name = ("sweep " if "sweeps" in log.parts else "") + log.stem
        if name == "sweep summary":  # a local rule
            continue
        text = log.read_text()
        assert " as slurm job " in text, (name, text)
        ids[name] = text.rsplit(" as slurm job ", 1)[1].split()[0]
    assert len(ids) >= 15 and "sweep attention" in ids
    assert ids["normalise"] == ids["threshold"] == ids["weights"]
    assert ids["difference"] == ids["evaluate"] != ids["normalise"]
    assert ids["sweep difference"] == ids["sweep evaluate"] != ids["evaluate"]
    submitted = proc.stdout.count("submitted with SLURM jobid")
    # metrics, patches, the groups prepare and score, attention, figures, workbook, and
    # the sweep's own: 10 at most
    assert ids["patches"] != ids["normalise"]
    assert submitted == len(set(ids.values())) <= 10, proc.stdout[-3000:]
    ours, theirs = outputs(remote), outputs(local)
    assert len(theirs) > 60 and sorted(ours) == sorted(theirs)
    assert [name for name in theirs if ours[name] != theirs[name]] == []
