"""A frozen reference, and the line's daily batches scored against it.

Everything the verdict learns from the judges is saved once under
`results/reference/`, in plain files: `reference.json` (the settings of the metrics,
the normalise ranges, the judges' names and groups, the regions' places, the
answering detector, the false-alarm rate, the code digest and library versions, and
the reference's `id`), `judges_{metric}.csv` (the judges' normalised metric tables,
which the defect-group predictors and the nearest normal judge read), `pixels.npy`
(NumPy's own array format, read without pickle: the reference judges' pixel sum, whose
mean is every image's reference x, and for the `nearest` kind their pixels), the
fitted pixel-level model (`patches.npz`, `patches.json`) and, under `detectors/`,
every detector of the registry fitted on the judges (soart_core.detectors:
`<name>.npz`, `<name>.json`), with which a batch only scores. The id is a digest of
all of it: a batch's verdicts name the reference that scored them.

From a line's own software:

    from soart_core.reference import load, score_images
    reference = load("results/reference")
    verdicts, regions, rejected = score_images(reference, ["new_001.png", ...])

`verdicts` holds, for each image, the columns of summary.csv's answer (predicted,
score, flag, promise, method, where, nearest_normal, ...); an image gets exactly the
verdict the workflow's own run gives it (tested).
"""

import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np

from . import answer, detectors, patches, stages
from .detectors import Pixels
from .errors import InputError
from .images import Regions, read_gray, reference_of, region_labels, region_values
from .tables import read_table, write_atomic, write_text

FILE = "reference.json"
PIXELS = "pixels.npy"
# the pixel-level detector, fitted (soart_core.patches.Model: arrays without pickle, JSON)
PATCHES = ("patches.npz", "patches.json")
DETECTORS = "detectors"  # the fitted detectors' folder (detectors.save)
BAD_IMAGE = ("stop", "skip")


def _judges_file(metric):
    return f"judges_{metric}.csv"


def _digest(folder, names):
    digest = hashlib.sha256()
    for name in sorted(names):
        with open(os.path.join(folder, name), "rb") as stream:
            digest.update(name.encode() + b"\0" + stream.read() + b"\0")
    return digest.hexdigest()[:16]


def build(folder, *, learn_paths, normal_images, settings, patches_model):
    """Write the reference to `folder`: the judges' normalised tables (`learn_paths`,
    one per words metric, copied byte for byte), the reference judges' pixel sum (and
    their pixels, for `nearest`) from `normal_images` in the metrics stage's order,
    the fitted pixel-level detector (`patches_model`: the patches stage's model.npz
    and model.json, copied byte for byte), every detector of the registry the judges
    can fit (fitted here, on them alone: answer.fit_all) and `settings` (a dict: what
    reference.json holds besides the id, and `fitted`, the detectors fitted). Returns
    the id."""
    os.makedirs(folder, exist_ok=True)
    names = []
    judges = [read_table(path, "judge").values for path in learn_paths]
    fitted, _ = answer.fit_all(judges, settings["judge_groups"],
                               reference=settings["reference"],
                               pixels=judge_pixels(patches.Model.load(*patches_model)),
                               settings=settings.get("detectors"))
    names += [f"{DETECTORS}/{name}"
              for name in detectors.save(fitted, os.path.join(folder, DETECTORS))]
    settings = {**settings, "fitted": list(fitted)}
    for source, name in zip(patches_model, PATCHES):
        with open(source, "rb") as stream:
            content = stream.read()
        write_atomic(os.path.join(folder, name),
                     lambda out, content=content: out.write(content), binary=True)
        names.append(name)
    for metric, path in zip(settings["words"], learn_paths):
        with open(path, "rb") as stream:
            content = stream.read()
        write_atomic(os.path.join(folder, _judges_file(metric)),
                     lambda out, content=content: out.write(content), binary=True)
        names.append(_judges_file(metric))
    image = settings["image"]
    total, kept = None, []
    for path in normal_images:  # as soart_core.images.image_metrics sums them
        pixels = read_gray(path, image["grayscale"], image["crop"], image["max_pixels"])
        total = np.zeros(pixels.shape) if total is None else total
        total += pixels
        if "nearest" in settings["kinds"].values():
            kept.append(pixels.ravel())
    # one float64 array: the pixel sum's row, then each reference judge's (for nearest)
    stacked = np.vstack([total.ravel()] + kept)
    write_atomic(os.path.join(folder, PIXELS),
                 lambda out: np.save(out, stacked, allow_pickle=False), binary=True)
    names.append(PIXELS)
    shaped = {**settings, "shape": list(total.shape), "normal_images": len(normal_images)}
    body = json.dumps(shaped, sort_keys=True, ensure_ascii=False)
    write_text(os.path.join(folder, "settings.json"), body)
    names.append("settings.json")
    ref_id = _digest(folder, names)
    write_text(os.path.join(folder, FILE), json.dumps({"id": ref_id, **shaped}, indent=1,
                                                      sort_keys=True, ensure_ascii=False))
    return ref_id


