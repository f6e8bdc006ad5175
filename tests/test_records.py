"""A scored day is a record (soart_core.reference): drift at each day's own rate, days
of no image, names Snakemake cannot take, a forged reference, rescoring refused."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from soart_core import reference
from soart_core.errors import InputError
from soart_core.settings import forced_rules


def record(ref_id, false_alarm, images, flagged):
    return {"reference": ref_id, "false_alarm": false_alarm, "images": images,
            "flagged": flagged}


def test_drift_charts_each_day_at_the_rate_that_scored_it():
    rows = reference.drift(["old", "new", "empty"],
                           {"old": record("a", 0.05, 100, 12),
                            "new": record("b", 0.2, 100, 12),
                            "empty": record("b", 0.2, 0, 0)})
    assert rows["centre"] == [0.05, 0.2, 0.2]
    assert rows["reference"] == ["a", "b", "b"]
    upper = 0.05 + 3 * np.sqrt(0.05 * 0.95 / 100)
    assert rows["upper_limit"][0] == pytest.approx(upper, rel=1e-12)
    assert rows["drifting"] == [True, False, False]  # 0.12 > 0.115 at 5 %; not at 20 %
    assert rows["images"][2] == 0 and np.isnan(rows["rate"][2])


def test_a_day_record_round_trips_and_a_damaged_one_is_one_line(tmp_path):
    ref = SimpleNamespace(id="abc", settings={"false_alarm": 0.05})
    path = tmp_path / "record.json"
    written = reference.write_record(str(path), batch="monday", reference=ref, images=3,
                                     flagged=1, rejected=2, on_bad_image="skip", code="c")
    assert reference.read_record(str(path)) == written
    assert reference.recorded(str(tmp_path.parent), [tmp_path.name, "other"]) == [
        tmp_path.name]
    path.write_text("{")
    with pytest.raises(InputError, match=r"record\.json: not a day's record"):
        reference.read_record(str(path))
    path.write_text(json.dumps({"reference": "abc"}))
    with pytest.raises(InputError, match="it needs reference, false_alarm"):
        reference.read_record(str(path))


def test_a_brace_name_is_refused_by_its_name():
    assert reference.refused_name("batches/monday/{batch}.png").startswith(
        "the file name holds { or }")
    assert reference.refused_name("batches/mon{day}/a.png") is None  # folders: checked
    assert reference.refused_name("batches/monday/a.png") is None


def test_rescoring_a_recorded_day_is_refused_in_one_line(tmp_path):
    day = tmp_path / "monday"
    day.mkdir()
    reference.write_record(str(day / reference.RECORD), batch="monday",
                           reference=SimpleNamespace(id="r1", settings={"false_alarm": .05}),
                           images=1, flagged=0, rejected=0, on_bad_image="stop", code="")
    reference.refuse_rescoring(["monday"], {"attention"}, str(tmp_path))  # not asked
    for forced in ({"batch"}, {str(day / "verdicts.csv")}):
        with pytest.raises(InputError, match=rf"monday: a scored day is a record.*mv "
                                             rf"{day} {day}\.r1"):
            reference.refuse_rescoring(["monday"], forced, str(tmp_path))


def test_forced_rules_from_the_command_line():
    planning = SimpleNamespace(dag_settings=None)
    assert forced_rules(planning, ["snakemake", "--cores", "2", "--forcerun", "batch",
                                   "drift", "--configfile", "my.yaml"]) == {"batch", "drift"}
    assert forced_rules(planning, ["snakemake", "-R", "batch"]) == {"batch"}
    assert forced_rules(planning, ["snakemake", "--forcerun=batch"]) == {"batch"}
    assert forced_rules(planning, ["snakemake", "--cores", "2", "all"]) == set()
    running = SimpleNamespace(dag_settings=SimpleNamespace(forcerun=frozenset({"x"})))
    assert forced_rules(running, []) == {"x"}


def forged(folder, pixels, spread=None, fitted=None):
    """A reference folder whose id matches its files, pixels.npy as given, and a
    pixel-level detector fitted on two small images (its array spread_0 as given);
    `fitted`: {name: fitted detector} saved under detectors/ (None: no such key, as
    before the detectors were kept)."""
    from soart_core import detectors, patches

    folder.mkdir()
    (folder / "judges_Y1.csv").write_text("judge,group,X0\nj,NORMAL,0.5\n")
    np.save(folder / "pixels.npy", pixels, allow_pickle=True)
    kept = {} if fitted is None else {"fitted": list(fitted)}
    (folder / "settings.json").write_text(json.dumps({"words": ["Y1"], **kept}))
    model = patches.fit(np.random.default_rng(0).normal(100, 5, (2, 12, 12)))
    if spread is not None:
        model.arrays["spread_0"] = spread
    with open(folder / "patches.npz", "wb") as stream:
        np.savez(stream, **model.arrays)  # (savez pickles an object array)
    (folder / "patches.json").write_text(json.dumps({"settings": model.settings,
                                                     "shape": [12, 12], "search": "near"}))
    names = ["judges_Y1.csv", "pixels.npy", "settings.json", "patches.npz", "patches.json"]
    if fitted is not None:
        names += [f"detectors/{n}" for n in detectors.save(fitted, str(folder / "detectors"))]
    ref_id = reference._digest(str(folder), names)
    (folder / "reference.json").write_text(json.dumps({"id": ref_id, "words": ["Y1"],
                                                       **kept}))
    return folder


def test_the_fitted_detectors_load_and_a_forged_one_is_one_line(tmp_path):
    """A reference keeps each detector fitted (detectors/<name>.npz, .json), which a
    batch scores with; a pickled one, or none kept (an older soart's), is refused."""
    from soart_core import detectors

    rng = np.random.default_rng(0)
    judges, in_reference = [rng.normal(size=(8, 3))], np.arange(8) < 5
    fitted = {"mt": detectors.MT().fit(judges, in_reference)}
    items = [rng.normal(size=(4, 3))]
    loaded = reference.load(str(forged(tmp_path / "kept", np.zeros((2, 3)), fitted=fitted)))
    np.testing.assert_array_equal(loaded.detectors["mt"].score(items)[0],
                                  fitted["mt"].score(items)[0])
    folder = forged(tmp_path / "pickled", np.zeros((2, 3)), fitted=fitted)
    np.savez(folder / "detectors" / "mt.npz", location=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError, match="not those of id"):  # the digest first
        reference.load(str(folder))
    # a pickle whose id matches (forged with it): never loaded, in one line
    saved = json.loads((folder / "reference.json").read_text())
    saved["id"] = reference._digest(str(folder), [
        "judges_Y1.csv", "pixels.npy", "settings.json", "patches.npz", "patches.json",
        "detectors/mt.npz", "detectors/mt.json"])
    (folder / "reference.json").write_text(json.dumps(saved))
    with pytest.raises(InputError, match=r"mt\.npz: not a fitted detector soart writes "
                                         r"\(.*pickled objects are never loaded\); build "
                                         r"the reference again$"):
        reference.load(str(folder))
    with pytest.raises(InputError, match=r"reference\.json: no fitted detectors"):
        reference.load(str(forged(tmp_path / "older", np.zeros((2, 3)))))


def test_a_forged_pixels_file_is_one_line(tmp_path):
    folder = forged(tmp_path / "pickled", np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError, match=r"pixels\.npy: not the pixel array soart writes "
                                         r"\(.*pickled objects are never loaded\)"):
        reference.load(str(folder))
    folder = forged(tmp_path / "ints", np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(InputError, match=r"pixels\.npy: not the pixel array"):
        reference.load(str(folder))
    folder = forged(tmp_path / "model", np.zeros((2, 3)), np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError, match=r"patches\.npz: not the pixel-level detector soart "
                                         r"writes \(.*pickled objects are never loaded\)"):
        reference.load(str(folder))
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "reference.json").write_text("not json")
    with pytest.raises(InputError, match=r"reference\.json: not a reference soart wrote"):
        reference.load(str(tmp_path / "text"))


def test_the_where_figure_takes_regions_without_places(tmp_path):
    """Tables mode, the regions detector uncalibrated: regions.csv has the columns and
    no row; a flagged item's panel says so."""
    from soart_core import answer, figures

    summary = {"item": ["a", "b"], "flag": ["abnormal", "normal"], "score": [0.99, 0.2],
               "where": ["", ""], "nearest_normal": ["j1", "j1"]}
    regions = answer.region_rows({}, [], {})
    assert {"top", "left", "height", "width"} <= set(regions)
    assert figures.where_plot(summary, regions, str(tmp_path / "where.png")) == ["a"]
    assert (tmp_path / "where.png").stat().st_size > 0
