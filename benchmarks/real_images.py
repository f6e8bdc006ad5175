"""Every method on real images that nobody on the team made, shipped inside packages.

    python benchmarks/real_images.py [--quick] [--judges 10 5] > benchmarks/results/real_images.txt

Cases (dataset x region grid): handwritten digits (scikit-learn's load_digits, 8 x 8
pixels: NORMAL a 0, ERROR_A a 6, ERROR_B a 9), faces against non-faces (scikit-image's
lfw_subset, 25 x 25: NORMAL faces, ERROR_A non-face patches), photographed textures
(scikit-image's brick, grass, gravel, cut into 32 x 32 patches: NORMAL brick, ERROR_A
grass, ERROR_B gravel). Each group's images are split at random (seed 0) into
judges (learning images: 40 NORMAL, 15 per error group) and items (validation: 50 per
group); the metric tables are the metrics stage's arithmetic
(soart_core.images.pixel_metrics: each image against the NORMAL judges' mean
image, a NORMAL judge against the mean of the others), then
normalise and threshold at the shipped config's settings.

Every method is scored out of sample on the labeled items: the judge-attention
verdicts are calibrated on the judges alone (the items never take part); classic MT
takes each reference item's distance from a unit space without it; LDA and nearest
centroid are leave-one-out. Beside each figure its 95 % interval: Hanley-McNeil for
the ROC AUC, Wilson for the rates, normal approximation for the balanced accuracy.
"""

import argparse
import sys

import numpy as np

from soart_core import detectors, stages
from soart_core.evaluation import cross_validated_lda, detector_figures
from soart_core.groups import loo_nearest_centroid, relative_round
from soart_core.images import pixel_metrics
from soart_core.verdicts import flags, judge_verdicts, mt_distances, threshold_of

ORDER = ["NORMAL", "ERROR_A", "ERROR_B"]
REFERENCE = "NORMAL"
FALSE_ALARM = 0.05  # as config.yaml's verdicts.false_alarm
KINDS = ("Y1", "Y2", "Y3")  # beta, eta (dB), gamma
JUDGES = {"NORMAL": 40, "ERROR_A": 15, "ERROR_B": 15}
ITEMS = 50
SEED = 0


def patches(image, size):
    rows, cols = image.shape[0] // size, image.shape[1] // size
    cut = image[:rows * size, :cols * size].astype(np.float64)
    return cut.reshape(rows, size, cols, size).swapaxes(1, 2).reshape(-1, size, size)


def dataset(name):
    """{group: images (n x h x w), 0..255 grey} of one data set (digits: scikit-learn's;
    faces and textures: scikit-image's)."""
    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        pixels = digits.images * (255.0 / 16.0)
        return {g: pixels[digits.target == d] for g, d in zip(ORDER, (0, 6, 9))}
    from skimage import data

    if name == "faces":
        faces = data.lfw_subset() * 255.0  # 100 faces, then 100 non-face patches
        return {"NORMAL": faces[:100], "ERROR_A": faces[100:]}
    return {g: patches(getattr(data, texture)(), 32)
            for g, texture in zip(ORDER, ("brick", "grass", "gravel"))}


CASES = [("digits", (2, 2)), ("digits", (4, 4)), ("faces", (2, 2)), ("faces", (5, 5)),
         ("textures", (2, 2)), ("textures", (4, 4))]


def split(images_by_group, rng):
    """judges and items: (images, groups) each."""
    judges, items = ([], []), ([], [])
    for group, images in images_by_group.items():
        pick = rng.permutation(len(images))
        n_judges = JUDGES[group]
        n_items = min(ITEMS, len(images) - n_judges)
        for (imgs, grps), chosen in ((judges, pick[:n_judges]),
                                     (items, pick[n_judges:n_judges + n_items])):
            imgs.append(images[chosen])
            grps += [group] * len(chosen)
    return ((np.concatenate(judges[0]), np.array(judges[1], dtype=object)),
            (np.concatenate(items[0]), np.array(items[1], dtype=object)))


