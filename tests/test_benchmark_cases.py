"""The benchmarks' case functions still run on the library as it is (a benchmark is run
by hand, so an API change would otherwise break it unseen: local_defects.py did once),
on one small case each, and give figures that say the detectors saw something."""

import sys

from conftest import ROOT

sys.path.append(str(ROOT / "benchmarks"))  # after the project's own modules


def test_local_defects_scores_every_detector_of_the_tables():
    import local_defects
    from soart_core.detectors import REGISTRY

    rows = local_defects.run_case("coins", 10, (2, 2))
    assert set(rows) == {name for name, d in REGISTRY.items() if not d.needs_pixels} | {
        "pixel nearest neighbour"}
    for figures in rows.values():
        auc, (low, high) = figures["roc_auc"]
        assert 0 <= low <= auc <= high <= 1
    # coins, 2 x 2: the regions detector ranks defects above normal items (0.80 when
    # this was written), far from chance
    assert rows["regions"]["roc_auc"][0] > 0.65


def test_patches_benchmark_bounds_and_spread():
    import numpy as np
    import patches as benchmark

    assert benchmark.expected_spread(10).startswith("below 19 judges")
    assert "Beta(1, 20), above 0.12 with probability 0.078" in benchmark.expected_spread(20)
    judge_raw = np.array([0.2, 0.3, 0.25, 0.35, 0.28])
    flags = benchmark.normal_bound_flags(np.array([0.1, 0.34, 0.9]), judge_raw)
    assert flags.tolist() == [False, False, True]
