"""A sweep's summary ranks ties as ties and shows each figure's 95 % interval."""

import numpy as np
import pandas as pd
import pytest

from soart_core import figures
from soart_core.evaluation import wilson
from soart_core.sweep import rank_instances


def summary(balanced, low, high, contrast, n=30, metrics=("Y1", "Y2")):
    """An evaluation summary with one difference_nearest_centroid row per metric."""
    rows = [{"metric": m, "method": "difference_nearest_centroid", "n": n,
             "accuracy": balanced, "chance_accuracy": 1 / 3,
             "balanced_accuracy": balanced, "balanced_accuracy_low": low,
             "balanced_accuracy_high": high, "chance_balanced_accuracy": 1 / 3,
             "block_contrast": contrast, "warnings": np.nan} for m in metrics]
    rows += [{"metric": m, "method": "metrics_lda", "n": n, "balanced_accuracy": 0.5,
              "block_contrast": np.nan, "chance_accuracy": 1 / 3,
              "chance_balanced_accuracy": 1 / 3, "warnings": np.nan} for m in metrics]
    return pd.DataFrame(rows)


def ranked(figures_by_instance):
    names = list(figures_by_instance)
    return rank_instances(names, [{"cutoff": k / 10} for k in range(len(names))],
                          [summary(*f) for f in figures_by_instance.values()],
                          "balanced_accuracy", "difference_nearest_centroid")


def test_ties_share_a_rank_and_are_listed_by_name():
    frame = ranked({"d": (0.4222, 0.25, 0.6, 0.1), "b": (0.4222, 0.25, 0.6, 0.9),
                    "a": (0.4222, 0.25, 0.6, 0.5), "c": (0.5, 0.3, 0.7, 0.0),
                    "e": (0.3, 0.1, 0.5, 0.0)})
    assert frame["instance"].tolist() == ["c", "a", "b", "d", "e"]
    assert frame["rank"].tolist() == [1, 2, 2, 2, 5]  # no silent tie-break
    assert frame["ties"].tolist() == [1, 3, 3, 3, 1]
    # equal as shown (4 decimals) is equal
    close = ranked({"x": (0.42221, 0.2, 0.6, 0.0), "y": (0.42219, 0.2, 0.6, 0.0)})
    assert close["rank"].tolist() == [1, 1]


def test_every_figure_has_its_interval_beside_it():
    frame = ranked({"a": (0.5, 0.3, 0.7, 0.2), "b": (0.4, 0.2, 0.6, 0.1)})
    columns = list(frame.columns)
    i = columns.index("Y1_balanced_accuracy")
    assert columns[i:i + 3] == ["Y1_balanced_accuracy", "Y1_balanced_accuracy_low",
                                "Y1_balanced_accuracy_high"]
    a = frame.iloc[0]
    assert (a["Y2_balanced_accuracy_low"], a["Y2_balanced_accuracy_high"]) == (0.3, 0.7)
    # the accuracy's interval is Wilson's on its n items
    low, high = wilson(15, 30)
    assert a["Y1_accuracy_low"] == pytest.approx(round(low, 4))
    assert a["Y1_accuracy_high"] == pytest.approx(round(high, 4))
    # the mean's interval: the mean of the metrics' bounds
    assert (a["mean_balanced_accuracy"], a["mean_balanced_accuracy_low"],
            a["mean_balanced_accuracy_high"]) == (0.5, 0.3, 0.7)


def test_an_instance_without_figures_ranks_last(tmp_path):
    frame = ranked({"a": (0.5, 0.3, 0.7, 0.2), "n1": (np.nan,) * 4, "n2": (np.nan,) * 4,
                    "b": (0.6, 0.4, 0.8, 0.1)})
    assert frame["instance"].tolist() == ["b", "a", "n1", "n2"]
    assert frame["rank"].tolist() == [1, 2, 3, 3]
    lines = figures.sweep_plot(frame, ["cutoff"], tmp_path / "s.png")
    assert "mean_balanced_accuracy" in lines and "mean_balanced_accuracy_low" not in lines
