"""What the detectors share: the judges' tables side by side, and a fitted detector's
plain files (`<name>.npz`: its arrays, NumPy's format read without pickle;
`<name>.json`: the rest), named by the detector so that all share a folder."""

import json
import os

import numpy as np

from ..errors import InputError
from ..tables import write_atomic, write_text


def side_by_side(tables):
    return np.hstack([np.asarray(t, dtype=np.float64) for t in tables])


class Estimator:
    """A detector fitted on the judges alone (`fit`), then scoring items (`score`): the
    registry's entries. `judge_raw_`: the reference judges' raw scores, each out of
    sample, which calibrate the items' (verdicts.calibrate). A subclass keeps its
    fitted state as `state()` (arrays, settings) and rebuilds from it (`from_state`)."""
    name = ""

    def fit(self, judges, in_reference, pixels=None, **settings):
        raise NotImplementedError

    def score(self, items, pixels=None):
        """(raw score of each item, {extra name: per-item array}): from each item and
        the fitted state alone, so that an item scores the same in any batch."""
        raise NotImplementedError

    def state(self):
        raise NotImplementedError

    @classmethod
    def from_state(cls, arrays, settings):
        raise NotImplementedError

    @classmethod
    def files(cls):
        """The names of its files: `<name>.npz` (its arrays) and `<name>.json`."""
        return [f"{cls.name}.npz", f"{cls.name}.json"]

    def to_files(self, folder):
        """Write its files (`files`) in `folder`; returns their names."""
        arrays, settings = self.state()
        names = self.files()
        write_atomic(os.path.join(folder, names[0]), lambda out: np.savez(out, **arrays),
                     binary=True)
        write_text(os.path.join(folder, names[1]),
                   json.dumps({"detector": self.name, **settings}, indent=1,
                              sort_keys=True))
        return names

    @classmethod
    def from_files(cls, folder):
        """The detector as to_files wrote it to `folder`; an InputError naming the file
        that is missing, damaged, pickled or another detector's."""
        path = os.path.join(folder, cls.files()[0])
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {k: stored[k] for k in stored.files}
        except (ValueError, OSError, EOFError) as err:  # a pickled object, a damaged file
            raise InputError(path, f"not a fitted detector soart writes "
                                   f"({(str(err) or repr(err)).splitlines()[0]}; "
                                   f"pickled objects are never loaded)") from None
        path = os.path.join(folder, cls.files()[1])
        try:
            with open(path, encoding="utf-8") as stream:
                settings = json.load(stream)
            if settings.pop("detector") != cls.name:
                raise ValueError(f"not detector {cls.name}'s")
            return cls.from_state(arrays, settings)
        except (ValueError, OSError, KeyError, TypeError, AttributeError) as err:
            raise InputError(path, f"not the fitted detector {cls.name} soart writes "
                                   f"({(str(err) or repr(err)).splitlines()[0]})"
                             ) from None
