"""The pixel-level detector's arithmetic: a memory of the reference judges' local
patches, and an anomaly map per image (docs/method.md, "The pixel-level detector").

PatchCore (Roth et al., 2022) and PaDiM score an image patch by patch, at the defect's
own scale, against the patches of normal images; so does this module, without a
trained network, on what measured best on real images (benchmarks/patches.py):

- each image, its own grey mean taken out (`normalise`: light and exposure; its
  contrast stays, for a haze or a missing print lowers it), at each scale s of
  `scales` (block means of s x s pixels) gives its `channels` per pixel (by default the
  grey values; also the grey less its local mean, the gradient's and the Laplacian's
  magnitudes), each divided by its spread over the reference judges;
- a location every `stride` pixels gets the `patch` x `patch` window there (the nearest
  window inside the image near the border), projected on the judges' first `dims`
  principal components;
- the memory: per location, the reference judges' windows within `radius` pixels of
  it, each judge also moved by half a pixel (search `near`: an aligned product), or one
  memory of every judge's windows anywhere (search `anywhere`: a texture). Each judge
  keeps its own k-center coreset (PatchCore's greedy subsampling) when the memory
  would exceed `memory` (per location) or `anywhere_memory` windows, so that the
  memory without one judge is exactly the others' memory;
- an item's window scores its distance to the nearest memory window; a reference
  judge's, to the nearest of the *other* judges' (so the judges' maps are out of
  sample, as a new image's is, and the conformal calibration keeps its promise);
  `anywhere` (`density`), the least over the memory of the distance to a window in
  units of how far that window lies from the other judges' windows (at least their
  median): a texture's rare part (a large stone) is as far from its kin as a defect
  is from it, and must not outscore one;
- `loss`: a one-sided loss of sharpness (blur, haze): how far the log local energy of
  the Laplacian falls below the lowest of the judges' near that location (`near`) or
  the lowest anywhere on any of them (`anywhere`);
- each of these maps is divided by its typical worst value on a judge (the median over
  the judges of their maps' maxima; a loss counts from LOSS_FLOOR), and the image's map
  is their largest, linearly interpolated from the locations to the pixels. The
  image's raw score is its map's maximum (its worst patch); `peaks` gives where the
  map peaks and the pixel box of the defect.

`search: auto` takes `near` when the judges are aligned (the per-pixel variance across
the judges is less than half their pixels' total variance), else `anywhere`; `radius:
auto` is the judges' own misalignment. Everything is vectorised over images, locations
and memory; the search is numpy's batched matrix product (measured beside
scikit-learn's and faiss's nearest neighbours: docs/performance.md).
"""

import json
from dataclasses import dataclass, field

import numpy as np

from .tables import write_atomic, write_text

# the defaults of config key `patches` and the names its keys take (the schema holds the
# same: tests/test_patches.py checks)
DEFAULTS = {"patch": 7, "scales": [1], "stride": 2, "radius": "auto", "search": "auto",
            "dims": 24, "memory": 2048, "anywhere_memory": 4096, "sigma": 0.0,
            "channels": ["grey"], "loss": True, "normalise": "mean", "density": True}
SEARCHES = ("auto", "near", "anywhere", "both")
NORMALISES = ("mean", "mean and spread", "none")
CHUNK = 16  # locations per matrix product (memory: CHUNK x images x memory floats)
ITEM_CHUNK = 256  # images scored at once
# a loss of sharpness counts from a third on (log 1.5), however steady the judges are:
# below it, no person sees blur or haze
LOSS_FLOOR = float(np.log(1.5))
TINY = 1e-12
# a map's resolution: 1 is a typical judge's worst patch, and one grey level of 255
# moves a patch's distance by about 1e-2 of that
MAP_DECIMALS = 3


def settings_of(config_patches):
    """The detector's settings: DEFAULTS overridden by config key `patches`."""
    return {**DEFAULTS, **(config_patches or {})}


def _downsample(images, scale):
    """Block means of scale x scale pixels (n x h x w -> n x h/s x w/s)."""
    if scale == 1:
        return images
    n, h, w = images.shape
    h2, w2 = h // scale, w // scale
    return images[:, :h2 * scale, :w2 * scale].reshape(n, h2, scale, w2, scale).mean(
        axis=(2, 4))


CHANNELS = ("grey", "detail", "gradient", "laplacian")


