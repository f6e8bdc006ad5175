"""`regions`: each region of the image on its own. A region's r = the largest over the
metrics of -log10 of the two-sided p-value of its value beside the same region of the
reference judges (Student t predictive distribution from their mean and standard
deviation; a judge's beside the other judges); the image's raw is its worst region's,
mapped to [0, 1) as r / (1 + r). Sees a small local defect that one score over all
regions drowns; says where (`region_raw`)."""

import numpy as np

from .. import stages
from ..verdicts import bounded
from ._common import Estimator

MAX_SURPRISE = 300.0  # -log10 of the smallest p-value told apart


def surprise(value, mean, sd, n):
    """-log10 of the two-sided p-value of `value` under the Student t predictive
    distribution of a new draw from n draws with `mean` and `sd`: (value - mean) /
    (sd sqrt(1 + 1/n)) ~ t(n - 1). So a region against n reference judges and a judge
    against the other n - 1 are on one scale."""
    from scipy.stats import t

    statistic = np.abs(value - mean) / (sd * np.sqrt(1.0 + 1.0 / n))
    with np.errstate(divide="ignore"):
        found = -(np.log(2.0) + t.logsf(statistic, n - 1)) / np.log(10.0)
    # beyond float64's smallest p-value (a region whose judges do not vary, and an
    # item that does): as surprising as can be told, not infinite
    return np.minimum(found, MAX_SURPRISE)


class Regions(Estimator):
    name = "regions"

    def fit(self, judges, in_reference, pixels=None):
        """Per metric, the reference judges' mean and standard deviation of each
        region; each judge's surprise beside the other reference judges."""
        reference = [np.asarray(t, dtype=np.float64)[in_reference] for t in judges]
        n = len(reference[0])
        self.n_, self.mean_, self.sd_, judge_s = n, [], [], 0.0
        for ref in reference:
            scale = max(float(np.abs(ref).max(initial=0.0)), 1.0)
            floor = stages.RESOLUTION * scale  # a region whose judges do not vary
            total, squares = ref.sum(axis=0), (ref ** 2).sum(axis=0)
            mean = total / n
            self.mean_.append(mean)
            self.sd_.append(np.sqrt(np.maximum((squares - n * mean ** 2) / (n - 1), 0.0))
                            + floor)
            loo_mean = (total - ref) / (n - 1)
            loo_sd = np.sqrt(np.maximum((squares - ref ** 2 - (n - 1) * loo_mean ** 2)
                                        / (n - 2), 0.0)) + floor
            judge_s = np.maximum(judge_s, surprise(ref, loo_mean, loo_sd, n - 1))
        self.judge_raw_ = bounded(judge_s.max(axis=1))
        return self

    def region_surprise(self, items):
        """items x regions: for each region, the largest over the metrics of how
        surprising its value is beside the same region of the reference judges."""
        found = 0.0
        for x, mean, sd in zip(items, self.mean_, self.sd_):
            found = np.maximum(found, surprise(np.asarray(x, dtype=np.float64), mean, sd,
                                               self.n_))
        return found

    def score(self, items, pixels=None):
        found = self.region_surprise(items)
        return bounded(found.max(axis=1)), {"region_raw": bounded(found)}

    def state(self):
        return ({"mean": np.stack(self.mean_), "sd": np.stack(self.sd_),
                 "judge_raw": self.judge_raw_}, {"reference_judges": self.n_})

    @classmethod
    def from_state(cls, arrays, settings):
        fitted = cls()
        fitted.mean_, fitted.sd_ = list(arrays["mean"]), list(arrays["sd"])
        fitted.n_, fitted.judge_raw_ = int(settings["reference_judges"]), arrays["judge_raw"]
        return fitted
