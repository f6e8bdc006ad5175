"""`attention`: the items' attention over the judges, every metric's features side by
side, each scaled by the judges (verdicts.judge_verdicts' arithmetic); raw = the weight
on the other groups' judges."""

import numpy as np

from .. import stages
from ..verdicts import left_out_raw, reference_weight_score
from ._common import Estimator, side_by_side


class Attention(Estimator):
    name = "attention"

    def fit(self, judges, in_reference, pixels=None, *, feature_scale="judges",
            temperature=1.0):
        """Its settings (config verdicts.detectors.attention, defaults in the schema):
        `feature_scale` judges (each feature z-scored by the judges) or none (the
        normalised values as they are); `temperature`: the softmax's tau in units of
        the judges' median squared distance (below 1 sharper, above 1 flatter)."""
        ll = side_by_side(judges)
        # none: centred on 0 and divided by 1, which leaves every value as it is
        self.mean_, self.sd_ = (stages.feature_scale(ll) if feature_scale == "judges"
                                else (np.zeros(ll.shape[1]), np.ones(ll.shape[1])))
        self.judges_ = (ll - self.mean_) / self.sd_
        self.in_reference_ = np.asarray(in_reference, dtype=bool)
        self.temperature_ = stages.judge_temperature(self.judges_) * float(temperature)
        own = stages.judge_attention(self.judges_, self.judges_, self.temperature_,
                                     leave_out_self=True)
        groups = np.where(self.in_reference_, "reference", "other")
        self.judge_raw_ = reference_weight_score(own[self.in_reference_], groups,
                                                 "reference")
        return self

    def score(self, items, pixels=None):
        x = (side_by_side(items) - self.mean_) / self.sd_
        raw, weights = left_out_raw(x, self.judges_, self.temperature_, self.in_reference_)
        return raw, {"weights": weights}

    def state(self):
        return ({"mean": self.mean_, "sd": self.sd_, "judges": self.judges_,
                 "in_reference": self.in_reference_, "judge_raw": self.judge_raw_},
                {"temperature": self.temperature_})

    @classmethod
    def from_state(cls, arrays, settings):
        fitted = cls()
        fitted.mean_, fitted.sd_, fitted.judges_ = (arrays["mean"], arrays["sd"],
                                                    arrays["judges"])
        fitted.in_reference_, fitted.judge_raw_ = arrays["in_reference"], arrays["judge_raw"]
        fitted.temperature_ = float(settings["temperature"])
        return fitted
