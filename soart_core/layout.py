"""Names shared by soart's tables: roles, the text columns of its tables, and the
kinds of figure (where each stage writes: soart_core.pipeline)."""

import os
import re

ROLES = ("query", "key", "value")
UNLABELED = ""  # the group of an item whose answer is not known: an empty cell
# the text columns of the block and verdict tables (the rest are numbers)
BLOCK_TEXT = ("item_group", "judge_group")
VERDICT_TEXT = ("item", "group", "predicted", "flag")  # summary.csv's answer
MT_TEXT = ("item", "group", "predicted", "mt_flag")  # verdicts/{metric}.csv, the MT's
SUMMARY_TEXT = ("metric", "method", "warnings")  # of the evaluation's tables


DETECTORS = ("attention", "regions", "mt", "patches")  # soart_core.detectors.REGISTRY's entries
# the answer as people read it: verdicts/answer.csv, and first in the workbook's sheet
ANSWER_COLUMNS = ("item", "group", "flag", "score", "predicted", "where", "nearest_normal",
                  "method", "promise")


def verdict_summary_text(words):
    """The text columns of results/verdicts/summary.csv, each detector's and words
    metric's too."""
    return (VERDICT_TEXT + ("promise", "method", "where", "nearest_normal")
            + tuple(f"{d}_flag" for d in DETECTORS)
            + tuple(f"{m}_{c}" for m in words for c in ("predicted", "flag", "mt_flag")))
# a region's place in its image (images.region_boxes): empty cells from tables
REGION_PLACE = ("region_row", "region_col", "top", "left", "height", "width")
FIGURES = ("attention", "difference", "blocks", "mt")  # one of each per words metric


# one figure per flagged image (the figures stage's folder, under the run's results/)
DEFECT_FIGURES = "figures/defects"
MAX_DEFECT_FIGURES = 100


def defect_figures(items, flags, scores, limit=MAX_DEFECT_FIGURES):
    """{item: the file name of its figure in DEFECT_FIGURES} for the flagged items, the
    `limit` highest scores (ties: input order), numbered by that rank: one naming for the
    figures stage that draws them and the workbook that links them."""
    flagged = sorted((i for i, flag in enumerate(flags) if flag == "abnormal"),
                     key=lambda i: (-float(scores[i]), i))[:limit]
    return {str(items[i]): f"{rank:03d}_"
                           f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', os.path.splitext(str(items[i]))[0])}"
                           f".png" for rank, i in enumerate(flagged, start=1)}
