"""The detectors of the summary's verdict: one registry entry each, one module each.

A detector is an estimator, as scikit-learn's novelty detectors are: fitted on the
judges alone (the learning tables: judges x features per metric, the features of a
metric being its regions), it gives every item a raw score in [0, 1], higher = more
abnormal, from that item and its fitted state only, so that an item's verdict is the
same in any batch. Fitting also gives each reference judge a raw score out of sample
(the judge left out of what it is compared with: `judge_raw_`), and
`verdicts.calibrate` turns both into one score and one flag at the promised
false-alarm rate. A fitted detector is kept in plain files (`to_files`: .npz read
without pickle, .json; `from_files`), so that the frozen reference stores it and a
batch only scores (soart_core.reference). The entries, each in its module:

- `attention` (attention.py): the items' attention over the judges.
- `regions` (regions.py): each region of the image on its own; says where.
- `mt` (mt.py): Taguchi's MT distance from the reference judges' unit space.
- `patches` (patches.py): the image itself, patch by patch (soart_core.patches); needs
  the images (`pixels`: a Pixels of the items and the reference judges); says where, to
  the pixel.

`needs`: what the entry needs of the judges, checked before it is fitted. The choice
among them on labeled items, and the predictors of the defect group: choice.py.
"""

from dataclasses import dataclass

import numpy as np

from ..verdicts import TooFewLabeled, Unscorable, calibrate
from .attention import Attention
from .choice import (DEFAULT, NESTED, PREDICTORS, choose, choose_predictor, defect_groups,
                     nearest_reference)
from .mt import MT
from .patches import Patches
from .regions import Regions

__all__ = ["DEFAULT", "MT", "NESTED", "PREDICTORS", "REGISTRY", "Attention", "Detector",
           "Patches", "Pixels", "Regions", "calibrated", "choose", "choose_predictor",
           "defect_groups", "files", "fit", "fit_check", "load", "nearest_reference", "run",
           "save"]


@dataclass(frozen=True)
class Detector:
    name: str
    # its estimator's class: fit(judges, in_reference, pixels, **settings) -> fitted;
    # fitted.score(items, pixels) -> (raw of the items, {extra name: per-item array});
    # items and judges: lists of tables, one per metric; pixels: a Pixels or None
    # (tables without images)
    estimator: type
    needs: str  # in words, for the error when the judges cannot fit it
    min_reference: int  # reference judges needed
    needs_other_groups: bool  # judges outside the reference group needed
    needs_pixels: bool = False  # the images themselves (images_dir)


@dataclass(frozen=True)
class Pixels:
    """What the pixel-level detector saw (soart_core.patches), in the rows of the
    items and of the reference judges: each one's map maximum (`item_raw`,
    `judge_raw`, the judges' out of sample), and the items' peak (row, col), the
    defect's pixel box (n x 4: top, left, height, width; image coordinates) and each
    region's map maximum (`item_regions`, n x regions, in the features' order)."""
    item_raw: np.ndarray
    judge_raw: np.ndarray
    peak_row: np.ndarray
    peak_col: np.ndarray
    box: np.ndarray
    item_regions: np.ndarray
    defect_group: np.ndarray | None = None  # patches.defect_groups' (None: no defect judges)


# (soart_core.layout.DETECTORS names them in this order, for the tables' text columns)
REGISTRY = {
    "attention": Detector("attention", Attention,
                          "reference judges and judges of another group (the score is the "
                          "weight on them)", 2, True),
    "regions": Detector("regions", Regions,
                        "3 or more reference judges (a region's spread without one of them)",
                        3, False),
    "mt": Detector("mt", MT, "3 or more reference judges (a unit space without one "
                             "of them)", 3, False),
    "patches": Detector("patches", Patches,
                        "the images (images_dir; tables carry no pixels) and 2 or more "
                        "reference judges", 2, False, needs_pixels=True),
}


def fit_check(detector, in_reference, pixels=None):
    """TooFewLabeled, saying what is missing, where the judges cannot fit `detector`."""
    n = int(np.sum(in_reference))
    if n < detector.min_reference or (detector.needs_other_groups
                                      and n == len(in_reference)) or (
            detector.needs_pixels and pixels is None):
        raise TooFewLabeled(f"detector {detector.name} needs {detector.needs}; the judges "
                            f"hold {n} reference judge(s) of {len(in_reference)}")


def fit(name, judges, judge_groups, *, reference, pixels=None, settings=None):
    """Detector `name` fitted on the judges (lists of tables, one per metric; `pixels`:
    a Pixels, or None without images; `settings`: the entry's own keyword arguments,
    config verdicts.detectors.<name>). Raises TooFewLabeled (fit_check)."""
    detector = REGISTRY[name]
    in_reference = np.asarray(judge_groups, dtype=object) == reference
    fit_check(detector, in_reference, pixels)
    return detector.estimator().fit(judges, in_reference, pixels, **(settings or {}))


def calibrated(fitted, items, *, false_alarm, pixels=None):
    """The `fitted` detector on the items (lists of tables, one per metric; `pixels`: a
    Pixels, or None without images), calibrated by its judges: {"raw", "score", "flag"
    (bool), "line" (raw where the flag starts), "warning", "reference_judges", and the
    entry's extras}. Raises Unscorable (an item whose raw is not a number)."""
    raw, extra = fitted.score(items, pixels)
    if not np.isfinite(raw).all():
        raise Unscorable(f"item row {int(np.flatnonzero(~np.isfinite(raw))[0])} cannot be "
                         f"scored by detector {fitted.name}: its raw score is not a number")
    score, line, warning = calibrate(raw, fitted.judge_raw_, false_alarm)
    if "region_raw" in extra:  # each region on the image's scale: the worst is the image
        extra["region_score"] = calibrate(extra["region_raw"].ravel(), fitted.judge_raw_,
                                          false_alarm)[0].reshape(extra["region_raw"].shape)
    return {"raw": raw, "score": score, "flag": score >= 1 - false_alarm, "line": line,
            "warning": warning, "reference_judges": len(fitted.judge_raw_), **extra}


def run(name, items, judges, judge_groups, *, reference, false_alarm, pixels=None,
        settings=None):
    """Detector `name` fitted on the judges (fit), then on the items (calibrated): the
    latter's result. Raises TooFewLabeled or Unscorable."""
    return calibrated(fit(name, judges, judge_groups, reference=reference, pixels=pixels,
                        settings=settings), items, false_alarm=false_alarm, pixels=pixels)


def save(fitted, folder):
    """Each of {name: fitted detector} in `folder` (to_files); returns the files' names."""
    return [name for estimator in fitted.values() for name in estimator.to_files(folder)]


def files(names):
    """The names of the files `save` writes for the detectors `names`."""
    return [name for detector in names for name in REGISTRY[detector].estimator.files()]


def load(names, folder):
    """{name: fitted detector} of the detectors `names` saved in `folder` (from_files;
    an InputError names a file that is missing, damaged or pickled)."""
    return {name: REGISTRY[name].estimator.from_files(folder) for name in names}
