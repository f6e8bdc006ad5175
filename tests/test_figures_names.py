"""Every name a user gives (groups, items, judges, metrics) renders in every figure:
Japanese, Chinese, Korean and accented Latin names, drawn with the fonts soart's
install brings, and not one "Glyph ... missing from font" warning."""

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

from soart_core import figures, jobs
from soart_core.tables import Table

# the names of the users: groups, a judge's and an item's names, metrics
GROUPS = ["良品", "不良A", "正常", "欠け", "傷", "汚れ", "合格品", "划痕", "劃痕",
          "정상", "불량", "Défaut-é", "Größe_ü", "Łódź"]
METRIC = "輝度Y1_밝기"


def table(values, groups, names):
    values = np.asarray(values, dtype=np.float64)
    return Table("t.csv", list(names), list(groups),
                 [f"判定者{k}" for k in range(values.shape[1])], values)


@pytest.fixture
def glyph_warnings(caplog):
    """Every missing-glyph warning raised while the test draws (matplotlib issues them
    as warnings, some versions through its logger)."""
    with warnings.catch_warnings(record=True) as caught, \
            caplog.at_level(logging.WARNING, logger="matplotlib"):
        warnings.simplefilter("always")
        missing = []
        yield missing
        missing += [str(w.message) for w in caught if "missing from font" in str(w.message)]
        missing += [r.getMessage() for r in caplog.records
                    if "missing from font" in r.getMessage()]
    assert missing == [], missing[:5]


def drawn_text(fig_path):
    """The PNG exists and is not blank."""
    from PIL import Image

    pixels = np.asarray(Image.open(fig_path).convert("L"))
    assert pixels.min() < 128 and pixels.max() > 200
    return pixels


def test_every_figure_draws_every_script(tmp_path, glyph_warnings):
    rng = np.random.default_rng(0)
    order = GROUPS
    item_groups = np.repeat(order, 2)
    judge_groups = np.repeat(order, 1)
    items = [f"検査/{g}/画像_{k}.png" for k, g in enumerate(item_groups)]
    values = rng.normal(size=(len(items), len(judge_groups)))
    difference = table(values, item_groups, items)
    for diverging, name in ((False, "a.png"), (True, "d.png")):
        title, _ = figures.heatmap(difference, judge_groups, order, tmp_path / name,
                                   diverging=diverging, metric=METRIC)
        assert METRIC in title
        drawn_text(tmp_path / name)
    blocks = jobs.score_blocks(difference, judge_groups, order, 0.0)
    figures.block_grid(blocks, order, tmp_path / "b.png", metric=METRIC)
    distance = np.abs(values[:, 0]) * 3
    verdicts = {"item": items, "group": list(item_groups),
                "predicted": list(item_groups), "mt_distance": distance,
                "mt_flag": np.where(distance > 3, "abnormal", "normal")}
    title, names = figures.verdict_plot(verdicts, 3.0, order, tmp_path / "v.png",
                                        metric=METRIC)
    assert names == [figures.short_name(i) for i in items]  # 28 items: every one named
    ranked = pd.DataFrame({"roles.query": ["輝度", "밝기", "亮度"],
                           "mean_balanced_accuracy": [0.5, 0.6, 0.4],
                           "chance_balanced_accuracy": [1 / 3] * 3})
    figures.sweep_plot(ranked, ["roles.query"], tmp_path / "s.png")
    for name in "bvs":
        drawn_text(tmp_path / f"{name}.png")


def test_a_name_no_font_has_is_caught(tmp_path, caplog):
    """The check above can fail: a character outside every bundled font (a private-use
    code point) is reported as a missing glyph."""
    with warnings.catch_warnings(record=True) as caught, \
            caplog.at_level(logging.WARNING, logger="matplotlib"):
        warnings.simplefilter("always")
        blocks = {"item_group": ["\ue000"], "judge_group": ["\ue000"], "sign_score": [1.0],
                  "agreement": [1.0], "mean_abs": [1.0]}
        figures.block_grid(blocks, ["\ue000"], tmp_path / "b.png")
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert any("missing from font" in m for m in messages)


def test_the_verdict_figure_names_the_flagged_items(tmp_path):
    """Up to 60 items every item is named; beyond, every flagged one (farthest first up
    to 60), so the images that matter can be read off the figure."""
    n = 500
    rng = np.random.default_rng(1)
    distance = rng.gamma(2.0, size=n)
    flagged = np.zeros(n, bool)
    flagged[[3, 77, 250, 499]] = True
    distance[flagged] += 50
    items = [f"valid/batch/img_{k:04d}.png" for k in range(n)]
    verdicts = {"item": items, "group": [""] * n, "predicted": ["良品"] * n,
                "mt_distance": distance, "mt_flag": np.where(flagged, "abnormal", "normal")}
    title, names = figures.verdict_plot(verdicts, 40.0, ["良品", "不良A"],
                                        tmp_path / "v.png", metric="Y1")
    assert names == ["img_0003.png", "img_0077.png", "img_0250.png", "img_0499.png"]
    assert title == "Y1: MT verdicts, 4 of 500 items flagged, 500 unlabeled"
    # more flagged than fit: the farthest 60, in input order
    many = distance.copy()
    many[flagged] -= 50
    many[:100] += 100 + np.arange(100)
    verdicts.update(mt_distance=many, mt_flag=np.where(many > 40, "abnormal", "normal"))
    _, names = figures.verdict_plot(verdicts, 40.0, ["良品"], tmp_path / "w.png")
    assert names == [f"img_{k:04d}.png" for k in range(40, 100)]
    assert figures.short_name("a/" + "x" * 40 + ".png") == "x" * 13 + "\u2026" + \
        "x" * 10 + ".png"