@dataclass
class Reference:
    id: str
    settings: dict
    judges: list  # one normalised Table per words metric
    total: np.ndarray  # the reference judges' pixel sum, flattened
    normal_pixels: np.ndarray  # their pixels (n x pixels) for `nearest`, else empty
    patches: object  # the fitted pixel-level detector (soart_core.patches.Model)
    detectors: dict  # {name: fitted detector} (soart_core.detectors), each scores items


def load(folder):
    """The reference saved in `folder`, its id checked against its files (an
    InputError names what is missing or changed)."""
    try:
        with open(os.path.join(folder, FILE), encoding="utf-8") as stream:
            saved = json.load(stream)
    except OSError:
        raise InputError(os.path.join(folder, FILE), "no reference here: set batches_dir "
                                                     "and run the plain command first "
                                                     "(docs/batches.md)") from None
    except ValueError as err:  # not JSON, or not UTF-8
        raise InputError(os.path.join(folder, FILE), f"not a reference soart wrote "
                                                     f"({err}); build it again") from None
    if not (isinstance(saved, dict) and isinstance(saved.get("words"), list)
            and isinstance(saved.get("id"), str)):
        raise InputError(os.path.join(folder, FILE), "not a reference soart wrote (no id "
                                                     "or words); build it again")
    names = [_judges_file(m) for m in saved["words"]] + [PIXELS, "settings.json",
                                                         *PATCHES] + [
        f"{DETECTORS}/{name}" for name in detectors.files(saved.get("fitted", []))]
    try:
        found = _digest(folder, names)
    except OSError as err:
        raise InputError(folder, f"the reference is incomplete: {err.strerror}: "
                                 f"{err.filename}") from None
    if found != saved["id"]:
        raise InputError(os.path.join(folder, FILE), f"the reference's files are not those "
                                                     f"of id {saved['id']} (changed since "
                                                     f"it was made); build it again")
    # the settings from the digested file (reference.json repeats them for people)
    with open(os.path.join(folder, "settings.json"), encoding="utf-8") as stream:
        saved = {"id": saved["id"], **json.load(stream)}
    try:
        stacked = np.load(os.path.join(folder, PIXELS), allow_pickle=False)
        if not (isinstance(stacked, np.ndarray) and stacked.dtype == np.float64
                and stacked.ndim == 2 and len(stacked)):
            raise ValueError(f"an array of {getattr(stacked, 'dtype', type(stacked))}, "
                             f"not float64 rows")
    except (ValueError, OSError, EOFError) as err:  # a pickled object, a damaged file
        raise InputError(os.path.join(folder, PIXELS), f"not the pixel array soart writes "
                                                       f"({str(err).splitlines()[0]}; "
                                                       f"pickled objects are never "
                                                       f"loaded); build the reference "
                                                       f"again") from None
    try:
        model = patches.Model.load(*(os.path.join(folder, name) for name in PATCHES))
    except (ValueError, OSError, EOFError, KeyError) as err:  # pickled, damaged
        raise InputError(os.path.join(folder, PATCHES[0]), f"not the pixel-level detector "
                                                           f"soart writes ({str(err)[:80]}; "
                                                           f"pickled objects are never "
                                                           f"loaded); build the reference "
                                                           f"again") from None
    if "fitted" not in saved:
        raise InputError(os.path.join(folder, FILE), "no fitted detectors (a reference of "
                                                     "an older soart); build it again")
    try:
        fitted = detectors.load(saved["fitted"], os.path.join(folder, DETECTORS))
    except InputError as err:
        raise InputError(err.path, f"{err.fault}; build the reference again") from None
    judges = [read_table(os.path.join(folder, _judges_file(m)), "judge")
              for m in saved["words"]]
    return Reference(saved["id"], saved, judges, stacked[0], stacked[1:], model, fitted)


