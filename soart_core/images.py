"""The metrics stage: SOART metric tables from inspection images.

For each region p of an image (a grid over the optionally cropped image, regions in
row-major order become the features X0, X1, ...), the reference x is the pixel-wise
mean of that region over the NORMAL learning images (Taguchi's unit space) and y the
same region of the image measured, both flattened to k values:

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
"""

import csv
import os
import time

import numpy as np

from .errors import InputError

SETS = ("learn", "valid")
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601


def find_images(images_dir, order):
    """[(path, set, group)] from `images_dir/{learn,valid}/{GROUP}/*`, or from a
    manifest CSV (columns path, set, group; paths relative to it) if images_dir is one.
    Sorted by set, group (in `order`) and file name; every group folder must hold one."""
    if os.path.isfile(images_dir):
        return _manifest(images_dir, order)
    if not os.path.isdir(images_dir):
        raise InputError(images_dir, "images_dir is neither a folder nor a manifest CSV")
    found = []
    for set_name in SETS:
        set_dir = os.path.join(images_dir, set_name)
        if not os.path.isdir(set_dir):
            raise InputError(set_dir, f"missing folder: images_dir needs {SETS} folders, "
                                      f"one subfolder per group inside each")
        for group in os.listdir(set_dir):
            if group not in order and os.path.isdir(os.path.join(set_dir, group)):
                raise InputError(os.path.join(set_dir, group),
                                 f"folder '{group}' is not one of groups.order "
                                 f"({', '.join(order)})")
        for group in order:
            folder = os.path.join(set_dir, group)
            names = sorted(n for n in os.listdir(folder)
                           if n.lower().endswith(SUFFIXES)) if os.path.isdir(folder) else []
            if not names and (set_name == "learn" or os.path.isdir(folder)):
                raise InputError(folder, "no images (.png, .jpg, .bmp, .tif) in this group "
                                         "folder")
            found += [(os.path.join(folder, n), set_name, group) for n in names]
    return found


def _manifest(path, order):
    base = os.path.dirname(path)
    with open(path, encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    found = []
    for line, row in enumerate(rows, start=2):
        missing = [c for c in ("path", "set", "group") if not row.get(c)]
        if missing:
            raise InputError(path, f"empty or missing {', '.join(missing)}", line=line)
        if row["set"] not in SETS:
            raise InputError(path, f"set '{row['set']}' is not learn or valid", line=line,
                             column="set")
        if row["group"] not in order:
            raise InputError(path, f"group '{row['group']}' is not one of groups.order",
                             line=line, column="group")
        found.append((os.path.join(base, row["path"]), row["set"], row["group"]))
    rank = {g: i for i, g in enumerate(order)}
    found.sort(key=lambda f: (SETS.index(f[1]), rank[f[2]], f[0]))
    for set_name in SETS:
        if not any(f[1] == set_name for f in found):
            raise InputError(path, f"lists no '{set_name}' images")
    return found


def read_gray(path, grayscale="luma", crop=None):
    """An image as a float64 2-D array (8 or 16 bit, grey or colour), cropped."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            pixels = np.asarray(image)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise InputError(path, f"cannot read the image: {err}") from None
    pixels = pixels.astype(np.float64)
    if pixels.ndim == 3:
        colour = pixels[..., :3]
        pixels = colour @ LUMA if grayscale == "luma" else colour.mean(axis=2)
    if crop is not None:
        top, left, height, width = crop
        if top + height > pixels.shape[0] or left + width > pixels.shape[1]:
            raise InputError(path, f"crop {crop} (top, left, height, width) does not fit "
                                   f"the image's {pixels.shape[0]} x {pixels.shape[1]} pixels")
        pixels = pixels[top:top + height, left:left + width]
    return pixels


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


def image_metrics(images, *, grayscale="luma", crop=None, grid=(2, 2), sn_ratio="db",
                  sn_max_db=100.0, reference_group="NORMAL", log=None):
    """Stream the images twice (reference, then metrics); returns (rows, features):
    rows are (path, set, group, beta, eta, gamma) with one value per region."""
    log = log or (lambda message: None)
    learn_normal = [p for p, s, g in images if s == "learn" and g == reference_group]
    if not learn_normal:
        raise InputError(reference_group, "no learning images of the reference group: "
                                          "they make the reference x")
    first_path, shape, total = None, None, None
    for path in learn_normal:  # pass 1: the unit space (pixel-wise mean)
        pixels = read_gray(path, grayscale, crop)
        if shape is None:
            first_path, shape, total = path, pixels.shape, np.zeros(pixels.shape)
        _check_shape(path, pixels.shape, first_path, shape)
        total += pixels
    reference = (total / len(learn_normal)).ravel()
    labels = region_labels(shape, grid)
    n_regions = grid[0] * grid[1]
    rows, started = [], time.perf_counter()
    step = max(1, len(images) // 10)
    for done, (path, set_name, group) in enumerate(images, start=1):  # pass 2
        pixels = read_gray(path, grayscale, crop)
        _check_shape(path, pixels.shape, first_path, shape)
        metrics = soart_metrics(reference, pixels.ravel(), labels, n_regions, sn_ratio,
                                sn_max_db)
        rows.append((path, set_name, group, *metrics))
        if done % step == 0 or done == len(images):
            rate = done / max(time.perf_counter() - started, 1e-9)
            log(f"metrics: {done}/{len(images)} images ({rate:.0f} images/s)")
    return rows, [f"X{i}" for i in range(n_regions)]


def _check_shape(path, got, first_path, want):
    if got != want:
        raise InputError(path, f"image is {got[1]} x {got[0]} pixels (width x height) "
                               f"after cropping, but {first_path} is {want[1]} x {want[0]}; "
                               f"all images must have one size")
