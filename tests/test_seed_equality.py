"""With the default config, the attention tables equal the seed script's, value for value:
the example's through Snakemake, generated datasets through the same jobs in this
process (tests/in_process.py)."""

import numpy as np
import pandas as pd
import pytest

import in_process
from conftest import ROOT, write_yaml
from seed_reference import seed_attention
from soart_core.example import file_names, write_example

LEARN = [file_names(m)[0][:-4] for m in ("Y1", "Y2", "Y3")]
VALID = [file_names(m)[1][:-4] for m in ("Y1", "Y2", "Y3")]


def attention_values(workdir, metric):
    frame = pd.read_csv(workdir / "results" / "attention" / f"{metric}.csv")
    return frame.drop(columns=["item", "group"]).to_numpy()


def test_example_equals_the_seed_csv(example_run, tmp_path):
    seed = seed_attention(ROOT / "resources" / "example", LEARN, VALID, out_dir=tmp_path)
    for i, metric in enumerate(("Y1", "Y2", "Y3")):
        # what the seed writes: an index column, then columns 0..J-1
        written = pd.read_csv(tmp_path / f"attention_Y{i + 1}_raw_verA.csv", index_col=0)
        ours = attention_values(example_run, metric)
        assert ours.shape == written.shape == (30, 9)
        np.testing.assert_array_equal(ours, written.to_numpy())
        np.testing.assert_array_equal(ours, seed[i])


# (judges per group, items per group, features, seed): other J, N and d than the example
DATASETS = [(1, 4, 4, 11), (2, 7, 6, 12), (5, 20, 4, 13), (4, 33, 8, 14), (10, 50, 3, 15),
            (7, 120, 5, 16)]


@pytest.mark.parametrize("judges,items,features,seed", DATASETS)
def test_generated_dataset_equals_the_seed(workflow_copy, judges, items, features, seed):
    data = workflow_copy / "data"
    write_example(data, judges_per_group=judges, items_per_group=items,
                  n_features=features, seed=seed)
    last = f"X{features - 1}"
    override = write_yaml(workflow_copy / "override.yaml", {
        "data_dir": str(data),
        "features": f"X0:{last}",
        "groups": {"column": "class", "order": ["NORMAL", "ERROR_A", "ERROR_B"],
                   "valid_counts": [items] * 3},
    })
    in_process.run(workflow_copy, "attention", configfiles=[override])
    expected = seed_attention(data, LEARN, VALID, last=last)
    for i, metric in enumerate(("Y1", "Y2", "Y3")):
        ours = attention_values(workflow_copy, metric)
        assert ours.shape == (3 * items, 3 * judges)
        np.testing.assert_array_equal(ours, expected[i])
