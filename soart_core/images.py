"""The metrics stage: SOART metric tables from inspection images.

For each region p of an image (a grid over the optionally cropped image, regions in
row-major order become the features X0, X1, ...), the reference x is the pixel-wise
mean of that region over the NORMAL learning images (Taguchi's unit space) and y the
same region of the image measured, both flattened to k values. A NORMAL learning image
(a reference judge) is measured against the mean of the *other* NORMAL learning images
(leave-one-out), so that it stands to its reference as a new image does: a judge
inside its own mean would look more normal than any new image, and a false-alarm rate
calibrated on the judges would not hold on new images.

- Y1, sensitivity beta = (x . y) / (x . x)  (the RT method's Y1; QEU's "rotation").
- Y2, SN ratio eta = S_beta / S_e, with S_T = y . y, S_beta = (x . y)^2 / (x . x),
  S_e = S_T - S_beta (the T(2)-style ratio as QEU states it); in decibels,
  10 log10(eta), unless `sn_ratio: ratio`.
- Y3, gamma (QEU's SOART "shear strain"): kappa = mean|y| / mean|beta x|,
  gamma = mean|y - beta kappa x|.

Degenerate cases, returned explicitly rather than as NaN or infinity:
- a black reference region (x . x = 0): beta = 0, eta = 0 (the floor, -sn_max_db in
  dB), gamma = mean|y| (nothing of y is explained by x);
- S_e <= 0 up to rounding (y exactly proportional to x, which includes the reference
  image itself and every single-pixel region): eta = the cap, sn_max_db in dB
  (10^(sn_max_db/10) as a ratio); at the other end eta = 0 gives the floor;
- mean|beta x| = 0 (beta = 0): kappa = 0, so gamma = mean|y|.
Images are read one at a time (memory independent of their count); all arithmetic of
an image is vectorised over its pixels and regions.

Every image is read as float64 grey on one scale, 0..255 as 8-bit grey, through what
its pixel values mean (`read_gray`), so that one picture gives one set of metrics
whatever format it was saved in:
- 8-bit grey (mode L) as is; 1-bit (1) as 0 and 255; grey with alpha (LA) its grey;
- 16-bit grey (I;16, I;16B, I;16L, and I from a 16-bit PNG, PGM or TIFF) times
  255/65535 (that is, divided by 257: 257 v is read as v exactly);
- colour (RGB, RGBA, RGBX) by `grayscale`: luma 0.299 R + 0.587 G + 0.114 B (ITU-R
  BT.601) or the mean of R, G, B; other modes (CMYK, YCbCr, ...) through Pillow's
  conversion to RGB first; alpha is ignored throughout;
- palette (P, PA, as most GIFs) through the palette, each entry made grey as colour
  is; an entry with R = G = B is its level exactly;
- refused with an InputError naming the file: 32-bit float (F) and 32-bit integer (I)
  pixels, which have no agreed grey scale; images of several frames (animated GIF,
  APNG or WebP, multi-page TIFF; of a multi-picture JPEG, MPO, the primary picture is
  read); images of more than `max_pixels` pixels (config key
  images.max_pixels), checked from the header before decoding, against decompression
  bombs; anything Pillow cannot read.
"""

import csv
import io
import os
import stat
import time

import numpy as np

from .errors import MARKUP, InputError, excerpt, has_markup

SETS = ("learn", "valid")
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp")
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601
MAX_PIXELS = 100_000_000  # config images.max_pixels: larger images are refused unread


