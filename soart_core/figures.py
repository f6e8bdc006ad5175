"""Pictures of the tables as engineers read them: coloured grids ruled by group."""

import numpy as np

from .groups import present_groups
from .layout import UNLABELED
from .patches import defect_part
from .tables import write_atomic
from .verdicts import labeled_mask


# Names are the user's (groups, items, judges, metrics), in any script: matplotlib's
# DejaVu Sans draws Latin (accents included), Greek and Cyrillic, and Noto Sans CJK JP,
# shipped by the notojp-matplotlib package (a dependency, so no system font is needed),
# draws Japanese kana and kanji, Chinese (simplified and traditional) and Korean Hangul.
# Each character takes the first family of the list that has it.
FONT_FAMILIES = ["DejaVu Sans", "Noto Sans CJK JP"]


def _add_fonts():
    """Register the bundled CJK font with matplotlib (once per process) and make the
    list above the default family."""
    from importlib import resources

    import matplotlib
    import notojp_matplotlib  # its version is then part of the figures' code digest
    from matplotlib import font_manager

    path = resources.files(notojp_matplotlib).joinpath("fonts", "NotoSansCJKjp-Regular.otf")
    if not any(f.fname == str(path) for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(path))
    matplotlib.rcParams["font.family"] = FONT_FAMILIES


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    # laid out at the resolution it is saved at: the text that tight_layout measured
    # is drawn again from matplotlib's cache (the figures job: 6.6 CPU s -> 5.6)
    matplotlib.rcParams["figure.dpi"] = DPI

    _add_fonts()
    return plt


UNLABELED_SHOWN = "(unlabeled)"  # how a figure names the group UNLABELED ("")
DPI = 110  # dots per inch of the PNGs


def _blocks(groups, order):
    """Display order (stable by group, unlabeled items last) and, per present group,
    its (name, start, stop)."""
    groups = np.asarray(groups, dtype=object)
    rank = {g: i for i, g in enumerate(order)}
    index = np.argsort([rank.get(g, len(order)) for g in groups], kind="stable")
    spans, start = [], 0
    for g in [*order, UNLABELED]:
        count = int((groups == g).sum())
        if count:
            spans.append((g or UNLABELED_SHOWN, start, start + count))
            start += count
    return index, spans


def _save(fig, path):
    write_atomic(path, lambda stream: fig.savefig(stream, format="png", dpi=DPI),
                 binary=True)


def _bin_rows(values, spans, max_rows=1200):
    """At most about `max_rows` display rows: within each group, means of consecutive
    items (a picture cannot show more rows; memory stays bounded for large N)."""
    size = int(np.ceil(len(values) / max_rows))
    if size <= 1:
        return values, spans, 1
    parts, new_spans, start = [], [], 0
    for group, a, b in spans:
        edges = np.arange(a, b, size)
        parts.append(np.add.reduceat(values[a:b], edges - a, axis=0)
                     / np.diff(np.append(edges, b))[:, None])
        new_spans.append((group, start, start + len(edges)))
        start += len(edges)
    return np.vstack(parts), new_spans, size


def labels(kind, metric=None, items=None, judges=None, binned=1):
    """(title, colour bar label) of a figure of `kind` (attention, difference, blocks)
    of words metric `metric`: a picture read alone says what it shows."""
    if kind == "blocks":
        title = "block sign score (agreement), mean |difference|"
        return ((f"{metric}: {title}" if metric else title),
                "sign score x relative mean |D|")
    title, bar = {"attention": (f"attention (words: {metric})" if metric else "attention",
                                "attention value"),
                  "difference": ("baseline difference (attention - baseline row)",
                                 "difference from baseline")}[kind]
    title = f"{metric} {title}" if metric else title
    if items is not None:
        title += f": {items} items x {judges} judges"
    if binned > 1:
        title += f" (rows: means of up to {binned} items)"
    return title, bar