def score_images(reference, paths, on_bad_image="stop"):
    """The answer for each image of `paths` against `reference`: (verdict columns:
    `item` then answer.answer_columns' and `reference`; region rows; rejected rows:
    `item`, `reason`). An image that cannot be read or measured stops the batch with
    an InputError (`on_bad_image` stop) or is listed in the rejected rows (skip)."""
    s = reference.settings
    image = s["image"]
    shape = tuple(s["shape"])
    regions = Regions(shape, tuple(image["grid"]))
    kinds = [s["kinds"][m] for m in s["words"]]
    kept, values, rejected, seen = [], [], {"item": [], "reason": []}, []
    n = s["normal_images"]
    for path in paths:
        try:
            pixels = read_gray(path, image["grayscale"], image["crop"], image["max_pixels"])
            if pixels.shape != shape:
                raise InputError(path, f"image is {pixels.shape[1]} x {pixels.shape[0]} "
                                       f"pixels (width x height) after cropping, but the "
                                       f"reference's are {shape[1]} x {shape[0]}")
        except InputError as err:
            if on_bad_image == "stop":
                raise
            rejected["item"].append(path)
            rejected["reason"].append(err.fault)
            continue
        y = pixels.ravel()
        measured = region_values(kinds, reference_of(y, reference.total, n, False), y,
                                 regions, judges=reference.normal_pixels,
                                 sn_ratio=image["sn_ratio"], sn_max_db=image["sn_max_db"],
                                 patch_map=patches.score(reference.patches, pixels[None])[0]
                                 if "patch" in kinds else None)
        kept.append(path)
        values.append([measured[k] for k in kinds])
        seen.append(pixels)
    items = []
    for k, metric in enumerate(s["words"]):
        lo, hi, scale = s["ranges"][metric]
        raw = np.array([v[k] for v in values]).reshape(len(values), regions.n)
        items.append(stages.normalise(raw, lo, hi, scale))
    judges = [t.values for t in reference.judges]
    if not kept:
        return {"item": [], "reference": []}, answer.region_rows({}, [], {}), rejected
    pixels = pixel_evidence(reference.patches, np.array(seen), image)
    # the detectors as the reference fitted them: nothing learnt from this batch
    results = answer.score_all(reference.detectors, items, false_alarm=s["false_alarm"],
                               pixels=pixels)
    attention, predicted_by = answer.predictions(results, items, judges, s["judge_groups"],
                                                 order=s["order"], reference=s["reference"],
                                                 pixels=pixels)
    columns = answer.answer_columns(results, s["method"], predicted_by[s["predictor"]],
                                    attention, items, judges, s["judge_groups"],
                                    s["judge_names"], s["places"], reference=s["reference"],
                                    false_alarm=s["false_alarm"], pixels=pixels)
    verdicts = {"item": kept, **columns, "reference": [reference.id] * len(kept)}
    return verdicts, answer.region_rows(results, kept, s["places"]), rejected


def judge_pixels(model):
    """detectors.Pixels of the reference judges alone (no item): what the pixel-level
    detector is fitted on, their out-of-sample raw scores under `model`."""
    return Pixels(item_raw=np.empty(0), judge_raw=patches.judge_raw(model),
                  peak_row=np.empty(0, np.int64), peak_col=np.empty(0, np.int64),
                  box=np.empty((0, 4), np.int64), item_regions=np.empty((0, 0)))


def pixel_evidence(model, images, image_settings):
    """detectors.Pixels of `images` (n x h x w, cropped) against the fitted pixel-level
    detector, as the workflow's patches stage sees them (patches.evidence)."""
    crop = image_settings["crop"]
    seen = patches.evidence(model, images, patches.score(model, images),
                            region_labels(images.shape[1:], tuple(image_settings["grid"])),
                            (crop[0], crop[1]) if crop else (0, 0))
    return Pixels(item_raw=seen["raw"], judge_raw=patches.judge_raw(model),
                  peak_row=seen["peak_row"], peak_col=seen["peak_col"], box=seen["box"],
                  item_regions=seen["regions"], defect_group=seen["looks"])