def find_images(images_dir, order, encoding="utf-8-sig"):
    """[(path, set, group)] from `images_dir/{learn,valid}/{GROUP}/*`, or from a
    manifest CSV (columns path, set, group; paths relative to it) if images_dir is one,
    read in `encoding` with the delimiter its header uses (comma, semicolon or tab, as
    Excel saves them).
    Images directly in `valid/` (or a manifest's valid rows with no group) are
    unlabeled items, group "": to inspect. Sorted by set, group (in `order`, unlabeled
    last) and file name; every group folder must hold one."""
    if os.path.isfile(images_dir):
        return _manifest(images_dir, order, encoding)
    if not os.path.isdir(images_dir):
        raise InputError(images_dir, "images_dir is neither a folder nor a manifest CSV")
    found = []
    for set_name in SETS:
        set_dir = os.path.join(images_dir, set_name)
        if not os.path.isdir(set_dir):
            raise InputError(set_dir, f"missing folder: images_dir needs {SETS} folders, "
                                      f"one subfolder per group inside each")
        loose = sorted(n for n in os.listdir(set_dir) if n.lower().endswith(SUFFIXES)
                       and os.path.isfile(os.path.join(set_dir, n)))
        if loose and set_name == "learn":
            raise InputError(os.path.join(set_dir, loose[0]),
                             "a learning image (a judge) needs its group: put it in "
                             "learn/{GROUP}/ (only images to inspect, in valid/, may have "
                             "none)")
        for group in os.listdir(set_dir):
            if group not in order and os.path.isdir(os.path.join(set_dir, group)):
                raise InputError(os.path.join(set_dir, group),
                                 f"folder '{group}' is not one of groups.order "
                                 f"({', '.join(order)})")
        for group in order:
            folder = os.path.join(set_dir, group)
            names = sorted(n for n in os.listdir(folder)
                           if n.lower().endswith(SUFFIXES)) if os.path.isdir(folder) else []
            if not names and os.path.isdir(folder):  # no folder: a group without images
                raise InputError(folder, f"no images ({', '.join(SUFFIXES)}) in this "
                                         f"group folder")
            found += [(os.path.join(folder, n), set_name, group) for n in names]
        found += [(os.path.join(set_dir, n), set_name, "") for n in loose]  # unlabeled
        if not any(f[1] == set_name for f in found):
            where = ("the images to inspect directly in valid/ (unlabeled) or in "
                     "valid/{GROUP}/" if set_name == "valid" else
                     "the reference images (the judges) in learn/{GROUP}/")
            raise InputError(set_dir, f"no images ({', '.join(SUFFIXES)}) in this folder "
                                      f"or its group folders: put {where}")
    return _printable(found)


BATCH_NAME = r"[A-Za-z0-9_.-]+"  # a batch folder's name: a folder of results/batches/


def find_batches(batches_dir, order):
    """{batch: [(path, group)]}: each subfolder of `batches_dir` (sorted; names of
    BATCH_NAME) holds one batch's images, directly (group "": unlabeled, as on a
    line) or in group folders named in `order`; sorted by group, then file name."""
    import re

    if not os.path.isdir(batches_dir):
        raise InputError(batches_dir, "batches_dir is not a folder (of batch folders)")
    found = {}
    for name in sorted(os.listdir(batches_dir)):
        folder = os.path.join(batches_dir, name)
        if not os.path.isdir(folder):
            continue
        if not re.fullmatch(BATCH_NAME, name) or name in (".", ".."):
            raise InputError(folder, "a batch folder's name may hold letters, digits, "
                                     "_, . and - only (it names results/batches/{batch}/)")
        images = []
        for entry in sorted(os.listdir(folder)):
            path = os.path.join(folder, entry)
            if os.path.isdir(path):
                if entry not in order:
                    raise InputError(path, f"folder '{entry}' is not one of groups.order "
                                           f"({', '.join(order)})")
                images += [(os.path.join(path, n), entry) for n in sorted(os.listdir(path))
                           if n.lower().endswith(SUFFIXES)]
            elif entry.lower().endswith(SUFFIXES):
                images.append((path, ""))
        _printable([(path, "valid", group) for path, group in images])
        found[name] = images
    return found


def _printable(found):
    """Image paths become row ids in every table: no line breaks or control characters,
    nothing the report's HTML would read as markup; and each is a regular file (a FIFO
    would hang the metrics job, a device never end)."""
    for path, _, _ in found:
        if not path.isprintable():
            raise InputError(path.encode("unicode_escape").decode("ascii"),
                             "the file name holds a line break or another control "
                             "character; rename the image")
        if has_markup(path):
            raise InputError(path, f"the path holds {MARKUP[0]} or {MARKUP[1]}, which the "
                                   f"report's HTML would read as markup; rename the image")
        try:
            regular = stat.S_ISREG(os.stat(path).st_mode)
        except OSError:  # missing: read_gray says so, naming the file
            continue
        if not regular:
            raise InputError(path, "not a regular file (a folder, a FIFO or a device): "
                                   "soart reads image files only")
    return found