def build_case(name, grid, seed=SEED):
    """Normalised and thresholded learning (judges) and validation (items) tables per
    metric, as the workflow's stages 1-2 make them at the shipped settings."""
    rng = np.random.default_rng(seed)
    (j_img, j_grp), (i_img, i_grp) = split(dataset(name), rng)
    learn_metrics, valid_metrics = pixel_metrics(j_img, j_grp == REFERENCE, i_img, grid)
    learn_raw, valid_raw = dict(zip(KINDS, learn_metrics)), dict(zip(KINDS, valid_metrics))
    normal, thresholded = {}, {}
    images = (j_img, i_img)
    for m in KINDS:
        lo, hi = stages.value_range(learn_raw[m])
        learn = stages.normalise(learn_raw[m], lo, hi, 2.0)
        valid = stages.normalise(valid_raw[m], lo, hi, 2.0)
        normal[m] = (learn, valid)
        thresholded[m] = (stages.threshold(learn, 0.5, 2.0), stages.threshold(valid, 0.3, 1.0))
    return j_grp, i_grp, normal, thresholded, images


def seed_verdict(j_grp, i_grp, thresholded):
    """The seed's attention per metric (roles Q=Y3, K=Y1, V=Y2), difference from the
    NORMAL items' mean row, then the previous verdicts: MT distance (LOO on the
    reference items) and nearest centroid (LOO), metrics combined by the largest
    distance, any flag and the vote."""
    from soart_core.verdicts import nearest_centroid

    w = {role: stages.weight_matrix(thresholded[m][0])
         for role, m in (("q", "Y3"), ("k", "Y1"), ("v", "Y2"))}
    distances, flagged, votes = [], [], []
    for m in KINDS:
        out = stages.round_half_even(stages.attention(thresholded[m][1], w["q"], w["k"],
                                                      w["v"]), 5)
        diff = stages.difference(out, stages.baseline_row(out, i_grp, "group_mean",
                                                          REFERENCE))
        d, _, _ = mt_distances(diff, i_grp == REFERENCE)
        limit = threshold_of(d[i_grp == REFERENCE], "auto", 0.95)
        distances.append(d)
        flagged.append(d > limit)
        votes.append(nearest_centroid(diff, i_grp, ORDER))
    votes = np.array(votes, dtype=object)
    counts = np.stack([(votes == g).sum(axis=0) for g in ORDER])
    predicted = np.array(ORDER, dtype=object)[counts.argmax(axis=0)]
    return (np.max(distances, axis=0), np.where(np.any(flagged, axis=0), "abnormal",
                                                "normal"), predicted)


def classic_mt(values, i_grp):
    """MT distance of the metrics themselves (LOO for the reference items), flag at
    the 0.95 quantile of the reference items' own distances."""
    d, _, _ = mt_distances(values, i_grp == REFERENCE)
    d = relative_round(d)
    return d, flags(d, threshold_of(d[i_grp == REFERENCE], "auto", 0.95))


def patches_verdict(j_img, j_grp, i_img, grid):
    """The pixel-level detector on the images themselves, calibrated on the NORMAL
    judges alone; `predicted` from what each flagged item's defect looks like beside the
    error judges' (soart_core.patches, as the workflow's patches stage)."""
    from soart_core import patches
    from soart_core.reference import pixel_evidence

    j_img, i_img = np.asarray(j_img, dtype=np.float64), np.asarray(i_img, dtype=np.float64)
    reference = j_grp == REFERENCE
    model = patches.fit(j_img[reference])
    if (~reference).any():
        errors = j_img[~reference]
        patches.learn_defects(model, patches.signatures(model, errors,
                                                        patches.score(model, errors)),
                              j_grp[~reference])
    # as a batch sees them (the workflow's patches stage: the same patches.evidence)
    pixels = pixel_evidence(model, i_img, {"crop": None, "grid": grid})
    result = detectors.run("patches", [], [], j_grp, reference=REFERENCE,
                           false_alarm=FALSE_ALARM, pixels=pixels)
    looks = pixels.defect_group if pixels.defect_group is not None else \
        np.full(len(i_img), REFERENCE)
    return (result["score"], np.where(result["flag"], "abnormal", "normal"),
            np.where(result["flag"], looks, REFERENCE))