# ---- a scored day is a record ---------------------------------------------------------
RECORD = "record.json"  # written last by a batch job: its presence makes the day a record
# a file name Snakemake would read as a wildcard pattern (and fill in with another name)
WILDCARD_BRACES = "{}"


def refused_name(path):
    """Why the image at `path` cannot be an input of a batch job (None: it can)."""
    if any(c in os.path.basename(path) for c in WILDCARD_BRACES):
        return ("the file name holds { or }, which Snakemake reads as a wildcard (another "
                "image's name would be put in its place); rename the image")
    return None


def write_record(path, *, batch, reference, images, flagged, rejected, on_bad_image,
                 code):
    """A day's record.json: what scored it (the reference's id and false-alarm rate),
    and how many images it scored, flagged and rejected. Written last, atomically: a
    day with one is never scored again by itself (workflow/rules/batches.smk)."""
    record = {"batch": batch, "reference": reference.id,
              "false_alarm": float(reference.settings["false_alarm"]),
              "images": int(images), "flagged": int(flagged), "rejected": int(rejected),
              "on_bad_image": on_bad_image, "code": code}
    write_text(path, json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False))
    return record


RECORD_KEYS = ("reference", "false_alarm", "images", "flagged")


def read_record(path):
    """A day's record.json (write_record) as a dict; an InputError naming the file when
    it is missing, damaged or not soart's."""
    try:
        with open(path, encoding="utf-8") as stream:
            record = json.load(stream)
    except OSError as err:
        raise InputError(path, f"cannot read the day's record: {err.strerror}") from None
    except ValueError as err:
        raise InputError(path, f"not a day's record soart wrote ({err})") from None
    if not isinstance(record, dict) or any(k not in record for k in RECORD_KEYS):
        raise InputError(path, f"not a day's record soart wrote (it needs "
                               f"{', '.join(RECORD_KEYS)})")
    return record


def recorded(results_dir, batches):
    """The batches of `batches` whose folder under `results_dir` holds a record: days
    scored once, whose files no job rewrites."""
    return [b for b in batches if os.path.isfile(os.path.join(results_dir, b, RECORD))]


def refuse_rescoring(days, forced, results_dir="results/batches"):
    """One line (an InputError) when a run is told to score a recorded day again
    (`forced`: settings.forced_rules naming rule `batch` or a file of the day): a
    scored day is a record. To score it again, its record is moved aside, named by the
    reference that made it, and the day is then scored as new."""
    for day in days:
        folder = os.path.join(results_dir, day)
        if "batch" in forced or any(os.path.normpath(f).startswith(folder + os.sep)
                                    for f in forced):
            ref = read_record(os.path.join(folder, RECORD))["reference"]
            raise InputError(folder, f"a scored day is a record and is never scored again "
                                     f"in place; to score it against the current "
                                     f"reference, move its record aside (mv {folder} "
                                     f"{folder}.{ref}) and run the plain command")


def drift(batches, records):
    """results/batches/drift.csv's columns: per batch (in `batches` order) its images,
    flagged, rate, and the p-chart's centre (the false-alarm rate p0 of the reference
    that scored it, from its record) and 3-sigma control limits
    p0 +- 3 sqrt(p0 (1 - p0) / n); `drifting` where the rate leaves them. `records`:
    {batch: record (read_record)}. A batch of no image (an empty folder, every image
    rejected) has n = 0: no rate, no limits, never drifting."""
    rows = {"batch": [], "images": [], "flagged": [], "rate": [], "centre": [],
            "lower_limit": [], "upper_limit": [], "drifting": [], "reference": []}
    for batch in batches:
        record = records[batch]
        n, flagged, p0 = int(record["images"]), int(record["flagged"]), \
            float(record["false_alarm"])
        sigma = np.sqrt(p0 * (1 - p0) / n) if n else np.nan
        rate = flagged / n if n else np.nan
        lower = max(0.0, p0 - 3 * sigma) if n else np.nan
        upper = min(1.0, p0 + 3 * sigma) if n else np.nan
        rows["batch"].append(batch)
        rows["images"].append(n)
        rows["flagged"].append(flagged)
        rows["rate"].append(rate)
        rows["centre"].append(p0)
        rows["lower_limit"].append(lower)
        rows["upper_limit"].append(upper)
        rows["drifting"].append(bool(n) and bool(rate > upper or rate < lower))
        rows["reference"].append(str(record["reference"]))
    return rows