def heatmap(table, judge_groups, order, path, diverging, metric=None):
    """Items as rows, judges as columns, ruled between groups; `diverging` centres a
    red-blue map on zero (for the baseline difference). Returns the (title, colour bar
    label) it drew."""
    plt = _pyplot()
    rows, row_spans = _blocks(table.groups, order)
    cols, col_spans = _blocks(judge_groups, order)
    values, row_spans, binned = _bin_rows(table.values[rows][:, cols], row_spans)
    height = min(14.0, 2.5 + 0.12 * len(rows))
    width = min(16.0, 3.5 + 0.35 * len(cols))
    fig, ax = plt.subplots(figsize=(width, height))
    if diverging:
        limit = float(np.nanmax(np.abs(values))) or 1.0
        image = ax.imshow(values, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                          interpolation="nearest")
    else:
        image = ax.imshow(values, aspect="auto", cmap="viridis", interpolation="nearest")
    for _, start, _ in row_spans[1:]:
        ax.axhline(start - 0.5, color="black", lw=1.2)
    for _, start, _ in col_spans[1:]:
        ax.axvline(start - 0.5, color="black", lw=1.2)
    ax.set_yticks([(a + b - 1) / 2 for _, a, b in row_spans], [g for g, _, _ in row_spans])
    ax.set_xticks([(a + b - 1) / 2 for _, a, b in col_spans], [g for g, _, _ in col_spans])
    ax.set_xlabel("judges (by group)")
    ax.set_ylabel("items (by group)")
    title, bar = labels("difference" if diverging else "attention", metric, len(rows),
                        len(cols), binned)
    ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.8, label=bar)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return title, bar


def block_grid(blocks, order, path, metric=None):
    """The block sign scores as a small grid with their values printed. Returns the
    (title, colour bar label) it drew."""
    plt = _pyplot()
    item_groups = np.asarray(blocks["item_group"], dtype=object)
    judge_groups = np.asarray(blocks["judge_group"], dtype=object)
    items, judges = present_groups(item_groups, order), present_groups(judge_groups, order)
    grid = np.full((len(items), len(judges)), np.nan)
    agreement, size = np.full_like(grid, np.nan), np.full_like(grid, np.nan)
    rows = [items.index(g) for g in item_groups]
    cols = [judges.index(g) for g in judge_groups]
    grid[rows, cols] = blocks["sign_score"]
    agreement[rows, cols] = blocks["agreement"]
    size[rows, cols] = blocks["mean_abs"]
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(judges), 1.2 + 0.9 * len(items)))
    # colour: the sign score times the block's mean |D| relative to the largest block's,
    # so a sign made of differences of 1e-5 fades to white: it is no finding
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    colours = ScalarMappable(Normalize(-1, 1), "RdBu_r")
    largest = np.nanmax(size) if np.isfinite(size).any() and np.nanmax(size) > 0 else 1.0
    weight = np.clip(np.nan_to_num(size) / largest, 0.0, 1.0)[..., None]
    ax.imshow(colours.to_rgba(np.nan_to_num(grid) * weight[..., 0]))  # toward 0: white
    image = colours
    for (i, j), value in np.ndenumerate(grid):
        # the sign score, its agreement, and how large the differences are
        strong = abs(value) > 0.6 and weight[i, j, 0] > 0.6
        ax.text(j, i, f"{value:+.2f} ({agreement[i, j]:.2f})\n|D| {size[i, j]:.2g}",
                ha="center", va="center", fontsize=8.5, color="white" if strong else "black")
    ax.set_xticks(range(len(judges)), judges)
    ax.set_yticks(range(len(items)), items)
    ax.set_xlabel("judge group")
    ax.set_ylabel("item group")
    title, bar = labels("blocks", metric)
    ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.8, label=bar)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return title, bar


def sweep_plot(summary, parameters, path, figures=None):
    """Each ranking figure against each swept parameter: mean over the other
    parameters' values, with their min-max range shaded and, where the summary has it,
    the figure's 95 % interval as error bars (mean bounds); the chance level of the
    accuracies drawn (`chance_accuracy`, `chance_balanced_accuracy`) as a dashed line.
    Returns {label: line style} of the lines of the first parameter's plot."""
    plt = _pyplot()
    figures = figures or [c for c in summary.columns if c.startswith("mean_")
                          and not c.endswith(("_low", "_high"))]
    # the chance level of each kind of accuracy drawn; just "chance" if only one kind
    kinds = [k for k in ("balanced_accuracy", "accuracy") if f"chance_{k}" in summary
             and any(f.endswith(k) and not f.endswith(f"balanced_{k}") for f in figures)]
    chances = {f"chance_{k}": "chance" if len(kinds) == 1 else
               f"chance ({k.replace('_', ' ')})" for k in kinds}
    fig, axes = plt.subplots(1, len(parameters), figsize=(4.2 * len(parameters), 3.4),
                             squeeze=False)
    for ax, parameter in zip(axes[0], parameters):
        for figure in figures:
            stats = summary.groupby(parameter, sort=True)[figure].agg(["mean", "min", "max"])
            x = [str(v) for v in stats.index]
            line, = ax.plot(x, stats["mean"], marker="o", label=figure)
            ax.fill_between(x, stats["min"], stats["max"], alpha=0.15)
            if f"{figure}_low" in summary:  # its 95 % interval, averaged as the figure
                low = summary.groupby(parameter, sort=True)[f"{figure}_low"].mean()
                high = summary.groupby(parameter, sort=True)[f"{figure}_high"].mean()
                ax.errorbar(x, stats["mean"], yerr=[stats["mean"] - low, high - stats["mean"]],
                            fmt="none", ecolor=line.get_color(), capsize=3, lw=1,
                            label=f"{figure}: 95 % interval")
        for column, label in chances.items():
            level = summary.groupby(parameter, sort=True)[column].mean()
            ax.plot([str(v) for v in level.index], level, ls="--", label=label,
                    color="0.5" if column.endswith("balanced_accuracy") else "0.2")
        ax.set_xlabel(parameter)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("figure (mean, range over the rest)")
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return {line.get_label(): line.get_linestyle() for line in axes[0][0].get_lines()}