def run_case(name, grid):
    j_grp, i_grp, normal, thresholded, images = build_case(name, grid)
    order = [g for g in ORDER if (j_grp == g).any()]
    rows = []

    def add(method, score, flag, predicted):
        rows.append((method, detector_figures(i_grp, score, flag, predicted, order=order,
                                              reference=REFERENCE)))

    def judges(tables, metrics, scale):
        cols, _ = judge_verdicts([tables[m][1] for m in metrics],
                                 [tables[m][0] for m in metrics], j_grp, order=order,
                                 reference=REFERENCE, false_alarm=FALSE_ALARM, scale=scale)
        return cols["score"], cols["flag"], cols["predicted"]

    add("judges_combined_scaled (default)", *judges(normal, KINDS, "judges"))
    add("judges_combined_scaled_thresholded", *judges(thresholded, KINDS, "judges"))
    add("judges_combined_unscaled", *judges(normal, KINDS, "none"))
    for m in KINDS:
        add(f"judges_{m}_scaled", *judges(normal, [m], "judges"))
    for name in ("regions", "mt"):  # the registry's other detectors, judges alone
        result = detectors.run(name, [normal[m][1] for m in KINDS],
                               [normal[m][0] for m in KINDS], j_grp, reference=REFERENCE,
                               false_alarm=FALSE_ALARM)
        add(f"detector_{name}", result["score"],
            np.where(result["flag"], "abnormal", "normal"), None)
    add("detector_patches", *patches_verdict(images[0], j_grp, images[1], grid))
    add("seed_verdict", *seed_verdict(j_grp, i_grp, thresholded))
    combined = np.hstack([thresholded[m][1] for m in KINDS])
    for m in KINDS:
        add(f"metrics_mt_{m}", *classic_mt(thresholded[m][1], i_grp), None)
    add("metrics_mt_combined", *classic_mt(combined, i_grp), None)
    lda, _ = cross_validated_lda(combined, i_grp)
    add("metrics_lda_combined", None, None, lda)
    add("metrics_centroid_combined", None, None,
        loo_nearest_centroid(combined, i_grp, order))
    return rows


def cell(value, ci):
    if np.isnan(value):
        return "-"
    return f"{value:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]"


FIGS = ("roc_auc", "detection_rate", "false_alarm_rate", "balanced_accuracy")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the first case only")
    parser.add_argument("--judges", type=int, nargs=2, metavar=("NORMAL", "ERROR"),
                        help=f"judges per group (default {JUDGES['NORMAL']} NORMAL, "
                             f"{JUDGES['ERROR_A']} per error group)")
    args = parser.parse_args(argv)
    if args.judges:
        JUDGES.update(NORMAL=args.judges[0], ERROR_A=args.judges[1], ERROR_B=args.judges[1])
        print(f"judges: {args.judges[0]} NORMAL, {args.judges[1]} per error group")
    cases = CASES[:1] if args.quick else CASES
    totals = {}
    width = 38
    header = f"{'method':{width}}" + "".join(f"{f:>24}" for f in FIGS)
    for name, grid in cases:
        print(f"\n## {name}, grid {grid[0]}x{grid[1]}")
        print(header)
        for method, figures in run_case(name, grid):
            print(f"{method:{width}}" + "".join(
                f"{cell(figures[f], figures[f + '_ci']):>24}" for f in FIGS))
            totals.setdefault(method, []).append([figures[f] for f in FIGS])
    print(f"\n## mean of {len(cases)} case(s) (intervals per case above)")
    print(f"{'method':{width}}" + "".join(f"{f:>24}" for f in FIGS))
    for method, values in totals.items():
        values = np.array(values, dtype=float)
        seen = np.isfinite(values).any(axis=0)  # a figure the method has in some case
        mean = np.full(len(FIGS), np.nan)
        mean[seen] = np.nanmean(values[:, seen], axis=0)
        print(f"{method:{width}}" + "".join(
            f"{'-' if np.isnan(v) else f'{v:.3f}':>24}" for v in mean))
    return 0


if __name__ == "__main__":
    sys.exit(main())