def _manifest_rows(path, encoding):
    """A manifest's rows as dicts: decoded in `encoding`, split at the delimiter whose
    header holds the manifest's columns."""
    try:
        with open(path, "rb") as stream:
            text = stream.read().decode(encoding)
    except UnicodeDecodeError as err:
        line = err.object[:err.start].count(b"\n") + 1
        raise InputError(path, f"cannot be decoded as '{encoding}' (config key encoding; "
                               f"cp932 for a manifest saved by Japanese Excel)",
                         line=line) from None
    except LookupError:
        raise InputError(path, f"encoding '{excerpt(encoding)}' (config key encoding) is "
                               f"not one Python knows") from None
    text = text.lstrip("\ufeff")
    header = text.split("\n", 1)[0]
    for delimiter in (",", ";", "\t"):
        if {c.strip() for c in header.split(delimiter)} >= {"path", "set"}:
            return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
    raise InputError(path, f"the header ({excerpt(header, 80)}) has no columns path and set "
                           f"(separated by commas, semicolons or tabs)", line=1)


def _manifest(path, order, encoding="utf-8-sig"):
    base = os.path.dirname(path)
    rows = _manifest_rows(path, encoding)
    found = []
    for line, row in enumerate(rows, start=2):
        missing = [c for c in ("path", "set") if not row.get(c)]
        if "group" not in row or (not row["group"] and row.get("set") != "valid"):
            missing.append("group (only valid images, to inspect, may have none)")
        if missing:
            raise InputError(path, f"empty or missing {', '.join(missing)}", line=line)
        row["group"] = row["group"].strip()
        if row["set"] not in SETS:
            raise InputError(path, f"set '{row['set']}' is not learn or valid", line=line,
                             column="set")
        if row["group"] and row["group"] not in order:
            raise InputError(path, f"group '{row['group']}' is not one of groups.order",
                             line=line, column="group")
        found.append((os.path.join(base, row["path"]), row["set"], row["group"]))
    rank = {g: i for i, g in enumerate(order)}
    rank[""] = len(order)  # unlabeled items last
    found.sort(key=lambda f: (SETS.index(f[1]), rank[f[2]], f[0]))
    for set_name in SETS:
        if not any(f[1] == set_name for f in found):
            raise InputError(path, f"lists no '{set_name}' images")
    return _printable(found)


def read_gray(path, grayscale="luma", crop=None, max_pixels=MAX_PIXELS):
    """An image as a float64 2-D array of grey on the 8-bit scale (module docstring),
    cropped to `crop` (top, left, height, width)."""
    from PIL import Image

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # Pillow's bomb check fires in open, before ours
    try:
        with Image.open(path) as image:  # reads the header only
            width, height = image.size
            if width * height > max_pixels:
                raise InputError(path, f"image is {width} x {height} = {width * height:,} "
                                       f"pixels, more than the limit of {max_pixels:,} "
                                       f"(a guard against decompression bombs); if the "
                                       f"image is genuine, raise config key "
                                       f"images.max_pixels")
            # several frames: which is the image? (MPO: a JPEG's primary picture comes
            # first, then previews or depth maps, as phones write them)
            if getattr(image, "n_frames", 1) > 1 and image.format != "MPO":
                raise InputError(path, f"image has {image.n_frames} frames (animated or "
                                       f"multi-page {image.format}); save the one frame "
                                       f"to measure as an image of its own")
            pixels = _gray(image, path, grayscale)
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except Exception as err:  # noqa: BLE001 - a damaged file fails anywhere in a decoder
        raise InputError(path, f"cannot read the image: {type(err).__name__}: {err}") \
            from None
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    if crop is not None:
        top, left, height, width = crop
        if top + height > pixels.shape[0] or left + width > pixels.shape[1]:
            raise InputError(path, f"crop {crop} (top, left, height, width) does not fit "
                                   f"the image's {pixels.shape[0]} x {pixels.shape[1]} pixels")
        pixels = pixels[top:top + height, left:left + width]
    return pixels


