"""Fit once, score anywhere: each detector of the registry is an estimator fitted on the
judges alone (soart_core.detectors), whose scores are those of the one-call arithmetic
it replaced (transcribed below), kept in plain files that load back to the same scores
and refuse a pickle, and scoring each item from the fitted state alone."""

import inspect
import os
import pickle
import zipfile

import numpy as np
import pytest

from soart_core import stages
from soart_core.detectors import REGISTRY, Pixels, load, save
from soart_core.errors import InputError
from soart_core.settings import load_schema
from soart_core.verdicts import SCORE_DECIMALS, left_out_raw, mt_distances, \
    reference_weight_score


def tables(seed):
    """(items, judges, in_reference, pixels): random metric tables of random sizes, the
    items wider than the judges (beyond their range, as defects are), and random
    pixel-level evidence."""
    rng = np.random.default_rng(seed)
    metrics, features = int(rng.integers(1, 4)), int(rng.integers(1, 7))
    n_judges, n_items = int(rng.integers(6, 30)), int(rng.integers(1, 40))
    in_reference = rng.random(n_judges) < 0.6
    in_reference[:3], in_reference[-1] = True, False
    judges = [rng.normal(size=(n_judges, features)) + ~in_reference[:, None]
              for _ in range(metrics)]
    items = [rng.normal(0, 1 + seed % 3, (n_items, features)) for _ in range(metrics)]
    n = int(in_reference.sum())
    pixels = Pixels(rng.gamma(2, 1, n_items), rng.gamma(2, 1, n), rng.integers(0, 9, n_items),
                    rng.integers(0, 9, n_items), rng.integers(0, 9, (n_items, 4)),
                    rng.gamma(2, 1, (n_items, features)))
    return items, judges, in_reference, pixels


# ---- the one-call arithmetic before the estimators (soart_core/detectors.py), as it was:
# (items, judges, in_reference, pixels) -> (items' raw, reference judges' raw, extras)
def old_bounded(raw):
    return np.round(raw / (1.0 + raw), SCORE_DECIMALS)


def old_attention(items, judges, in_reference, pixels, feature_scale="judges",
                  temperature=1.0):
    ll, x = np.hstack(judges), np.hstack(items)
    if feature_scale == "judges":
        ll, x = stages.scale_features(ll, x)
    tau = stages.judge_temperature(ll) * float(temperature)
    own = stages.judge_attention(ll, ll, tau, leave_out_self=True)
    raw, weights = left_out_raw(x, ll, tau, in_reference)
    return raw, reference_weight_score(own[in_reference], np.where(
        in_reference, "reference", "other"), "reference"), {"weights": weights}


def old_surprise(value, mean, sd, n):
    from scipy.stats import t

    statistic = np.abs(value - mean) / (sd * np.sqrt(1.0 + 1.0 / n))
    with np.errstate(divide="ignore"):
        surprise = -(np.log(2.0) + t.logsf(statistic, n - 1)) / np.log(10.0)
    return np.minimum(surprise, 300.0)


def old_regions(items, judges, in_reference, pixels):
    reference = [t[in_reference] for t in judges]
    n = len(reference[0])
    item_s, judge_s = 0.0, 0.0
    for x, ref in zip(items, reference):
        floor = stages.RESOLUTION * max(float(np.abs(ref).max(initial=0.0)), 1.0)
        total, squares = ref.sum(axis=0), (ref ** 2).sum(axis=0)
        mean = total / n
        sd = np.sqrt(np.maximum((squares - n * mean ** 2) / (n - 1), 0.0)) + floor
        loo_mean = (total - ref) / (n - 1)
        loo_sd = np.sqrt(np.maximum((squares - ref ** 2 - (n - 1) * loo_mean ** 2)
                                    / (n - 2), 0.0)) + floor
        item_s = np.maximum(item_s, old_surprise(x, mean, sd, n))
        judge_s = np.maximum(judge_s, old_surprise(ref, loo_mean, loo_sd, n - 1))
    return (old_bounded(item_s.max(axis=1)), old_bounded(judge_s.max(axis=1)),
            {"region_raw": old_bounded(item_s)})


def old_mt(items, judges, in_reference, pixels):
    x = np.vstack([np.hstack(judges)[in_reference], np.hstack(items)])
    n = int(in_reference.sum())
    distances, _, _ = mt_distances(x, np.arange(len(x)) < n, max_loo_items=len(x))
    return old_bounded(distances[n:]), old_bounded(distances[:n]), {}


def old_patches(items, judges, in_reference, pixels):
    return (old_bounded(pixels.item_raw), old_bounded(pixels.judge_raw),
            {"region_raw": old_bounded(pixels.item_regions)})


OLD = {"attention": old_attention, "regions": old_regions, "mt": old_mt,
       "patches": old_patches}
# the old MT scaled the items' unit space by the largest value of the judges' and the
# batch's rows (the distance does not change, its last bits may): fitted without the
# items, at most this far apart before the 1e-9 grid of the raw scores (on these tables,
# identical after it)
MT_TOLERANCE = 1e-12


def test_the_registry_is_the_old_arithmetic():
    assert set(OLD) == set(REGISTRY)


