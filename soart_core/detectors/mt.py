"""`mt`: Taguchi's MT distance of the metrics side by side (D^2 = MD^2 / k, Ledoit-Wolf
covariance) from the unit space of the reference judges (a judge's own from the
others), mapped to [0, 1) as D^2 / (1 + D^2)."""

import numpy as np

from ..verdicts import bounded, mt_distances
from ._common import Estimator, side_by_side


class MT(Estimator):
    name = "mt"

    def fit(self, judges, in_reference, pixels=None):
        """The unit space of the reference judges, as verdicts.mt_distances fits it
        (one global scale, Ledoit-Wolf; without spread, the plain squared distance),
        the scale being the judges' own; each judge's distance from the others'."""
        from sklearn.covariance import LedoitWolf

        unit = side_by_side(judges)[in_reference]
        n = len(unit)
        distances, _, _ = mt_distances(unit, np.ones(n, dtype=bool), max_loo_items=n)
        self.judge_raw_ = bounded(distances)
        self.scale_ = max(float(np.abs(unit).max()), np.finfo(float).tiny)
        unit = unit / self.scale_
        spread = np.ptp(unit, axis=0).max() if n > 1 else 0.0
        self.flat_ = bool(spread <= 1e-9 * max(np.abs(unit).max(), np.finfo(float).tiny))
        if self.flat_:  # no covariance: the plain squared distance (verdicts._distances)
            self.location_, self.precision_ = unit.mean(axis=0), np.zeros((0, 0))
        else:
            covariance = LedoitWolf().fit(unit)
            self.location_, self.precision_ = covariance.location_, covariance.get_precision()
        return self

    def score(self, items, pixels=None):
        from sklearn.metrics import pairwise_distances

        rows = side_by_side(items) / self.scale_
        k = rows.shape[1]
        if self.flat_:
            distances = np.round(((rows - self.location_) ** 2).sum(axis=1) / k,
                                 18) * self.scale_ ** 2
        else:  # as sklearn's EmpiricalCovariance.mahalanobis computes it
            distances = pairwise_distances(rows, self.location_[None, :],
                                           metric="mahalanobis",
                                           VI=self.precision_)[:, 0] ** 2 / k
        return bounded(distances), {}

    def state(self):
        return ({"location": self.location_, "precision": self.precision_,
                 "judge_raw": self.judge_raw_}, {"scale": self.scale_, "flat": self.flat_})

    @classmethod
    def from_state(cls, arrays, settings):
        fitted = cls()
        fitted.location_, fitted.precision_ = arrays["location"], arrays["precision"]
        fitted.judge_raw_ = arrays["judge_raw"]
        fitted.scale_, fitted.flat_ = float(settings["scale"]), bool(settings["flat"])
        return fitted