def _gray(image, path, grayscale):
    """The decoded pixels of a Pillow image as grey, 0..255 float (module docstring)."""
    mode = image.mode
    if mode == "L":
        return np.asarray(image, np.float64)
    if mode.startswith("I;16") or mode == "I" and _is_16_bit(image):
        return np.asarray(image, np.float64) / 257.0  # 65535 / 255: exact on 257 v
    if mode in ("I", "F"):
        raise InputError(path, f"{'integer' if mode == 'I' else 'floating-point'} pixels of "
                               f"32 bits (Pillow mode {mode}) have no agreed grey scale; save "
                               f"the image as 8- or 16-bit grey, or as colour")
    if mode == "1":
        return np.asarray(image.convert("L"), np.float64)  # 0 and 255
    if mode == "LA":
        return np.asarray(image, np.float64)[..., 0]
    if mode in ("P", "PA"):  # a grey level per palette entry, then look the indices up
        entries = np.zeros((256, 3))  # indices past the palette are black, as in Pillow
        palette = np.asarray(image.getpalette("RGB"), np.float64).reshape(-1, 3)
        entries[:len(palette)] = palette
        grey = entries.min(axis=1) == entries.max(axis=1)  # exactly its level: luma's
        lut = np.where(grey, entries[:, 0], _colour(entries, grayscale))  # sum rounds
        indices = np.asarray(image)
        return lut[indices[..., 0] if mode == "PA" else indices]
    if mode not in ("RGB", "RGBA", "RGBX"):
        image = image.convert("RGB")  # CMYK, YCbCr, ...: Pillow knows their meaning
    return _colour(np.asarray(image, np.float64)[..., :3], grayscale)


def _colour(rgb, grayscale):
    return rgb @ LUMA if grayscale == "luma" else rgb.mean(axis=-1)


def _is_16_bit(image):
    """Is a mode-I image 16-bit unsigned grey? PNG and PGM hold no 32-bit integers."""
    tags = getattr(image, "tag_v2", {})
    return image.format in ("PNG", "PPM") or (
        image.format == "TIFF" and tags.get(258) == (16,) and tags.get(339, 1) in (1, (1,)))


def region_labels(shape, grid):
    """Region index (row-major) of every pixel for a rows x cols grid of near-equal cells."""
    rows, cols = grid
    if shape[0] < rows or shape[1] < cols:
        raise ValueError(f"a {shape[0]} x {shape[1]} image cannot hold a {rows} x {cols} grid")
    r = np.searchsorted(np.linspace(0, shape[0], rows + 1)[1:-1], np.arange(shape[0]),
                        side="right")
    c = np.searchsorted(np.linspace(0, shape[1], cols + 1)[1:-1], np.arange(shape[1]),
                        side="right")
    return (r[:, None] * cols + c[None, :]).ravel()


def soart_metrics(x, y, labels, n_regions, sn_ratio="db", sn_max_db=100.0):
    """beta, eta, gamma per region for reference x and image y (flattened, same shape)."""
    counts = np.bincount(labels, minlength=n_regions).astype(np.float64)

    def per_region(values):
        return np.bincount(labels, weights=values, minlength=n_regions)

    xx, xy, yy = per_region(x * x), per_region(x * y), per_region(y * y)
    black = xx <= 0
    safe_xx = np.where(black, 1.0, xx)
    beta = np.where(black, 0.0, xy / safe_xx)
    s_beta = np.where(black, 0.0, xy * xy / safe_xx)
    s_e = yy - s_beta
    cap = 10.0 ** (sn_max_db / 10.0)
    exact = s_e <= 1e-12 * np.maximum(yy, np.finfo(float).tiny)  # proportional to x
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(exact, cap, s_beta / np.where(exact, 1.0, s_e))
    eta = np.where(black, 0.0, np.minimum(eta, cap))
    if sn_ratio == "db":
        with np.errstate(divide="ignore"):
            eta = np.clip(10.0 * np.log10(eta), -sn_max_db, sn_max_db)
    mean_y = per_region(np.abs(y)) / counts
    mean_bx = np.abs(beta) * per_region(np.abs(x)) / counts
    kappa = np.where(mean_bx > 0, mean_y / np.where(mean_bx > 0, mean_bx, 1.0), 0.0)
    gamma = per_region(np.abs(y - (beta * kappa)[labels] * x)) / counts
    return beta, eta, gamma


def reference_of(y, total, n, judge):
    """The reference x of image y (flattened): the mean of the n reference judges
    (their pixel sum `total`), or for one of them (`judge`) the mean of the others.
    A new image is never part of the mean it is measured against, and neither may a
    judge be, or judges look more normal than new images and a false-alarm rate
    calibrated on them breaks on new images."""
    if judge and n > 1:
        return (total - y) / (n - 1)
    return total / n


