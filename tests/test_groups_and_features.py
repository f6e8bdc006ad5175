"""Groups and features as the data has them: one edit of groups.order is enough, every
feature column is read by default, a configured group with no rows is reported, and
block signs within the attention's rounding count as zero."""

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

import in_process
from conftest import ROOT, copy_workflow, read_csv_cells, write_yaml
from soart_core.settings import block_tolerance

EXAMPLE = "resources/example"
DEFAULTS = yaml.safe_load((ROOT / "config.yaml").read_text())


def order_only(tmp_path, order):
    """A configfile that changes groups.order and nothing else."""
    return str(write_yaml(tmp_path / "groups.yaml", {"groups": {"order": order}}))


def test_two_groups_from_images_with_one_edit(tmp_path):
    workdir = copy_workflow(tmp_path / "wf", tables=False)
    images = workdir / EXAMPLE / "images"
    for set_name in ("learn", "valid"):
        shutil.rmtree(images / set_name / "ERROR_B")
    in_process.run(workdir, "evaluate",
                   configfiles=[order_only(tmp_path, ["NORMAL", "ERROR_A"])])
    blocks = pd.read_csv(workdir / "results" / "blocks" / "Y2.csv")
    assert len(blocks) == 4 and set(blocks["item_group"]) == {"NORMAL", "ERROR_A"}
    summary = pd.read_csv(workdir / "results" / "evaluation" / "summary.csv")
    assert (summary["n"] == 20).all()


def test_renamed_groups_from_tables_with_one_edit(tmp_path):
    """Tables with a class column, the groups renamed (and a fourth added): the baseline
    defaults to the first group, valid_counts is not needed."""
    workdir = copy_workflow(tmp_path / "wf")
    rename = {"NORMAL": "GOOD", "ERROR_A": "PIN", "ERROR_B": "SCRATCH"}
    for path in (workdir / EXAMPLE).glob("*.csv"):
        frame = pd.read_csv(path)
        frame["class"] = frame["class"].map(rename)
        if path.name.startswith("valid"):
            frame.loc[frame.index[-3:], "class"] = "STAIN"  # a fourth group
        frame.to_csv(path, index=False)
    in_process.run(workdir, "blocks",
                   configfiles=[order_only(tmp_path, ["GOOD", "PIN", "SCRATCH", "STAIN"])])
    baseline = pd.read_csv(workdir / "results" / "difference" / "Y1_baseline.csv")
    attention = pd.read_csv(workdir / "results" / "attention" / "Y1.csv")
    good = attention[attention["group"] == "GOOD"].drop(columns=["item", "group"]).mean()
    np.testing.assert_allclose(baseline["baseline"], good.to_numpy(), rtol=1e-12)
    blocks = pd.read_csv(workdir / "results" / "blocks" / "Y1.csv")
    assert sorted(set(blocks["item_group"])) == ["GOOD", "PIN", "SCRATCH", "STAIN"]
    # no judge is a STAIN: said in the log, not a silent gap
    log = (workdir / "results" / "logs" / "normalise.log").read_text()
    assert "groups.order lists STAIN, but no judges in" in log


def test_a_configured_group_with_no_rows_is_reported(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    in_process.run(workdir, "evaluate", configfiles=[
        order_only(tmp_path, ["NORMAL", "ERROR_A", "ERROR_B", "ERROR_C"])])
    log = (workdir / "results" / "logs" / "normalise.log").read_text()
    assert "groups.order lists ERROR_C, but no judges in" in log
    assert "groups.order lists ERROR_C, but no items in" in log
    summary = pd.read_csv(workdir / "results" / "evaluation" / "summary.csv",
                          keep_default_na=False)
    assert summary["warnings"].str.contains("ERROR_C").all()
    assert (summary["recall_ERROR_C"] == "").all()  # no silent NaN
    assert "nan" not in (workdir / "results" / "evaluation" / "summary.csv").read_text()


def test_every_feature_column_by_default(tmp_path):
    """A fifth region column is read (the seed's X0..X3 slice would drop it), and the
    log names the columns used."""
    workdir = copy_workflow(tmp_path / "wf")
    rng = np.random.default_rng(0)
    for path in (workdir / EXAMPLE).glob("*.csv"):
        frame = pd.read_csv(path)
        frame.insert(5, "X4", rng.uniform(0.5, 1.5, len(frame)))
        frame["note"] = "checked"  # other columns stay ignored
        frame.to_csv(path, index=False)
    in_process.run(workdir, "normalise")
    header, _, _ = read_csv_cells(workdir / "results" / "normalise" / "Y1_valid.csv")
    assert header[2:] == ["X0", "X1", "X2", "X3", "X4"]
    log = (workdir / "results" / "logs" / "normalise.log").read_text()
    assert "features ('auto'): X0, X1, X2, X3, X4" in log
    # the seed's slice still reads exactly its columns
    in_process.run(workdir, "normalise", config=["features=X0:X3"])
    header, _, _ = read_csv_cells(workdir / "results" / "normalise" / "Y1_valid.csv")
    assert header[2:] == ["X0", "X1", "X2", "X3"]


def test_the_tolerance_follows_the_attention_rounding():
    config = {"blocks": {"tolerance": "auto"}, "attention": {"decimals": 5}}
    assert block_tolerance(config) == 1e-5
    config["attention"]["decimals"] = 2
    assert block_tolerance(config) == 0.01
    config["attention"]["decimals"] = None
    assert block_tolerance(config) == 0.0  # nothing rounded: every sign counts
    assert block_tolerance({"blocks": {"tolerance": 0}, "attention": {"decimals": 5}}) == 0


@pytest.mark.parametrize("tolerance,expected", [(None, 1e-5), (0, 0.0)])
def test_blocks_count_rounding_residue_as_zero(example_run, tmp_path, tolerance, expected):
    """By default |D| <= 1e-5 (one unit of the 5th decimal) is neither sign; with
    `blocks.tolerance: 0` every nonzero difference counts, as in the seed's prose."""
    workdir = example_run
    if tolerance is not None:
        workdir = copy_workflow(tmp_path / "wf")
        in_process.run(workdir, "blocks", configfiles=[
            write_yaml(tmp_path / "t.yaml", {"blocks": {"tolerance": tolerance}})])
    results = workdir / "results"
    for metric in ("Y1", "Y2", "Y3"):
        difference = pd.read_csv(results / "difference" / f"{metric}.csv")
        judges = pd.read_csv(results / "normalise" / "judges.csv")
        values = difference.drop(columns=["item", "group"]).to_numpy()
        blocks = pd.read_csv(results / "blocks" / f"{metric}.csv")
        for row in blocks.itertuples():
            cells = values[difference["group"] == row.item_group][
                :, (judges["group"] == row.judge_group).to_numpy()]
            assert row.n_zero == int((np.abs(cells) <= expected).sum())
            assert row.n_pos == int((cells > expected).sum())