@pytest.mark.parametrize("name", list(REGISTRY))
@pytest.mark.parametrize("seed", range(8))
def test_fit_then_score_is_the_one_call_arithmetic(name, seed):
    items, judges, in_reference, pixels = tables(seed)
    every = [{}] + ([{"feature_scale": "none", "temperature": 0.5}]
                    if name == "attention" else [])
    for settings in every:
        fitted = REGISTRY[name].estimator().fit(judges, in_reference, pixels, **settings)
        raw, extras = fitted.score(items, pixels)
        old_raw, old_judge_raw, old_extras = OLD[name](items, judges, in_reference, pixels,
                                                       **settings)
        np.testing.assert_array_equal(fitted.judge_raw_, old_judge_raw)
        assert set(extras) == set(old_extras)
        if name == "mt":
            np.testing.assert_allclose(raw, old_raw, rtol=0, atol=MT_TOLERANCE)
        else:
            np.testing.assert_array_equal(raw, old_raw)
            for key in extras:
                np.testing.assert_array_equal(extras[key], old_extras[key])


@pytest.mark.parametrize("name", list(REGISTRY))
def test_the_plain_files_give_the_same_scores(name, tmp_path):
    items, judges, in_reference, pixels = tables(1)
    fitted = {name: REGISTRY[name].estimator().fit(judges, in_reference, pixels)}
    written = save(fitted, str(tmp_path))
    assert sorted(written) == sorted(os.listdir(tmp_path)) == [f"{name}.json", f"{name}.npz"]
    again = load([name], str(tmp_path))[name]
    np.testing.assert_array_equal(again.judge_raw_, fitted[name].judge_raw_)
    # saved again, the same bytes, at any time of day: a rebuilt reference keeps its id
    # (np.savez stamps each member with the time)
    save(fitted, str(tmp_path / "again"))
    first = tmp_path / f"{name}.npz"
    assert (tmp_path / "again" / f"{name}.npz").read_bytes() == first.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert {m.date_time for m in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    raw, extras = fitted[name].score(items, pixels)
    raw_again, extras_again = again.score(items, pixels)
    np.testing.assert_array_equal(raw_again, raw)
    for key in extras:
        np.testing.assert_array_equal(extras_again[key], extras[key])


def test_every_detector_shares_one_folder(tmp_path):
    items, judges, in_reference, pixels = tables(2)
    fitted = {name: d.estimator().fit(judges, in_reference, pixels)
              for name, d in REGISTRY.items()}
    assert len(set(save(fitted, str(tmp_path)))) == 2 * len(REGISTRY)
    for name, again in load(list(REGISTRY), str(tmp_path)).items():
        np.testing.assert_array_equal(again.score(items, pixels)[0],
                                      fitted[name].score(items, pixels)[0])


def test_a_pickle_is_refused_in_one_line_naming_the_file(tmp_path):
    items, judges, in_reference, pixels = tables(3)
    fitted = {"attention": REGISTRY["attention"].estimator().fit(judges, in_reference)}
    save(fitted, str(tmp_path))
    np.savez(tmp_path / "attention.npz", mean=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError, match=r"attention\.npz: not a fitted detector soart "
                                         r"writes \(.*pickled objects are never loaded\)"
                       ) as caught:
        load(["attention"], str(tmp_path))
    assert "\n" not in str(caught.value)
    with open(tmp_path / "attention.npz", "wb") as stream:  # a pickle in its place
        pickle.dump({"mean": 0.0}, stream)
    with pytest.raises(InputError, match=r"attention\.npz: not a fitted detector"):
        load(["attention"], str(tmp_path))
    save(fitted, str(tmp_path))
    (tmp_path / "attention.json").write_text('{"detector": "mt"}')
    with pytest.raises(InputError, match=r"attention\.json: not the fitted detector "
                                         r"attention"):
        load(["attention"], str(tmp_path))


@pytest.mark.parametrize("name", list(REGISTRY))
def test_an_item_scores_the_same_in_any_batch(name):
    """Scored twice, in another order, or alone: each item's raw and extras are the
    same, and scoring changes nothing of the fitted state (no item fits it)."""
    items, judges, in_reference, pixels = tables(4)
    fitted = REGISTRY[name].estimator().fit(judges, in_reference, pixels)
    before = fitted.state()
    raw, extras = fitted.score(items, pixels)
    order = np.random.default_rng(0).permutation(len(raw))

    def rows(take):
        return fitted.score([t[take] for t in items], Pixels(
            pixels.item_raw[take], pixels.judge_raw, pixels.peak_row[take],
            pixels.peak_col[take], pixels.box[take], pixels.item_regions[take]))

    np.testing.assert_array_equal(fitted.score(items, pixels)[0], raw)
    shuffled, shuffled_extras = rows(order)
    np.testing.assert_array_equal(shuffled, raw[order])
    for k in range(len(raw)):
        alone, alone_extras = rows(np.array([k]))
        assert alone[0] == raw[k]
        for key in extras:  # (the attention's weights: a matrix product's last bit
            # depends on how many rows it multiplies; its raw, on a 1e-9 grid, does not)
            np.testing.assert_allclose(alone_extras[key][0], extras[key][k], rtol=0,
                                       atol=1e-15)
    for key in extras:
        np.testing.assert_array_equal(shuffled_extras[key], extras[key][order])
    after = fitted.state()
    assert before[1] == after[1]
    for key in before[0]:
        np.testing.assert_array_equal(after[0][key], before[0][key])


def test_the_schemas_detector_settings_are_the_estimators():
    """config verdicts.detectors names registry entries, each setting a keyword of its
    estimator's fit."""
    schema = load_schema(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))[
        "properties"]["verdicts"]["properties"]["detectors"]["properties"]
    assert set(schema) <= set(REGISTRY)
    for name, entry in schema.items():
        keywords = inspect.signature(REGISTRY[name].estimator.fit).parameters
        assert set(entry["properties"]) <= {k for k, p in keywords.items()
                                            if p.kind == p.KEYWORD_ONLY}, name
