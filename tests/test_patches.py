"""The pixel-level detector (soart_core.patches): its arithmetic against plain
transcriptions, its promise on fresh normal images, and the example's defects found
where the generator drew them."""

import io
import os

import numpy as np
import pytest

from soart_core import patches
from soart_core.example import example_images
from soart_core.verdicts import bounded, calibrate

TOLERANCE = 1e-4  # float32 memory: distances agree to this share across CPUs


def product(rng, count, size=32, spot=None):
    """Views of one smooth aligned product (shifted up to 1 px, gain, offset, noise);
    `spot`: (row, col) of a dark 5 x 5 spot pasted on each view."""
    yy, xx = np.mgrid[:size + 4, :size + 4]
    base = 100 + 60 * np.sin(yy / 3.0) * np.cos(xx / 4.0) + 40 * ((yy // 8 + xx // 8) % 2)
    views = []
    for _ in range(count):
        dy, dx = rng.integers(-1, 2, size=2)
        view = base[2 + dy:2 + dy + size, 2 + dx:2 + dx + size] * rng.uniform(0.97, 1.03)
        view = view + rng.uniform(-4, 4) + rng.normal(0, 2, (size, size))
        if spot is not None:
            view[spot[0] - 2:spot[0] + 3, spot[1] - 2:spot[1] + 3] *= 0.4
        views.append(np.clip(view, 0, 255))
    return np.array(views)


def test_kcenter_is_the_greedy_farthest_point_transcribed():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(3, 40, 5))
    picked = patches.kcenter(points, 7)
    for block, chosen in zip(points, picked):
        first = int(((block - block.mean(axis=0)) ** 2).sum(axis=1).argmax())
        mine = [first]
        while len(mine) < 7:  # the textbook loop, one point at a time
            far = [min(((p - block[c]) ** 2).sum() for c in mine) for p in block]
            mine.append(int(np.argmax(far)))
        assert list(chosen) == mine


def test_near_map_is_the_nearest_judge_patch_transcribed():
    """Grey patches, full dimension: a location's value is the distance from the item's
    7 x 7 window to the nearest window of a judge (or its half-pixel shifts) within the
    radius, written out loop by loop; a judge's own map leaves it out."""
    rng = np.random.default_rng(2)
    judges = product(rng, 4, size=20)
    item = product(rng, 1, size=20)[0]
    settings = dict(patches.DEFAULTS, channels=["grey"], dims=49, patch=7, stride=1,
                    radius=1, memory=10 ** 6, loss=False, normalise="none", search="near")
    model = patches.fit(judges, settings)
    spread = model.arrays["spread_0"][0]
    got = patches._components(model, item[None])[0].reshape(20, 20)
    own = patches._components(model, judges, own=np.arange(4))[0].reshape(4, 20, 20)
    moved = patches.half_shifts(judges)

    def window(image, r, c):  # the nearest window inside the image
        r, c = min(max(r, 3), 16), min(max(c, 3), 16)
        return image[r - 3:r + 4, c - 3:c + 4]

    for r, c in [(0, 0), (5, 9), (10, 10), (19, 12)]:
        for query, others, value in [(item, range(4), got[r, c]),
                                     (judges[2], [0, 1, 3], own[2, r, c])]:
            best = min(((window(query, r, c) - window(moved[j, v], min(max(r + dy, 0), 19),
                                                        min(max(c + dx, 0), 19))) ** 2).sum()
                       for j in others for v in range(4) for dy in (-1, 0, 1)
                       for dx in (-1, 0, 1))
            assert value == pytest.approx(np.sqrt(best) / spread, rel=TOLERANCE)


def test_anywhere_map_in_units_of_the_judges_spacing_transcribed():
    """Search `anywhere` with `density`: a location's value is the least over the
    memory patches of the item's patch's distance to one, times the median over the
    memory of each patch's distance to the nearest patch of another judge, divided by
    that patch's own (at least the median); a judge's own map leaves its patches out of
    both, the match and the spacing. Written out patch by patch on the model's
    descriptors."""
    rng = np.random.default_rng(6)
    texture = rng.normal(120, 30, (5, 16, 16))
    item = rng.normal(120, 30, (1, 16, 16))
    settings = dict(patches.DEFAULTS, stride=4, loss=False, search="anywhere",
                    anywhere_memory=10 ** 6)
    model = patches.fit(texture, settings)
    memory = model.arrays["anywhere_0"].astype(np.float64)
    owner = model.arrays["anywhere_owner_0"]

    def spacing(row, left_out):  # nearest patch of a judge other than row's and left_out
        return min(np.sqrt(((memory[row] - memory[k]) ** 2).sum()) for k in range(len(memory))
                   if owner[k] not in (owner[row], left_out))

    typical = np.median([spacing(k, None) for k in range(len(memory))])
    changed = []  # the locations where the spacing changes the value

    def value(query, left_out):
        rows = [k for k in range(len(memory)) if owner[k] != left_out]
        plain = min(np.sqrt(((query - memory[k]) ** 2).sum()) for k in rows)
        scaled = min(np.sqrt(((query - memory[k]) ** 2).sum()) * typical
                     / max(spacing(k, left_out), typical) for k in rows)
        changed.append(abs(scaled - plain) > 1e-3 * plain)
        return scaled

    got = patches._components(model, item)[0][0]
    own = patches._components(model, texture, own=np.arange(5))[0]
    item_desc = patches.descriptors(model, item, 0)[0].reshape(-1, memory.shape[1])
    judge_desc = patches.descriptors(model, texture, 0)[0].reshape(5, -1, memory.shape[1])
    for location in range(len(got)):
        assert got[location] == pytest.approx(value(item_desc[location], None),
                                              rel=TOLERANCE)
        assert own[3, location] == pytest.approx(value(judge_desc[3, location], 3),
                                                 rel=TOLERANCE)
    assert 0 < sum(changed) < len(changed)


def test_anywhere_loss_is_below_the_lowest_sharpness_of_any_judge():
    """Search `anywhere`: the loss is how far an image's local sharpness falls below
    the lowest anywhere on any judge (a judge's: on any other judge)."""
    judge_loss = np.array([[3.0, 2.0], [1.5, 4.0], [2.5, 2.2]])
    loss = np.array([[1.0, 2.0]])
    got = patches._losses(judge_loss, loss, "anywhere", None, (1, 2), 1)[0]
    np.testing.assert_array_equal(got, [[0.5, 0.0]])
    own = patches._losses(judge_loss, judge_loss, "anywhere", np.arange(3), (1, 2), 1)[0]
    # judge 1 holds the lowest (1.5): its own floor is the others' lowest, 2.0
    np.testing.assert_array_equal(own, [[0.0, 0.0], [0.5, 0.0], [0.0, 0.0]])


def test_a_spot_is_found_where_it_is():
    """A dark 5 x 5 spot on an aligned product (20 judges): every view flagged, the
    peak on the spot, the defect's box around it."""
    rng = np.random.default_rng(3)
    judges = product(rng, 20)
    model = patches.fit(judges)
    assert model.search == "near"
    spotted = product(rng, 10, spot=(12, 21))
    maps = patches.score(model, spotted)
    rows, cols, boxes = patches.peaks(maps)
    off = np.maximum(np.abs(rows - 12), np.abs(cols - 21))
    # locations every 2 px: the peak within 2 px for most, within 3 for all
    assert (off <= 2).mean() >= 0.8 and (off <= 3).all()
    for (top, left, height, width) in boxes:  # the box holds the spot's centre
        assert top <= 12 < top + height and left <= 21 < left + width
    score, _, _ = calibrate(bounded(maps.reshape(10, -1).max(axis=1)),
                            bounded(patches.judge_raw(model)), 0.05)
    assert (score >= 0.95).all()


def test_the_box_bounds_the_part_the_figure_outlines():
    """`where`'s box (peaks) is the bounding box of defect_part, which the defect
    figure outlines; the peak lies in that part; on maps with two bumps and a plateau."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[:32, :32]
    maps = np.array([np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / w)
                     + 0.7 * np.exp(-((yy - 25) ** 2 + (xx - 5) ** 2) / 4)
                     + 0.05 * rng.random((32, 32))
                     for r, c, w in [(8, 20, 6.0), (16, 16, 20.0), (3, 28, 2.0)]])
    rows, cols, boxes = patches.peaks(maps)
    for k, (top, left, height, width) in enumerate(boxes):
        part = patches.defect_part(maps[k])
        found = np.argwhere(part)
        assert (top, left) == tuple(found.min(axis=0))
        assert (top + height - 1, left + width - 1) == tuple(found.max(axis=0))
        assert part[rows[k], cols[k]]
        assert not part[25, 5]  # the second bump is another part


def test_false_alarms_on_fresh_normal_images_keep_the_promise():
    """Fitted on 20 and on 40 judges, several draws, 100 fresh normal views each: the
    flag's pooled rate stays near the promised 0.05 (conformal: at most it, less by
    the judges' discreteness), and well off zero (the flag is not just timid)."""
    flagged, seen = 0, 0
    for judges, seed in [(20, 10), (20, 11), (40, 12), (40, 13)]:
        rng = np.random.default_rng(seed)
        model = patches.fit(product(rng, judges))
        fresh = patches.score(model, product(rng, 100)).reshape(100, -1).max(axis=1)
        score, _, _ = calibrate(bounded(fresh), bounded(patches.judge_raw(model)), 0.05)
        flagged += int((score >= 0.95).sum())
        seen += 100
    assert 0.005 <= flagged / seen <= 0.10


@pytest.mark.parametrize("search", ["near", "anywhere"])
def test_identical_items_claim_nothing(search):
    """Judges and items all one image: every map is zero, every item scores the same
    and none is flagged (nothing tells them apart, so nothing is claimed)."""
    rng = np.random.default_rng(8)
    image = product(rng, 1)[0]
    model = patches.fit(np.repeat(image[None], 6, axis=0),
                        dict(patches.DEFAULTS, search=search))
    maps = patches.score(model, np.repeat(image[None], 4, axis=0))
    assert not maps.any() and not patches.judge_raw(model).any()
    score, _, _ = calibrate(bounded(maps.reshape(4, -1).max(axis=1)),
                            bounded(patches.judge_raw(model)), 0.05)
    assert len(set(score)) == 1 and not (score >= 0.95).any()


def test_textures_are_searched_anywhere():
    rng = np.random.default_rng(4)
    texture = rng.normal(120, 30, (12, 32, 32))
    assert not patches.aligned(texture)
    assert patches.fit(texture).search == "anywhere"


def test_the_model_round_trips_through_plain_files(tmp_path):
    rng = np.random.default_rng(5)
    model = patches.fit(product(rng, 6))
    items = product(rng, 3, spot=(8, 8))
    model.save(tmp_path / "m.npz", tmp_path / "m.json")
    again = patches.Model.load(tmp_path / "m.npz", tmp_path / "m.json")
    np.testing.assert_array_equal(patches.score(model, items), patches.score(again, items))


def test_a_pickled_array_in_the_model_is_refused(tmp_path):
    rng = np.random.default_rng(6)
    patches.fit(product(rng, 4)).save(tmp_path / "m.npz", tmp_path / "m.json")
    buffer = io.BytesIO()
    np.savez(buffer, spread_0=np.array([{"a": 1}], dtype=object))
    (tmp_path / "m.npz").write_bytes(buffer.getvalue())
    with pytest.raises(ValueError):
        patches.Model.load(tmp_path / "m.npz", tmp_path / "m.json")


def test_the_example_defects_are_flagged_on_the_part_drawn():
    """The shipped example (3 normal judges): at least 18 of the 20 defective images
    flagged, at most 1 of the 10 normal ones, and each flagged defect's peak within
    2 px of the pin, scratch or stain the generator drew."""
    drawn = list(example_images())
    judges = np.array([p for path, p, _ in drawn if path.startswith(os.path.join(
        "learn", "NORMAL"))], dtype=np.float64)
    valid = [(path, p, mask) for path, p, mask in drawn if path.startswith("valid")]
    pixels = np.array([p for _, p, _ in valid], dtype=np.float64)
    model = patches.fit(judges)
    maps = patches.score(model, pixels)
    score, _, _ = calibrate(bounded(maps.reshape(len(maps), -1).max(axis=1)),
                            bounded(patches.judge_raw(model)), 0.05)
    flag = score >= 0.95
    defective = np.array([mask.any() for _, _, mask in valid])
    assert flag[defective].sum() >= 18 and flag[~defective].sum() <= 1
    rows, cols, _ = patches.peaks(maps)
    for k in np.flatnonzero(flag & defective):
        ys, xs = np.nonzero(valid[k][2])
        assert np.hypot(ys - rows[k], xs - cols[k]).min() <= 2, valid[k][0]


def test_an_items_map_is_the_same_in_any_batch():
    """An aligned product (search near) and a texture (anywhere, density): an item's
    map alone, among others, in another order: the same to the last bit."""
    rng = np.random.default_rng(7)
    texture = rng.normal(120, 30, (20, 32, 32))
    for judges, items in [
            (product(rng, 8), np.concatenate([product(rng, 5), product(rng, 3, spot=(20, 10))])),
            (texture[:12], np.concatenate([texture[12:], product(rng, 2)]))]:
        model = patches.fit(judges)
        together = patches.score(model, items)
        backwards = patches.score(model, items[::-1])[::-1]
        np.testing.assert_array_equal(backwards, together)
        for k in (0, 6):
            np.testing.assert_array_equal(patches.score(model, items[k:k + 1])[0],
                                          together[k])
    assert model.search == "anywhere"


def test_the_map_is_a_metric_kind_too(tmp_path):
    """images.kinds `patch`: each region's maximum of the anomaly map, the same numbers
    as the pixel-level detector's own region scores (patches/scores.csv), so that the
    seed's attention, blocks and MT can run on it."""
    import yaml

    import in_process
    from conftest import copy_workflow
    from soart_core.tables import read_columns

    workdir = copy_workflow(tmp_path / "wf", tables=False)
    (workdir / "patch.yaml").write_text(yaml.safe_dump(
        {"images": {"kinds": {"Y1": "patch", "Y2": "eta", "Y3": "gamma"}}}))
    in_process.run(workdir, configfiles=[str(workdir / "patch.yaml")])
    scores = read_columns(workdir / "results" / "patches" / "scores.csv",
                          text=("image", "set", "group", "looks"))
    at = {(s, n): k for k, (s, n) in enumerate(zip(scores["set"], scores["image"]))}
    for set_name in ("learn", "valid"):
        table = read_columns(workdir / "results" / "metrics" / f"{set_name}_btY1_gs"
                             f"{'_class' if set_name == 'learn' else ''}.csv",
                             text=("image", "class"))
        features = [c for c in table if c.startswith("X")]
        rows = [at[(set_name, name)] for name in table["image"]]
        np.testing.assert_allclose(np.column_stack([table[c] for c in features]),
                                   np.column_stack([scores[c][rows] for c in features]),
                                   rtol=1e-12)
    assert (workdir / "results" / "verdicts" / "summary.csv").exists()


def test_the_settings_are_the_schemas():
    """patches.DEFAULTS, SEARCHES, NORMALISES and CHANNELS are the schema's defaults and
    enums of config key `patches` (and config.yaml's values): one set of settings."""
    import yaml

    from conftest import ROOT
    from soart_core.settings import load_schema

    schema = load_schema(str(ROOT))["properties"]["patches"]["properties"]
    assert {k: v["default"] for k, v in schema.items()} == patches.DEFAULTS
    assert tuple(schema["search"]["enum"]) == patches.SEARCHES
    assert tuple(schema["normalise"]["enum"]) == patches.NORMALISES
    assert tuple(schema["channels"]["items"]["enum"]) == patches.CHANNELS
    shipped = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    assert shipped["patches"] == patches.DEFAULTS


def test_the_answer_sheet_links_each_flagged_images_figure(images_run):
    """The workbook's answer sheet: a flagged image's `figure` opens its defect figure
    (a HYPERLINK to figures/defects/, beside the workbook), every one of them there."""
    from openpyxl import load_workbook

    results = images_run / "results"
    sheet = load_workbook(results / "workbook.xlsx")["answer"]
    header = [c.value for c in sheet[1]]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)
            if row[0].value is not None]
    flagged = [r for r in rows if r[header.index("flag")] == "abnormal"]
    assert flagged and all(r[header.index("figure")] is None for r in rows
                           if r[header.index("flag")] != "abnormal")
    for row in flagged:
        link = row[header.index("figure")]
        target = link.split('"')[1]
        assert link.startswith('=HYPERLINK("figures/defects/') and (results / target).is_file()
    # (Snakemake keeps its .snakemake_timestamp in a folder it made)
    assert len({r[header.index("figure")] for r in flagged}) == len(list(
        (results / "figures" / "defects").glob("*.png")))


