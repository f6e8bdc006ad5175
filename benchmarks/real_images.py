"""Every method on real images that nobody on the team made, shipped inside packages.

    python benchmarks/real_images.py [--quick] > benchmarks/results/real_images.txt
    python benchmarks/real_images.py --judges 10 5 > benchmarks/results/real_images_10_judges.txt

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

Printed per case: one row per method (ROC AUC, detection, false alarm, balanced
accuracy of `predicted` over every group), then the answer soart gives with
verdicts.method auto (jobs.verdict_summary): every registry detector run (attention,
regions and mt on the normalised tables, patches on the images with its Pixels from
reference.pixel_evidence), the detector picked on the labeled items by
detectors.choose and `predicted` by detectors.choose_predictor. The labeled items are
those with a known group, as the workflow takes them: here every item, so the pick
sees the items it is scored on, and its honest figures are the nested ones. Row
`answer (picked per data, nested)`: choose's nested ROC AUC, detection and false
alarm (5 stratified folds, each fold's items verdicted by the detector picked on the
others), and the balanced accuracy over every group of the answer's `predicted` so
nested (unflagged: NORMAL; flagged: the group named by the predictor picked on the
other folds of choose_predictor's 5). Row `answer defect group, error items`: the
balanced accuracy (mean recall of the error groups; normal-approximation interval) of
the group so named for the error groups' items, flagged or not ('-' with one error
group: nothing to tell apart). Lines `# answer:` say what was picked (whole data and
each fold) and choose_predictor's nested accuracy (Wilson). Last, the mean of every
row over the cases (and of that accuracy).
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


def pixels_of(j_img, j_grp, i_img, grid):
    """What the pixel-level detector sees of the items (a detectors.Pixels), fitted on
    the NORMAL judges alone, the error judges' defects learnt for `looks`
    (soart_core.patches, as the workflow's patches stage)."""
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
    return pixel_evidence(model, i_img, {"crop": None, "grid": grid})


def patches_verdict(pixels, j_grp):
    """The pixel-level detector's verdict, calibrated on the NORMAL judges alone;
    `predicted` from what each flagged item's defect looks like beside the error
    judges'."""
    result = detectors.run("patches", [], [], j_grp, reference=REFERENCE,
                           false_alarm=FALSE_ALARM, pixels=pixels)
    looks = pixels.defect_group if pixels.defect_group is not None else \
        np.full(len(result["score"]), REFERENCE)
    return (result["score"], np.where(result["flag"], "abnormal", "normal"),
            np.where(result["flag"], looks, REFERENCE))


FOLDS, FOLD_SEED = 5, 0  # detectors.choose's and choose_predictor's defaults


def nested_answer(j_grp, i_grp, normal, pixels, order):
    """The answer soart gives (jobs.verdict_summary with verdicts.method auto): every
    registry detector run on the items against the judges (answer.run_all, the shipped
    config's detector settings, which are the defaults), the detector picked on the
    labeled items (detectors.choose: the items with a known group, here every item),
    `predicted` by the predictor picked on the labeled defective items
    (detectors.choose_predictor). Since the pick sees the items it is scored on, its
    honest figures are the nested ones: each item's flag and score from the detector
    picked on the other folds, and its defect group from the predictor picked on the
    other folds. Returns (the nested figures as detector_figures', the defect-group
    figures over the error groups' items, lines of text saying what was picked)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    from soart_core import answer
    from soart_core.evaluation import balanced_accuracy_interval

    items, judges = [normal[m][1] for m in KINDS], [normal[m][0] for m in KINDS]
    results, skipped = answer.run_all(items, judges, j_grp, reference=REFERENCE,
                                      false_alarm=FALSE_ALARM, pixels=pixels)
    groups = np.asarray(i_grp, dtype=object)
    chosen, why, _, nested = detectors.choose(results, groups, REFERENCE, FOLDS, FOLD_SEED)
    _, predicted_by = answer.predictions(results, items, judges, j_grp, order=order,
                                         reference=REFERENCE, pixels=pixels)
    predictor, predictor_why, _, p_nested = detectors.choose_predictor(
        predicted_by, groups, REFERENCE, FOLDS, FOLD_SEED)

    # choose's folds again, each fold's items verdicted by the detector choose picks
    # when only the other folds are labeled (the public call, the same split)
    labeled = np.flatnonzero(groups != "")
    is_error = (groups != REFERENCE) & (groups != "")
    is_normal = groups == REFERENCE
    k = min(FOLDS, int(is_error.sum()), int(is_normal.sum()))
    flag = np.zeros(len(groups), bool)
    picks = []
    for train, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=FOLD_SEED
                                       ).split(labeled, is_error[labeled]):
        masked = groups.copy()
        masked[labeled[test]] = ""
        picked = detectors.choose(results, masked, REFERENCE, FOLDS, FOLD_SEED)[0]
        picks.append(picked)
        flag[labeled[test]] = results[picked]["flag"][labeled[test]]
    assert np.isclose(flag[is_error].mean(), nested["detection_rate"])
    assert np.isclose(flag[is_normal].mean(), nested["false_alarm_rate"])

    # choose_predictor's folds again over the labeled defective items
    defective = np.flatnonzero(is_error)
    named = np.asarray(predicted_by[predictor], dtype=object).copy()
    p_picks = [f"{predictor} (the default: one error group)"]
    if len(set(groups[defective])) > 1:
        p_picks = []
        for train, test in KFold(n_splits=min(FOLDS, len(defective)), shuffle=True,
                                 random_state=FOLD_SEED).split(defective):
            masked = groups.copy()
            masked[defective[test]] = ""
            picked = detectors.choose_predictor(predicted_by, masked, REFERENCE, FOLDS,
                                                FOLD_SEED)[0]
            p_picks.append(picked)
            named[defective[test]] = predicted_by[picked][defective[test]]
        assert np.isclose((named[defective] == groups[defective]).mean(),
                          p_nested["accuracy"])

    figures = detector_figures(groups, None, np.where(flag, "abnormal", "normal"),
                               np.where(flag, named, REFERENCE), order=order,
                               reference=REFERENCE)
    figures.update({
        "roc_auc": nested["roc_auc"],
        "roc_auc_ci": (nested["roc_auc_low"], nested["roc_auc_high"]),
        "detection_rate": nested["detection_rate"],
        "detection_rate_ci": (nested["detection_low"], nested["detection_high"]),
        "false_alarm_rate": nested["false_alarm_rate"],
        "false_alarm_rate_ci": (nested["false_alarm_low"], nested["false_alarm_high"])})
    errors = [g for g in order if g != REFERENCE]
    group_figures = dict.fromkeys(FIGS, np.nan)
    group_figures.update({f + "_ci": (np.nan, np.nan) for f in FIGS})
    if len(errors) > 1:  # one error group: nothing to tell apart
        recalls = [float((named[groups == g] == g).mean()) for g in errors]
        group_figures["balanced_accuracy"] = float(np.mean(recalls))
        group_figures["balanced_accuracy_ci"] = balanced_accuracy_interval(
            recalls, [int((groups == g).sum()) for g in errors])
    text = [f"answer: detector {chosen} picked on {len(labeled)} labeled items "
            f"(folds picked {', '.join(picks)}): {why}",
            f"answer: predicted by {predictor} (folds picked {', '.join(p_picks)}): "
            + (predictor_why if len(errors) > 1 else "one error group, nothing to choose")]
    if skipped:
        text.append(f"answer: not run: {skipped}")
    return figures, group_figures, p_nested, text


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
    pixels = pixels_of(images[0], j_grp, images[1], grid)
    add("detector_patches", *patches_verdict(pixels, j_grp))
    add("seed_verdict", *seed_verdict(j_grp, i_grp, thresholded))
    combined = np.hstack([thresholded[m][1] for m in KINDS])
    for m in KINDS:
        add(f"metrics_mt_{m}", *classic_mt(thresholded[m][1], i_grp), None)
    add("metrics_mt_combined", *classic_mt(combined, i_grp), None)
    lda, _ = cross_validated_lda(combined, i_grp)
    add("metrics_lda_combined", None, None, lda)
    add("metrics_centroid_combined", None, None,
        loo_nearest_centroid(combined, i_grp, order))
    figures, group_figures, p_nested, text = nested_answer(j_grp, i_grp, normal, pixels,
                                                           order)
    # what was picked, in words, and choose_predictor's nested accuracy, with the row
    rows.append((ANSWER, {**figures, "text": text, "predictor_nested": p_nested}))
    rows.append((ANSWER_GROUP, group_figures))
    return rows


ANSWER = "answer (picked per data, nested)"
ANSWER_GROUP = "answer defect group, error items"


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
    accuracies = []
    for name, grid in cases:
        print(f"\n## {name}, grid {grid[0]}x{grid[1]}")
        print(header)
        rows = run_case(name, grid)
        for method, figures in rows:
            print(f"{method:{width}}" + "".join(
                f"{cell(figures[f], figures[f + '_ci']):>24}" for f in FIGS))
            totals.setdefault(method, []).append([figures[f] for f in FIGS])
        text, p_nested = dict(rows)[ANSWER]["text"], dict(rows)[ANSWER]["predictor_nested"]
        accuracies.append(p_nested["accuracy"])
        if not np.isnan(p_nested["accuracy"]):
            text.append(f"answer: choose_predictor's nested accuracy over the "
                        f"{int(p_nested['n'])} labeled defective items "
                        f"{cell(p_nested['accuracy'], (p_nested['accuracy_low'], p_nested['accuracy_high']))}")
        print("\n".join(f"# {line}" for line in text))
    print(f"\n## mean of {len(cases)} case(s) (intervals per case above)")
    print(f"{'method':{width}}" + "".join(f"{f:>24}" for f in FIGS))
    for method, values in totals.items():
        values = np.array(values, dtype=float)
        seen = np.isfinite(values).any(axis=0)  # a figure the method has in some case
        mean = np.full(len(FIGS), np.nan)
        mean[seen] = np.nanmean(values[:, seen], axis=0)
        print(f"{method:{width}}" + "".join(
            f"{'-' if np.isnan(v) else f'{v:.3f}':>24}" for v in mean))
    if np.isfinite(accuracies).any():
        print(f"# answer: choose_predictor's nested accuracy, mean of the "
              f"{int(np.isfinite(accuracies).sum())} case(s) with 2 error groups: "
              f"{np.nanmean(accuracies):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