def responses(images, scale, settings):
    """(n x C x h' x w') per pixel at `scale`, the `channels` of `settings`: the grey
    value, the grey value less its local mean (a window of 2 patch + 1), the
    gradient's magnitude (Sobel), the Laplacian's magnitude; and (n x h' x w') the log
    local energy of the Laplacian (sharpness: blur and haze both lower it)."""
    from scipy import ndimage

    patch, sigma = settings["patch"], settings["sigma"]
    g = _downsample(np.asarray(images, dtype=np.float64), scale)
    if settings["normalise"] != "none":  # each image's own offset (light, exposure) out
        g = g - g.mean(axis=(1, 2), keepdims=True)
    if settings["normalise"] == "mean and spread":  # and its own gain (contrast)
        g = g / np.maximum(g.std(axis=(1, 2), keepdims=True), TINY)
    if sigma:  # sensor noise is per pixel
        g = ndimage.gaussian_filter(g, (0, sigma, sigma), mode="reflect")
    # each image on its own: along its rows and columns only, never across images
    def along(values, weights, axis):
        return ndimage.correlate1d(values, weights, axis=axis, mode="reflect")

    laplacian = along(g, [1.0, -2.0, 1.0], 1) + along(g, [1.0, -2.0, 1.0], 2)
    made = {"grey": lambda: g,
            "detail": lambda: g - ndimage.uniform_filter(
                g, (1, 2 * patch + 1, 2 * patch + 1), mode="reflect"),
            # Sobel: a difference along one axis, smoothed along the other
            "gradient": lambda: np.hypot(
                along(along(g, [-1.0, 0.0, 1.0], 1), [1.0, 2.0, 1.0], 2),
                along(along(g, [-1.0, 0.0, 1.0], 2), [1.0, 2.0, 1.0], 1)),
            "laplacian": lambda: np.abs(laplacian)}
    energy = ndimage.uniform_filter(laplacian ** 2, (1, patch, patch), mode="reflect")
    return (np.stack([made[c]() for c in settings["channels"]], axis=1),
            np.log(energy + 1.0))