def region_boxes(shape, grid, crop=None):
    """Each region's place (row-major, as the features X0, X1, ...): its grid row and
    column (0-based from the top left) and its pixels' bounding box in the image
    (top, left, height, width; the crop's offset added)."""
    labels = region_labels(shape, grid).reshape(shape)
    rows, cols = grid
    tops = [int(np.argmax((labels // cols == r).any(axis=1))) for r in range(rows)]
    lefts = [int(np.argmax((labels % cols == c).any(axis=0))) for c in range(cols)]
    heights = np.diff(tops + [shape[0]])
    widths = np.diff(lefts + [shape[1]])
    top0, left0 = (crop[0], crop[1]) if crop else (0, 0)
    region = np.arange(rows * cols)
    return {"feature": [f"X{i}" for i in region], "region_row": region // cols,
            "region_col": region % cols, "top": np.array(tops)[region // cols] + top0,
            "left": np.array(lefts)[region % cols] + left0,
            "height": heights[region // cols], "width": widths[region % cols]}


# what `images.kinds` may name: the seed's three against the reference image, then
# local statistics of the region itself (docs/data.md, "Metrics from images")
SEED_KINDS = ("beta", "eta", "gamma")
LOCAL_KINDS = ("mean", "sd", "low", "high", "edge", "nearest", "patch")
KINDS = SEED_KINDS + LOCAL_KINDS


class Regions:
    """A grid's regions over an image shape, and the per-region reductions of the
    kinds, vectorised over the pixels (and over the judges, for `nearest`)."""

    def __init__(self, shape, grid):
        self.shape, self.grid = tuple(shape), tuple(grid)
        self.labels = region_labels(self.shape, self.grid)
        self.n = self.grid[0] * self.grid[1]
        self.order = np.argsort(self.labels, kind="stable")
        self.starts = np.searchsorted(self.labels[self.order], np.arange(self.n))
        self.counts = np.bincount(self.labels, minlength=self.n).astype(np.float64)

    def mean(self, values):
        """Per-region means of `values` (... x pixels, flattened images)."""
        return np.add.reduceat(values[..., self.order], self.starts, axis=-1) / self.counts


def region_values(kinds, x, y, regions, *, judges=None, own=None, sn_ratio="db",
                  sn_max_db=100.0, patch_map=None):
    """{kind: per-region values} of image y (flattened) for `kinds`: the seed's three
    against the reference x; `nearest` against `judges` (the reference judges' images,
    n x pixels, `own` the row of y itself among them, None if y is not one); `patch`:
    each region's maximum of y's anomaly map `patch_map` (soart_core.patches)."""
    done = {}
    if "patch" in kinds:
        ordered = np.ravel(patch_map).astype(np.float64)[regions.order]
        done["patch"] = np.maximum.reduceat(ordered, regions.starts)
    if any(k in SEED_KINDS for k in kinds):
        done.update(zip(SEED_KINDS, soart_metrics(x, y, regions.labels, regions.n,
                                                  sn_ratio, sn_max_db)))
    if "mean" in kinds or "sd" in kinds:
        mean = regions.mean(y)
        done["mean"] = mean
        done["sd"] = np.sqrt(np.maximum(regions.mean(y * y) - mean * mean, 0.0))
    if "low" in kinds or "high" in kinds:
        ordered = y[regions.order]
        done["low"] = np.minimum.reduceat(ordered, regions.starts)
        done["high"] = np.maximum.reduceat(ordered, regions.starts)
    if "edge" in kinds:
        rows, cols = np.gradient(y.reshape(regions.shape))
        done["edge"] = regions.mean(np.hypot(rows, cols).ravel())
    if "nearest" in kinds:
        # each region against the same region of the nearest reference judge there (a
        # judge: of the nearest other), as a mean squared difference
        per_judge = regions.mean((judges - y) ** 2)
        if own is not None:
            per_judge[own] = np.inf
        done["nearest"] = per_judge.min(axis=0) if len(per_judge) > (own is not None) \
            else np.zeros(regions.n)
    return done


def pixel_metrics(judges, reference_judges, images, grid, kinds=SEED_KINDS, sn_ratio="db",
                  sn_max_db=100.0):
    """The metrics stage on images in memory (n x h x w arrays, 0..255 grey): a table
    (images x regions) per kind, in `kinds` order, of the `judges` (the reference
    group's where `reference_judges`, a mask) and of `images`, each image against its
    reference_of (and, for `nearest`, the reference judges but itself)."""
    judges = np.asarray(judges, dtype=np.float64)
    ref = np.asarray(reference_judges, dtype=bool)
    stack = judges[ref].reshape(int(ref.sum()), -1)
    total = stack.sum(axis=0)
    regions = Regions(judges.shape[1:], grid)
    own = np.cumsum(ref) - 1
    done = []
    for images_, is_judge in ((judges, ref), (np.asarray(images, dtype=np.float64),
                                              np.zeros(len(images), bool))):
        rows = [region_values(kinds, reference_of(y.ravel(), total, len(stack), judge),
                              y.ravel(), regions, judges=stack,
                              own=int(own[i]) if judge else None, sn_ratio=sn_ratio,
                              sn_max_db=sn_max_db)
                for i, (y, judge) in enumerate(zip(images_, is_judge))]
        done.append(tuple(np.array([r[k] for r in rows]).reshape(len(rows), regions.n)
                          for k in kinds))
    return done[0], done[1]


def image_metrics(images, *, kinds=SEED_KINDS, grayscale="luma", crop=None, grid=(2, 2),
                  sn_ratio="db", sn_max_db=100.0, reference_group="NORMAL",
                  max_pixels=MAX_PIXELS, log=None, patch_settings=None):
    """Stream the images twice (reference, then metrics); returns (rows, features):
    rows are (path, set, group, then one array of per-region values per kind in
    `kinds`). `nearest` and `patch` keep the reference judges' pixels in memory;
    `patch` fits the pixel-level detector on them (`patch_settings`: config key
    patches), a judge's map out of sample."""
    log = log or (lambda message: None)
    learn_normal = [p for p, s, g in images if s == "learn" and g == reference_group]
    if not learn_normal:
        raise InputError(reference_group, "no learning images of the reference group: "
                                          "they make the reference x")
    first_path, shape, total, kept = None, None, None, []
    for path in learn_normal:  # pass 1: the unit space (pixel-wise mean)
        pixels = read_gray(path, grayscale, crop, max_pixels)
        if shape is None:
            first_path, shape, total = path, pixels.shape, np.zeros(pixels.shape)
            _check_grid(path, shape, grid)
        _check_shape(path, pixels.shape, first_path, shape)
        total += pixels
        if "nearest" in kinds or "patch" in kinds:
            kept.append(pixels.ravel())
    n_normal = len(learn_normal)
    total = total.ravel()
    judges = np.array(kept) if kept else None
    model = judge_maps = None
    if "patch" in kinds:
        from . import patches  # (it reads images: imported where the kind is asked for)

        model = patches.fit(judges.reshape(n_normal, *shape), patch_settings)
        judge_maps = patches.judge_maps(model)
    own = {path: i for i, path in enumerate(learn_normal)}
    if n_normal == 1:
        log(f"metrics: one learning image of {reference_group}: it is its own reference, "
            f"so it looks more normal than any new image; add more")
    regions = Regions(shape, grid)
    rows, started = [], time.perf_counter()
    step = max(1, len(images) // 10)
    for done, (path, set_name, group) in enumerate(images, start=1):  # pass 2
        pixels = read_gray(path, grayscale, crop, max_pixels)
        _check_shape(path, pixels.shape, first_path, shape)
        y = pixels.ravel()
        judge = set_name == "learn" and group == reference_group
        patch_map = None if model is None else (
            judge_maps[own[path]] if judge else patches.score(model, pixels[None])[0])
        values = region_values(kinds, reference_of(y, total, n_normal, judge), y, regions,
                               judges=judges, own=own[path] if judge else None,
                               sn_ratio=sn_ratio, sn_max_db=sn_max_db, patch_map=patch_map)
        rows.append((path, set_name, group, *[values[k] for k in kinds]))
        if done % step == 0 or done == len(images):
            rate = done / max(time.perf_counter() - started, 1e-9)
            log(f"metrics: {done}/{len(images)} images ({rate:.0f} images/s)")
    return rows, [f"X{i}" for i in range(regions.n)]


def _check_shape(path, got, first_path, want):
    if got != want:
        raise InputError(path, f"image is {got[1]} x {got[0]} pixels (width x height) "
                               f"after cropping, but {first_path} is {want[1]} x {want[0]}; "
                               f"all images must have one size")


def _check_grid(path, shape, grid):
    if shape[0] < grid[0] or shape[1] < grid[1]:  # region_labels would need empty cells
        raise InputError(path, f"a {shape[1]} x {shape[0]} image (width x height, after "
                               f"cropping) cannot be cut into a {grid[0]} x {grid[1]} grid "
                               f"of regions (config key images.grid, rows x columns): "
                               f"every region needs a pixel")