MAX_NAMED = 60  # item names a verdict figure can print legibly along its axis


def short_name(item, width=28):
    """An item's name as an axis prints it: the file name of an image path, middle cut
    with an ellipsis past `width` characters."""
    name = str(item).replace("\\", "/").rsplit("/", 1)[-1] or str(item)
    if len(name) > width:
        name = name[: width // 2 - 1] + "\u2026" + name[-(width - width // 2):]
    return name


def path_name(item, width=40):
    """An image's path as given (its group folder tells apart two images of one file
    name), middle cut with an ellipsis past `width` characters."""
    name = str(item)
    if len(name) > width:
        name = name[: width // 2 - 1] + "\u2026" + name[-(width - width // 2):]
    return name


def where_title(item, score, where, nearest):
    """A where.png panel's title: the image's path as given, its score, the region that
    drove its verdict and its most similar normal judge (a path too)."""
    return (f"{path_name(item, 44)}\nscore {score:.3f}, {where}\n"
            f"nearest normal: {path_name(nearest, 40)}")


def named_items(values, flagged, limit=MAX_NAMED):
    """Indices (in input order) of the items whose names a verdict figure prints: all of
    them when they fit, else the flagged ones, highest first up to `limit`."""
    if len(values) <= limit:
        return np.arange(len(values))
    candidates = np.flatnonzero(flagged)
    highest = candidates[np.argsort(-values[candidates], kind="stable")][:limit]
    return np.sort(highest)


def item_plot(values, flagged, predicted, verdicts, order, path, *, line, line_label,
              ylabel, title, log_scale=True):
    """Each item's value in input order, coloured by its predicted group, labeled items
    as dots and unlabeled ones as crosses, the flag's line dashed. The axis names the
    items (in red the flagged ones): every item up to MAX_NAMED items, else the flagged
    ones, highest first. `verdicts` gives the items' ids and groups. Returns the title
    it drew and the names it printed."""
    plt = _pyplot()
    values = np.asarray(values, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=object)
    flagged = np.asarray(flagged, dtype=bool)
    items = [str(i) for i in verdicts["item"]]
    names = [short_name(i) for i in items]
    if len(set(names)) < len(set(items)):  # file names repeat across folders: full ids
        names = [short_name(i, 48) if len(i) > 48 else i for i in items]
    unlabeled = ~labeled_mask(verdicts["group"])
    index = np.arange(len(values))
    shown = named_items(values, flagged)
    fig, ax = plt.subplots(figsize=(min(16.0, 5.0 + 0.16 * max(len(shown), len(values) / 8)),
                                    5.5))
    colours = plt.get_cmap("tab10")
    for k, group in enumerate(order):
        for mask, marker, kind in ((~unlabeled, "o", "labeled"), (unlabeled, "x", "unlabeled")):
            chosen = mask & (predicted == group)
            if chosen.any():
                ax.scatter(index[chosen], values[chosen], marker=marker, s=22,
                           color=colours(k % 10), label=f"predicted {group} ({kind})")
    ax.axhline(line, color="black", ls="--", lw=1, label=line_label)
    positive = values[values > 0]
    if log_scale and len(positive) and positive.max() / max(positive.min(), 1e-300) > 100:
        ax.set_yscale("log")  # values spread over decades: show them all
    ax.set_xticks(shown, [names[i] for i in shown], rotation=90,
                  fontsize=7 if len(shown) <= 40 else 6)
    for tick, i in zip(ax.get_xticklabels(), shown):
        if flagged[i]:
            tick.set_color("tab:red")  # (not bold: the CJK font has one weight)
    if len(shown) == len(values):
        ax.set_xlabel("item (input order; flagged abnormal in red)")
    elif len(shown) == flagged.sum():
        ax.set_xlabel(f"item (input order): the {len(shown)} flagged named"
                      if len(shown) else "item (input order): none flagged")
    else:
        ax.set_xlabel(f"item (input order): the {len(shown)} highest of "
                      f"{int(flagged.sum())} flagged named; every item in the CSV")
    ax.set_xlim(-0.5 if len(values) else -1, max(len(values) - 0.5, 0))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return title, [names[i] for i in shown]


def verdict_plot(verdicts, threshold, order, path, metric=None):
    """A metric's MT verdicts (verdicts/{metric}.csv): each item's MT distance
    (item_plot), the MT flag's threshold dashed."""
    flagged = np.asarray(verdicts["mt_flag"], dtype=object) == "abnormal"
    unlabeled = int((~labeled_mask(verdicts["group"])).sum())
    title = (f"MT verdicts, {int(flagged.sum())} of {len(flagged)} items flagged, "
             f"{unlabeled} unlabeled")
    return item_plot(verdicts["mt_distance"], flagged, verdicts["predicted"], verdicts,
                     order, path, line=threshold, line_label=f"threshold {threshold:.3g}",
                     ylabel="MT distance D\u00b2 (reference unit space)",
                     title=f"{metric}: {title}" if metric else title)


def answer_plot(summary, false_alarm, order, path):
    """The answer (verdicts/summary.csv): each item's score, the flag's line at 1 - a
    dashed, colours by `predicted`, the flagged items named: the same flag, score and
    predicted as the CSV, the answer sheet and the report."""
    flagged = np.asarray(summary["flag"], dtype=object) == "abnormal"
    method = summary["method"][0] if len(summary["method"]) else ""
    unlabeled = int((~labeled_mask(summary["group"])).sum())
    title = (f"answer ({method}): {int(flagged.sum())} of {len(flagged)} items flagged, "
             f"{unlabeled} unlabeled")
    return item_plot(summary["score"], flagged, summary["predicted"], summary, order, path,
                     line=1 - false_alarm,
                     line_label=f"flag: score >= {1 - false_alarm:g}",
                     ylabel="score (higher = more abnormal)", title=title, log_scale=False)


def p_chart(drift, path):
    """The batches' flag rates (results/batches/drift.csv's columns) on a p-chart: the
    promised false-alarm rate of the reference that scored each batch as the centre line, its 3-sigma control limits (they
    narrow as a batch grows), the drifting batches in red."""
    plt = _pyplot()
    n = len(drift["batch"])
    index = np.arange(n)
    rate = np.asarray(drift["rate"], dtype=np.float64)
    drifting = np.asarray(drift["drifting"], dtype=bool)
    fig, ax = plt.subplots(figsize=(min(16.0, 5.0 + 0.3 * n), 4.5))
    if n:  # each batch's limits over its own step of the axis
        edges = np.append(index, n) - 0.5
        for name, label in (("upper_limit", "control limits (3 sigma)"),
                            ("lower_limit", None)):
            limits = np.asarray(drift[name], dtype=np.float64)
            ax.step(edges, np.append(limits, limits[-1]), where="post", color="tab:red",
                    lw=1, ls="--", label=label)
        # each batch's centre: the rate of the reference that scored it (its record)
        centre = np.asarray(drift["centre"], dtype=np.float64)
        rates = ", ".join(f"{p:g}" for p in dict.fromkeys(centre.tolist()))
        ax.step(edges, np.append(centre, centre[-1]), where="post", color="black", lw=1,
                label=f"promised false-alarm rate {rates}")
    else:
        ax.text(0.5, 0.5, "no batch yet", ha="center", va="center",
                transform=ax.transAxes)
    ax.plot(index, rate, color="tab:blue", marker="o", lw=1, label="flag rate")
    ax.scatter(index[drifting], rate[drifting], color="tab:red", zorder=3, s=40,
               label="drifting")
    ax.set_xticks(index, [short_name(b) for b in drift["batch"]], rotation=90, fontsize=7)
    ax.set_xlabel("batch")
    ax.set_ylabel("share of images flagged")
    ax.set_title(f"drift: {int(drifting.sum())} of {n} batches outside the control limits")
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


MAX_WHERE = 24  # flagged images a where figure shows (the highest scores)


def where_plot(summary, regions, path, images=None, limit=MAX_WHERE):
    """Where each flagged image is abnormal: one panel per flagged item (the `limit`
    highest scores), its regions coloured by their score (results/verdicts/regions.csv)
    over the image itself where `images` ({item: grey pixels}) has it, titled with its
    path as given (where_title), score, the region that drove the verdict and its most similar normal judge.
    Returns the items shown."""
    plt = _pyplot()
    flagged = np.flatnonzero(np.asarray(summary["flag"], dtype=object) == "abnormal")
    score = np.asarray(summary["score"], dtype=np.float64)
    shown = flagged[np.argsort(-score[flagged], kind="stable")][:limit]
    items = [str(summary["item"][i]) for i in shown]
    columns = min(4, max(len(items), 1))
    rows = max(1, -(-len(items) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.4 * rows),
                             squeeze=False)
    region_item = np.asarray(regions["item"], dtype=object)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, k, item in zip(axes.ravel(), shown, items):
        mine = region_item == item
        places = {c: np.asarray(regions.get(c, [""] * len(region_item)), dtype=object)[mine]
                  for c in ("top", "left", "height", "width")}
        values = np.asarray(regions["score"], dtype=np.float64)[mine]
        colours = plt.get_cmap("Reds")
        if images is not None and item in images and all(
                str(v) != "" for v in places["top"]):
            ax.imshow(images[item], cmap="gray", vmin=0, vmax=255)
            for top, left, height, width, value in zip(*places.values(), values):
                ax.add_patch(plt.Rectangle((int(left) - 0.5, int(top) - 0.5), int(width),
                                           int(height), facecolor=colours(value),
                                           alpha=0.45, edgecolor="black", lw=0.5))
        elif values.size:  # tables without images: the regions in feature order
            ax.imshow(values[None, :], cmap="Reds", vmin=0, vmax=1, aspect="auto")
        else:  # no region scores (the regions detector could not be calibrated)
            ax.text(0.5, 0.5, "no region scores", ha="center", va="center", fontsize=7)
        ax.set_title(where_title(item, score[k], summary["where"][k],
                                 summary["nearest_normal"][k]), fontsize=7)
    if not items:
        axes[0, 0].text(0.5, 0.5, "no image flagged", ha="center", va="center")
    fig.suptitle(f"where: {len(items)} of {len(flagged)} flagged images, regions "
                 f"coloured by score (darker = more abnormal)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    _save(fig, path)
    plt.close(fig)
    return items


def defect_figure(image, anomaly, box, peak, judge, path, *, title, judge_name, line=None):
    """One flagged image as anomalib draws it: the image; its anomaly map (1 = a
    typical normal judge's worst patch); the image with the map over it and the
    defect's outline (patches.defect_part, the part the box bounds) and box; its most
    similar normal judge. `box`: top, left, height, width; `peak`: (row, col); both in
    the image's (or crop's) pixels. `line`: the map value where the flag starts."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(12.4, 3.6))
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].imshow(image, cmap="gray", vmin=0, vmax=255)
    axes[0].set_title("the image", fontsize=8)
    shown = axes[1].imshow(anomaly, cmap="inferno", vmin=0)
    fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.04)
    axes[1].set_title("anomaly map" + (f" (flag from {line:.3g})" if line else ""),
                      fontsize=8)
    axes[2].imshow(image, cmap="gray", vmin=0, vmax=255)
    axes[2].imshow(anomaly, cmap="inferno", alpha=0.45, vmin=0)
    axes[2].contour(defect_part(anomaly), levels=[0.5], colors="cyan", linewidths=1.0)
    top, left, height, width = box
    axes[2].add_patch(plt.Rectangle((left - 0.5, top - 0.5), width, height, fill=False,
                                    edgecolor="lime", lw=1.0))
    axes[2].plot(peak[1], peak[0], "+", color="lime", markersize=9)
    axes[2].set_title("the defect: outline and box", fontsize=8)
    if judge is not None:
        axes[3].imshow(judge, cmap="gray", vmin=0, vmax=255)
    axes[3].set_title(f"nearest normal: {path_name(judge_name, 40)}", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    _save(fig, path)
    plt.close(fig)
