"""Groups of rows (items or judges): which groups are present, their membership
matrix, and the nearest centroid, all compared at the data's resolution (differences
below it are ties: their last bits follow rounding, not the features)."""

import numpy as np


def present_groups(groups, order):
    """The groups of `order` that occur in `groups`, in `order`."""
    groups = np.asarray(groups, dtype=object)
    return [g for g in order if (groups == g).any()]


def membership(groups, names):
    """Rows x names, True where a row belongs to that group."""
    return np.asarray(groups, dtype=object)[:, None] == np.array(names, dtype=object)[None, :]


def relative_round(values, resolution=1e-9, scale=None):
    """`values` on a grid of `resolution` times `scale` (default: their largest finite
    magnitude): differences below the data's resolution become exact ties."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if scale is None:
        scale = float(np.abs(finite).max()) if finite.size else 0.0
    if scale == 0:
        return values
    step = resolution * scale
    return np.round(values / step) * step


def loo_nearest_centroid(features, groups, order):
    """Leave-one-out nearest-centroid predictions (Euclidean), one group name per row;
    None for fewer than 2 items (leaving one out leaves nothing to compare with).

    A group with a single member cannot be predicted for that member (no centroid
    without it); ties go to the group first in `order`.
    """
    x = np.asarray(features, dtype=np.float64)
    if len(x) < 2:
        return None
    groups = np.asarray(groups)
    present = present_groups(groups, order)
    member = membership(groups, present)  # N x G
    counts = member.sum(axis=0).astype(np.float64)
    sums = member.T.astype(np.float64) @ x  # G x d
    # squared distance of every row to every full centroid (a group at a time: memory
    # N x d, not N x G x d) ...
    centroids = sums / counts[:, None]
    dist = np.column_stack([((x - c) ** 2).sum(axis=1) for c in centroids])
    # ... and to its own group's centroid without itself
    own = member.argmax(axis=1)
    own_n = counts[own] - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        own_centroid = (sums[own] - x) / own_n[:, None]
    own_dist = ((x - own_centroid) ** 2).sum(axis=1)
    dist[np.arange(len(x)), own] = np.where(own_n > 0, own_dist, np.inf)
    # distances that differ below the data's resolution are ties (to the first group in
    # `order`): their last bits follow the labels (leave-one-out), not the features
    return np.array(present, dtype=object)[relative_round(dist, scale=squared_scale(x))
                                           .argmin(axis=1)]


def squared_scale(x):
    """The scale of squared distances between rows of `x`: its largest squared norm."""
    x = np.asarray(x, dtype=np.float64)
    return float((x ** 2).sum(axis=1).max()) if x.size else 0.0