def test_images_too_small_for_a_patch_are_one_line(tmp_path):
    """5 x 5 images and the default 7 x 7 patch: one line naming an image, the size and
    the config keys; no patches output left behind."""
    import yaml
    from PIL import Image

    import in_process
    from conftest import copy_workflow

    workdir = copy_workflow(tmp_path / "wf", tables=False)
    rng = np.random.default_rng(8)
    for set_name, count in (("learn", 4), ("valid", 3)):
        for group in ("NORMAL", "ERROR_A"):
            folder = workdir / "tiny" / set_name / group
            folder.mkdir(parents=True)
            for k in range(count):
                Image.fromarray(rng.integers(90, 160, (5, 5)).astype(np.uint8)).save(
                    folder / f"{k}.png")
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(
        {"images_dir": "tiny", "groups": {"order": ["NORMAL", "ERROR_A"]},
         "images": {"grid": [1, 1]}}))
    out = in_process.run(workdir, "patches", configfiles=[str(workdir / "tiny.yaml")],
                         check=False)
    errors = [x for x in out.stdout.splitlines() if x.startswith("soart: error")]
    assert out.returncode == 1 and len(errors) == 1, out.stdout[-2000:]
    assert "5 x 5 pixels" in errors[0] and "patches.patch" in errors[0], errors[0]
    assert not (workdir / "results" / "patches" / "scores.csv").exists()
