"""`patches`: the image itself, patch by patch (soart_core.patches: each patch against
the nearest of the reference judges' patches; a judge's against the other judges');
raw = the anomaly map's maximum m, mapped to [0, 1) as m / (1 + m). Needs the images
(`pixels`: a Pixels of the items and the reference judges); says where, to the pixel.

The pixel-level model itself is fitted by the patches stage and kept by the frozen
reference (soart_core.reference: patches.npz, patches.json); this estimator holds only
its calibration, the judges' out-of-sample raw scores."""

import numpy as np

from ..verdicts import bounded
from ._common import Estimator


class Patches(Estimator):
    name = "patches"

    def fit(self, judges, in_reference, pixels=None):
        self.judge_raw_ = bounded(pixels.judge_raw)
        return self

    def score(self, items, pixels=None):
        return bounded(pixels.item_raw), {"region_raw": bounded(pixels.item_regions)}

    def state(self):
        return {"judge_raw": self.judge_raw_}, {
            "model": "the reference's pixel-level model (patches.npz, patches.json), "
                     "which scores the images"}

    @classmethod
    def from_state(cls, arrays, settings):
        fitted = cls()
        fitted.judge_raw_ = np.asarray(arrays["judge_raw"])
        return fitted