def grid_shape(shape, stride):
    """The locations' grid (rows, cols): one every `stride` pixels."""
    return (max(shape[0] // stride, 1), max(shape[1] // stride, 1))


def _locations(scale, stride, grid, shape):
    """The rows and columns, in an image at `scale` of `shape`, of the locations:
    location (i, j) is pixel (i stride, j stride) of the image."""
    step = stride // scale
    return (np.minimum(np.arange(grid[0]) * step, shape[0] - 1),
            np.minimum(np.arange(grid[1]) * step, shape[1] - 1))


def windows(channels, patch, rows, cols):
    """(n x len(rows) x len(cols) x C patch^2): the channels' patch x patch window
    around each pixel (rows[i], cols[j]); within `patch` // 2 of the border, the
    nearest window inside the image (a padded window would hold content that a
    shifted view of the same product has not: the border is not a defect)."""
    half = patch // 2
    height, width = channels.shape[2:]
    if height < patch or width < patch:
        raise ValueError(f"a {height} x {width} image at this scale holds no {patch} x "
                         f"{patch} patch")
    view = np.lib.stride_tricks.sliding_window_view(channels, (patch, patch), axis=(2, 3))
    rows = np.clip(rows, half, height - 1 - (patch - 1 - half)) - half
    cols = np.clip(cols, half, width - 1 - (patch - 1 - half)) - half
    at = view[:, :, rows][:, :, :, cols]  # n x C x rows x cols x p x p
    n, c, r, k = at.shape[:4]
    return at.transpose(0, 2, 3, 1, 4, 5).reshape(n, r, k, c * patch * patch)


def kcenter(points, k):
    """Indices (... x k) of PatchCore's greedy k-center coreset of `points` (... x N x
    d), vectorised over the leading axes: first the point farthest from their mean,
    then each time the point farthest from those chosen (ties: the first)."""
    n = points.shape[-2]
    if k >= n:
        return np.broadcast_to(np.arange(n), points.shape[:-2] + (n,)).copy()
    lead = points.shape[:-2]
    flat = points.reshape(-1, n, points.shape[-1])
    far = ((flat - flat.mean(axis=1, keepdims=True)) ** 2).sum(axis=-1)
    chosen = np.empty((len(flat), k), dtype=np.int64)
    nearest = np.full(far.shape, np.inf)
    pick = far.argmax(axis=1)
    rows = np.arange(len(flat))
    for step in range(k):
        chosen[:, step] = pick
        nearest = np.minimum(nearest, ((flat - flat[rows, pick][:, None]) ** 2).sum(axis=-1))
        pick = nearest.argmax(axis=1)
    return chosen.reshape(lead + (k,))


def _shifts(radius_loc):
    r = np.arange(-radius_loc, radius_loc + 1)
    return np.stack(np.meshgrid(r, r, indexing="ij"), axis=-1).reshape(-1, 2)


@dataclass
class Model:
    """A fitted pixel-level detector: what a batch needs to score new images."""
    settings: dict
    shape: tuple  # the images' (h, w)
    search: str  # near, anywhere or both (auto resolved on the judges)
    arrays: dict = field(default_factory=dict)  # name -> array (Model.save's files)

    def save(self, path_npz, path_json):
        """Plain files, each written whole or not at all: the arrays in one .npz
        (NumPy's format, no pickle), the rest in JSON."""
        write_atomic(path_npz, lambda out: np.savez(out, **self.arrays), binary=True)
        write_text(path_json, json.dumps({"settings": self.settings,
                                          "shape": list(self.shape),
                                          "search": self.search}, sort_keys=True))

    @classmethod
    def load(cls, path_npz, path_json):
        with open(path_json, encoding="utf-8") as stream:
            meta = json.load(stream)
        with np.load(path_npz, allow_pickle=False) as saved:
            arrays = {k: saved[k] for k in saved.files}
        return cls(meta["settings"], tuple(meta["shape"]), meta["search"], arrays)


def aligned(judges):
    """Are the judges one aligned product (per-pixel variance across them less than
    half the total variance of their pixels)?"""
    judges = np.asarray(judges, dtype=np.float64)
    total = judges.var()
    return bool(total > 0 and judges.var(axis=0).mean() < 0.5 * total)


MAX_SHIFT = 8  # pixels: misalignment looks this far


def misalignment(judges, rounds=2):
    """How far the judges are out of line with each other, in pixels (at least 1): the
    range over the judges of the whole-pixel shift (within MAX_SHIFT, a quarter of the
    image at most) that best aligns each with their mean image (least squares over the
    image's interior, each image's mean taken out), the mean made again from the
    aligned judges `rounds` times; the larger of rows and columns."""
    judges = np.asarray(judges, dtype=np.float64)
    judges = judges - judges.mean(axis=(1, 2), keepdims=True)
    h, w = judges.shape[1:]
    reach = max(1, min(MAX_SHIFT, h // 4, w // 4))
    steps = np.arange(-reach, reach + 1)
    inner = (slice(reach, h - reach), slice(reach, w - reach))
    rows = cols = np.zeros(len(judges), dtype=int)
    reference = judges.mean(axis=0)
    for _ in range(rounds):
        target = reference[inner]
        cost = np.array([[((judges[:, reach + dy:h - reach + dy, reach + dx:w - reach + dx]
                            - target) ** 2).mean(axis=(1, 2)) for dx in steps]
                         for dy in steps])  # dy x dx x judges
        best = np.round(cost.reshape(-1, len(judges)), 6).argmin(axis=0)
        rows, cols = steps[best // len(steps)], steps[best % len(steps)]
        reference = np.mean([np.roll(j, (-r, -c), axis=(0, 1))
                             for j, r, c in zip(judges, rows, cols)], axis=0)
    return int(max(1, np.ptp(rows), np.ptp(cols)))


def descriptors(model, images, scale_index, dense=False):
    """(n x rows x cols x dims) projected descriptors (float32) and (n x rows x cols)
    loss responses of `images` at the model's scale `scale_index`: at the
    locations, or (`dense`) at every pixel of that scale."""
    s = model.settings
    scale = s["scales"][scale_index]
    grid = grid_shape(model.shape, s["stride"])
    done, losses = [], []
    for start in range(0, len(images), ITEM_CHUNK // 4):
        channels, loss = responses(images[start:start + ITEM_CHUNK // 4], scale, s)
        channels = channels / model.arrays[f"spread_{scale_index}"][None, :, None, None]
        rows, cols = (np.arange(channels.shape[2]), np.arange(channels.shape[3])) if dense \
            else _locations(scale, s["stride"], grid, channels.shape[2:])
        raw = windows(channels, s["patch"], rows, cols)
        done.append(((raw - model.arrays[f"mean_{scale_index}"])
                     @ model.arrays[f"basis_{scale_index}"].T).astype(np.float32))
        rows, cols = _locations(scale, s["stride"], grid, loss.shape[1:])
        losses.append(loss[:, rows][:, :, cols])
    return np.concatenate(done), np.concatenate(losses)


def _nearest(q, m, mask=None, weight=None):
    """Each query's Euclidean distance to its nearest memory row, per block: q (B x n x
    d), m (B x K x d) -> (B x n); `mask` (n x K, True: not that query's to match);
    `weight` (n x K), each distance times its weight, the least of those. The nearest
    row is found by one float32 product (|q|^2 + |m|^2 - 2 q.m; without a weight
    |q|^2 is the query's own and left out), its distance computed again in float64
    from the two rows: the result never rests on the product's rounding, which may
    differ with the batch's size, but for near ties (MAP_DECIMALS rounds those)."""
    q = np.asarray(q, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    scored = np.matmul(
        np.concatenate([q, np.ones(q.shape[:-1] + (1,))], axis=-1).astype(np.float32),
        np.concatenate([-2.0 * m, (m * m).sum(-1)[..., None]], axis=-1).astype(
            np.float32).transpose(0, 2, 1))
    if weight is not None:
        scored = (scored + (q * q).sum(-1)[..., None].astype(np.float32)) * (
            weight * weight).astype(np.float32)
    if mask is not None:
        scored[:, mask] = np.inf
    row = scored.argmin(axis=-1)
    best = np.take_along_axis(m, row[..., None], axis=1)
    distance = np.sqrt(((q - best) ** 2).sum(-1))
    if weight is not None:
        distance = distance * np.take_along_axis(
            np.broadcast_to(weight, scored.shape), row[..., None], axis=-1)[..., 0]
    return distance


def min_distance(queries, memory, owners=None, query_owner=None):
    """Per location: queries (L x n x d), memory (L x K x d) -> (n x L) nearest
    distances; with `owners` (K,) and `query_owner` (n,), a query never matches its
    own owner's rows."""
    mask = None if owners is None else query_owner[:, None] == owners[None, :]
    out = np.empty((queries.shape[1], queries.shape[0]))
    for start in range(0, queries.shape[0], CHUNK):
        part = slice(start, start + CHUNK)
        out[:, part] = _nearest(queries[part], memory[part], mask).T
    return out


def _anywhere_distance(queries, memory, owners=None, query_owner=None, spacing=None):
    """queries (n x L x d) against one memory (K x d) -> (n x L), as min_distance;
    with `spacing` (memory_spacing's), the least over the memory rows of the distance
    to a row in units of how far that row lies from the other judges' rows (at least
    their median), times that median: a rare part of a texture is as far from its kin
    as a defect is from it, a common part is not. A judge's own rows are left out of
    the other rows' spacing too."""
    n, locations, d = queries.shape
    flat = queries.reshape(-1, d)
    owner = None if owners is None else np.repeat(query_owner, locations)
    if spacing is not None:
        two, nearest_owner = spacing
        typical = np.median(two[:, 0])
        # (2 judges: a row whose only other judge is the query's own has no spacing)
        two = np.where(np.isfinite(two), np.maximum(two, typical), typical)
        # K x 2: against every judge, without its nearest; judges whose windows
        # coincide (spacing 0) leave the distance as it is
        weights = np.where(two > 0, typical / np.where(two > 0, two, 1.0), 1.0)
    out = np.empty(len(flat))
    step = 2048
    for start in range(0, len(flat), step):
        part = slice(start, start + step)
        mask = None if owners is None else owner[part, None] == owners[None, :]
        weight = None
        if spacing is not None:
            weight = (weights[:, 0][None, :] if owners is None else np.where(
                nearest_owner[None, :] == owner[part, None], weights[:, 1][None, :],
                weights[:, 0][None, :]))
        out[part] = _nearest(flat[None, part], memory[None], mask, weight)[0]
    return out.reshape(n, locations)


def memory_spacing(memory, owners):
    """Of a memory (K x d, its rows' judges `owners`, sorted): (K x 2) each row's
    distance to the nearest row of another judge and to the nearest row of a judge
    other than that one, and (K,) that nearest judge (so a judge left out of the
    memory leaves out its rows here too; inf: no such judge)."""
    memory = np.asarray(memory, dtype=np.float64)
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    judges = owners[starts]
    per_judge = np.empty((len(memory), len(starts)))
    squares = (memory ** 2).sum(axis=1)
    for start in range(0, len(memory), 1024):  # rows x K float64 at a time
        part = slice(start, start + 1024)
        d2 = squares[part, None] - 2.0 * memory[part] @ memory.T + squares[None, :]
        per_judge[part] = np.minimum.reduceat(d2, starts, axis=1)
    per_judge[owners[:, None] == judges[None, :]] = np.inf
    order = np.argsort(per_judge, axis=1, kind="stable")[:, :2]
    two = np.sqrt(np.maximum(np.take_along_axis(per_judge, order, axis=1), 0.0))
    return two, judges[order[:, 0]]


def half_shifts(images):
    """Each image (n x h x w) also moved by half a pixel down, right and both (the
    mean of neighbouring pixels): n x 4 x h x w. A product sits at any sub-pixel place;
    whole-pixel shifts of a few judges would leave a soft edge's phase unmatched."""
    padded = np.pad(images, ((0, 0), (0, 1), (0, 1)), mode="edge")
    down = 0.5 * (padded[:, :-1, :-1] + padded[:, 1:, :-1])
    right = 0.5 * (padded[:, :-1, :-1] + padded[:, :-1, 1:])
    both = 0.25 * (padded[:, :-1, :-1] + padded[:, 1:, :-1] + padded[:, :-1, 1:]
                   + padded[:, 1:, 1:])
    return np.stack([images, down, right, both], axis=1)


def _near_memory(model, dense, scale_index):
    """Per location, the judges' descriptors within `radius` pixels of it (of each of
    their half-pixel shifts), each judge kept to its own k-center coreset where all
    would exceed `memory`: (L x K x d) float32, and each row's judge (K,). `dense`: the
    judges' descriptors at every pixel of the scale (n x variants x h' x w' x d)."""
    s = model.settings
    scale = s["scales"][scale_index]
    n, variants = dense.shape[:2]
    grid = grid_shape(model.shape, s["stride"])
    reach = int(np.ceil(s["radius"] / scale))  # in pixels of this scale
    shifts = _shifts(reach)
    candidates = variants * len(shifts)
    keep = min(candidates, max(1, s["memory"] // n))
    padded = np.pad(dense, ((0, 0), (0, 0), (reach,) * 2, (reach,) * 2, (0, 0)),
                    mode="edge")
    rows, cols = _locations(scale, s["stride"], grid, dense.shape[2:4])
    memory = np.empty((grid[0], grid[1], n, keep, dense.shape[-1]), dtype=np.float32)
    per_row = max(1, 2 ** 24 // (n * len(cols) * candidates * dense.shape[-1]))
    for start in range(0, len(rows), per_row):
        r = rows[start:start + per_row][:, None] + reach
        c = cols[None, :] + reach
        cand = np.concatenate([padded[:, :, r + dy, c + dx] for dy, dx in shifts],
                              axis=1).transpose(0, 2, 3, 1, 4)  # n x rows x cols x VS x d
        if keep < candidates:
            cand = np.take_along_axis(cand, kcenter(cand, keep)[..., None], axis=3)
        memory[start:start + per_row] = cand.transpose(1, 2, 0, 3, 4)
    return (memory.reshape(grid[0] * grid[1], n * keep, -1),
            np.repeat(np.arange(n), keep))


def fit(judges, settings=None):
    """A Model fitted on the reference judges' images (n x h x w, 0..255 grey, n >= 2),
    with each judge's own map out of sample (`judge_maps`, the arrays' entry)."""
    judges = np.asarray(judges, dtype=np.float64)
    s = settings_of(settings)
    n = len(judges)
    if n < 2:
        raise ValueError("the pixel-level detector needs 2 or more reference judges")
    if s["radius"] == "auto":
        s = {**s, "radius": misalignment(judges)}
    search = s["search"]
    if search == "auto":
        search = "near" if aligned(judges) else "anywhere"
    model = Model(s, judges.shape[1:], search)
    model.arrays["judge_mean"] = judges.mean(axis=0)
    model.arrays["judge_spread"] = np.array(max(float(judges.std()), TINY))
    grid = grid_shape(model.shape, s["stride"])
    locations = grid[0] * grid[1]
    owners = np.arange(n)
    for i, scale in enumerate(s["scales"]):
        channels, _ = responses(judges, scale, s)
        spread = channels.transpose(1, 0, 2, 3).reshape(channels.shape[1], -1).std(axis=1)
        model.arrays[f"spread_{i}"] = np.maximum(spread, TINY)
        rows, cols = _locations(scale, s["stride"], grid, channels.shape[2:])
        raw = windows(channels / model.arrays[f"spread_{i}"][None, :, None, None],
                      s["patch"], rows, cols).reshape(n * locations, -1)
        mean = raw.mean(axis=0)
        sample = raw[np.random.default_rng(0).permutation(len(raw))[:20000]] - mean
        _, _, vt = np.linalg.svd(sample, full_matrices=False)
        model.arrays[f"mean_{i}"] = mean
        model.arrays[f"basis_{i}"] = vt[:min(s["dims"], vt.shape[0])]
        loss = descriptors(model, judges, i)[1]
        if search in ("near", "both"):
            moved = half_shifts(judges)  # n x 4 x h x w
            dense = descriptors(model, moved.reshape(-1, *judges.shape[1:]), i,
                                 dense=True)[0]
            model.arrays[f"near_{i}"], model.arrays[f"near_owner_{i}"] = _near_memory(
                model, dense.reshape(n, moved.shape[1], *dense.shape[1:]), i)
        if search in ("anywhere", "both"):
            flat = descriptors(model, judges, i, dense=True)[0]
            flat = flat.reshape(n, -1, flat.shape[-1])
            keep = max(1, s["anywhere_memory"] // n)
            if keep < flat.shape[1]:
                flat = np.take_along_axis(flat, kcenter(flat, keep)[..., None], axis=1)
            model.arrays[f"anywhere_{i}"] = flat.reshape(-1, flat.shape[-1]).astype(
                np.float32)
            model.arrays[f"anywhere_owner_{i}"] = np.repeat(owners, flat.shape[1])
            if s["density"]:
                (model.arrays[f"anywhere_apart_{i}"],
                 model.arrays[f"anywhere_apart_owner_{i}"]) = memory_spacing(
                    model.arrays[f"anywhere_{i}"], model.arrays[f"anywhere_owner_{i}"])
        model.arrays[f"loss_{i}"] = loss.reshape(n, locations).astype(np.float32)
    # the components' typical worst value on a judge (each out of sample)
    components = _components(model, judges, own=owners)
    # each map in units of its typical worst value on a judge (the median over the
    # judges of their maps' maxima; a loss counts from LOSS_FLOOR on)
    model.arrays["component_scale"] = np.array([
        max(float(np.median(c.max(axis=1))), LOSS_FLOOR if loss else TINY)
        for c, loss in zip(components, _is_loss(model))])
    model.arrays["judge_maps"] = _combine(model, components).astype(np.float32)
    return model


def _components(model, images, own=None):
    """The detector's maps before they are combined: a list of (n x L) arrays, per
    scale the near and/or anywhere distances and the one-sided loss. `own`: each
    image's row among the judges (out of sample against the others), or None."""
    s = model.settings
    maps = []
    for i, _ in enumerate(s["scales"]):
        desc, loss = descriptors(model, images, i)
        n = len(desc)
        desc = desc.reshape(n, -1, desc.shape[-1]).astype(np.float32)
        loss = loss.reshape(n, -1)
        if model.search in ("near", "both"):
            maps.append(min_distance(desc.transpose(1, 0, 2), model.arrays[f"near_{i}"],
                                      *((model.arrays[f"near_owner_{i}"], own)
                                        if own is not None else ())))
        if model.search in ("anywhere", "both"):
            spacing = ((model.arrays[f"anywhere_apart_{i}"],
                        model.arrays[f"anywhere_apart_owner_{i}"]) if s["density"] else None)
            maps.append(_anywhere_distance(
                desc, model.arrays[f"anywhere_{i}"],
                *((model.arrays[f"anywhere_owner_{i}"], own) if own is not None
                  else (None, None)), spacing=spacing))
        if s["loss"]:
            maps += _losses(model.arrays[f"loss_{i}"], loss, model.search, own,
                            grid_shape(model.shape, s["stride"]),
                            int(np.ceil(s["radius"] / s["stride"])))
    return maps


def _is_loss(model):
    """Which of _components' maps are one-sided losses (in log units)."""
    searches = 2 if model.search == "both" else 1
    return ([False] * searches + [True] * bool(model.settings["loss"])) * len(
        model.settings["scales"])


def _losses(judge_loss, loss, search, own, grid, radius_loc):
    """How far each image's sharpness falls below the judges' (a list of one n x L):
    below the lowest of them within radius (`near`), or the lowest anywhere on any of
    them (`anywhere`); a judge's: below the others'."""
    from scipy import ndimage

    values = judge_loss.astype(np.float64)  # judges x L
    n_judges = len(values)
    if search == "anywhere":
        lowest = np.sort(values.min(axis=1))
        if own is None:
            floor = np.full((len(loss), 1), lowest[0])
        else:
            floor = np.where(values[own].min(axis=1) <= lowest[0], lowest[1],
                             lowest[0])[:, None]
    else:
        values = ndimage.minimum_filter(values.reshape(n_judges, *grid),
                                        (1,) + (2 * radius_loc + 1,) * 2,
                                        mode="nearest").reshape(n_judges, -1)
        ordered = np.sort(values, axis=0)
        if own is None:
            floor = np.broadcast_to(ordered[0], (len(loss), values.shape[1]))
        else:  # the lowest of the others: the second lowest where it is the lowest
            lowest = values[own] <= ordered[0][None, :]
            floor = np.where(lowest, ordered[min(1, n_judges - 1)][None, :],
                             ordered[0][None, :])
    return [np.maximum(floor - loss, 0.0)]


def _combine(model, components):
    """The map: the largest of the components, each in units of its scale, at
    MAP_DECIMALS (the arithmetic's last bits depend on how many images a batch holds;
    an image's map must not)."""
    scale = model.arrays["component_scale"]
    return np.round(np.max(np.stack([c / scale[i] for i, c in enumerate(components)]),
                           axis=0), MAP_DECIMALS)


def score(model, images):
    """The anomaly maps (n x h x w, float32) of new images against the model."""
    images = np.asarray(images, dtype=np.float64)
    out = np.empty((len(images),) + tuple(model.shape), dtype=np.float32)
    for start in range(0, len(images), ITEM_CHUNK):
        part = images[start:start + ITEM_CHUNK]
        out[start:start + ITEM_CHUNK] = to_pixels(
            model, _combine(model, _components(model, part)))
    return out


def judge_maps(model):
    """The reference judges' maps, each out of sample (n x h x w)."""
    return to_pixels(model, model.arrays["judge_maps"].astype(np.float64))


def to_pixels(model, maps):
    """Maps at the locations (n x L) as pixel maps (n x h x w): location (i, j) is
    pixel (i stride, j stride), the pixels between them linearly interpolated (beyond
    the last location: its value)."""
    stride = model.settings["stride"]
    grid = grid_shape(model.shape, stride)
    maps = np.asarray(maps, dtype=np.float64).reshape(len(maps), *grid)
    h, w = model.shape

    def along(values, axis, size, count):
        at = np.arange(size) / stride  # a pixel's place between locations
        low = np.minimum(np.floor(at).astype(int), count - 1)
        high = np.minimum(low + 1, count - 1)
        share = np.clip(at - low, 0.0, 1.0)
        shape = [1, 1, 1]
        shape[axis] = size
        share = share.reshape(shape)
        return (np.take(values, low, axis=axis) * (1 - share)
                + np.take(values, high, axis=axis) * share)

    return along(along(maps, 1, h, grid[0]), 2, w, grid[1]).astype(np.float32)


PEAK_LEVEL = 2 / 3  # the peak's part: at or above this share of the maximum
BOX_LEVEL = 1 / 2  # the defect's box: at or above this share


def defect_part(one_map, top=None):
    """The defect on one image's map (h x w): its connected part at or above BOX_LEVEL
    of the maximum that holds the maximum (`top`: where that is; default the first
    argmax), as a boolean mask: `where`'s box bounds it, the defect figure outlines
    it."""
    from scipy import ndimage

    one_map = np.asarray(one_map, dtype=np.float64)
    if top is None:
        top = np.unravel_index(np.argmax(one_map), one_map.shape)
    labels, _ = ndimage.label(one_map >= BOX_LEVEL * one_map[top])
    return labels == labels[top]


def peaks(maps):
    """Each map's peak (row, col), 0-based from the top left: the centre, weighted by
    how far each pixel rises above PEAK_LEVEL of the maximum, of the map's connected
    part at or above that level which holds the maximum (rounded; the maximum itself
    where that part is flat); and the defect's box (top, left, height, width): the
    bounding box of the connected part at or above BOX_LEVEL of the maximum that holds
    it. The part, not its highest pixel: a patch straddling a spot's edge may outscore
    the one centred on it, the map rings the spot, and the centre of the ring is the
    spot. Not the half-maximum part for the peak: on a texture that part reaches into
    the texture's own rough places and drags the centre off the defect (5 x 5 spots on
    real surfaces, 40 judges: 0.77 of caught spots within 2 px at half, 0.91 at 2/3;
    benchmarks/patches.py)."""
    from scipy import ndimage

    maps = np.asarray(maps, dtype=np.float64)
    n = len(maps)
    flat = maps.reshape(n, -1).argmax(axis=1)
    rows, cols = np.unravel_index(flat, maps.shape[1:])
    boxes = np.zeros((n, 4), dtype=np.int64)
    for k in range(n):  # two labellings per image (scipy's C loop over its pixels)
        top = (rows[k], cols[k])
        box_part = defect_part(maps[k], top)
        labels, _ = ndimage.label(maps[k] >= PEAK_LEVEL * maps[k][top])
        weights = np.where(labels == labels[top], maps[k] - PEAK_LEVEL * maps[k][top], 0.0)
        if weights.sum() > 0:
            rows[k], cols[k] = np.rint(ndimage.center_of_mass(weights)).astype(int)
        part = np.argwhere(box_part)
        first, left = part.min(axis=0)
        last, right = part.max(axis=0)
        boxes[k] = (first, left, last - first + 1, right - left + 1)
    return rows, cols, boxes


def region_maxima(maps, labels, n_regions):
    """Each map's maximum in each region (n x regions), `labels` a pixel's region."""
    maps = np.asarray(maps, dtype=np.float64).reshape(len(maps), -1)
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(n_regions))
    return np.maximum.reduceat(maps[:, order], starts, axis=1)


# ---- which defect: what the worst part of the map looks like ---------------------------
SIGNATURE = ("deviation", "log_area", "log_aspect", "log_peak", "row", "col")


def signatures(model, images, maps, found=None):
    """What each image's defect looks like (n x SIGNATURE): the mean deviation of its
    pixels in the defect's box from the judges' mean image, in units of the judges'
    pixel spread (darker < 0 < brighter); the box's log area and log aspect (height /
    width); the map's log peak; where it peaks, as shares of the height and width.
    `found`: peaks(maps), where the caller has it already."""
    images = np.asarray(images, dtype=np.float64)
    rows, cols, boxes = peaks(maps) if found is None else found
    mean, spread = model.arrays["judge_mean"], float(model.arrays["judge_spread"])
    deviation = np.array([
        (images[k, t:t + h, l:l + w] - mean[t:t + h, l:l + w]).mean() / spread
        for k, (t, l, h, w) in enumerate(boxes)])
    peak = np.asarray(maps, dtype=np.float64).reshape(len(maps), -1).max(axis=1)
    height, width = model.shape
    return np.column_stack([deviation, np.log(boxes[:, 2] * boxes[:, 3]),
                            np.log(boxes[:, 2] / boxes[:, 3]), np.log(peak + TINY),
                            rows / height, cols / width])


def learn_defects(model, judge_signatures, groups):
    """Keep the defect judges' signatures and groups in the model (looks_like's)."""
    model.arrays["defect_signatures"] = np.asarray(judge_signatures, dtype=np.float64)
    model.arrays["defect_groups"] = np.asarray(groups, dtype=str)


def looks_like(model, item_signatures):
    """Each item's defect group: that of the defect judge whose signature is nearest
    (each signature column in units of its spread over the defect judges; ties: the
    first judge), None without defect judges."""
    known = model.arrays.get("defect_signatures")
    if known is None or len(known) == 0:
        return None
    scale = known.std(axis=0) + TINY
    distance = (((np.asarray(item_signatures)[:, None, :] - known[None]) / scale) ** 2).sum(
        axis=-1)
    return model.arrays["defect_groups"][np.round(distance, 9).argmin(axis=1)].astype(object)


def evidence(model, images, maps, labels, offset=(0, 0)):
    """What the maps say of each image (one function for the workflow's run and a
    batch's, so both say the same): {raw: the map's maximum, peak_row, peak_col, box
    (n x 4: top, left, height, width), regions (n x regions: each region's maximum;
    `labels`: each pixel's region, images.region_labels), looks (the defect group its
    defect looks like, or None)}; places in the image's pixels (`offset`: the crop's
    top and left)."""
    maps = np.asarray(maps)
    found = rows, cols, boxes = peaks(maps)
    top, left = offset
    return {"raw": maps.reshape(len(maps), -1).max(axis=1).astype(np.float64),
            "peak_row": rows + top, "peak_col": cols + left,
            "box": boxes + np.array([top, left, 0, 0]),
            "regions": region_maxima(maps, labels, int(labels.max()) + 1),
            "looks": looks_like(model, signatures(model, images, maps, found))}


def judge_raw(model):
    """The reference judges' raw scores (their maps' maxima, each out of sample)."""
    return model.arrays["judge_maps"].astype(np.float64).max(axis=1)
