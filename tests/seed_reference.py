"""A plain transcription of the seed script's arithmetic, for tests only (the seed: the
QEU post "QEUR23_ATTNS20" of 2023-11-10, cited in docs/method.md).

Kept as the blog post wrote it (loops over cells, the full N x N score matrix,
scipy's softmax, round() per cell, DataFrame.to_csv), generalised only in what the
seed hard-codes: the file folder, the feature slice, and the 30 x 9 rounding loop.
"""

import os

import numpy as np
import pandas as pd
from scipy.special import softmax


def read_partscsv(file_readcsv, first="X0", last="X3"):
    df = pd.read_csv(file_readcsv)
    return df.loc[:, first:last].values


def seed_attention(folder, list_learn, list_valid, first="X0", last="X3", out_dir=None):
    """The seed's three attention tables (words Y1, Y2, Y3) as arrays; optionally also
    written as the seed writes them (`attention_Y{i}_raw_verA.csv`) into `out_dir`."""
    path = lambda name: os.path.join(folder, name + ".csv")  # noqa: E731
    mx_query = read_partscsv(path(list_learn[0]), first, last)
    val_maxY1, val_minY1 = np.max(mx_query), np.min(mx_query)
    mx_query = (mx_query - val_minY1) / (val_maxY1 - val_minY1) * 2
    mx_key = read_partscsv(path(list_learn[1]), first, last)
    val_maxY2, val_minY2 = np.max(mx_key), np.min(mx_key)
    mx_key = (mx_key - val_minY2) / (val_maxY2 - val_minY2) * 2
    mx_value = read_partscsv(path(list_learn[2]), first, last)
    val_maxY3, val_minY3 = np.max(mx_value), np.min(mx_value)
    mx_value = (mx_value - val_minY3) / (val_maxY3 - val_minY3) * 2

    max_row, max_col = mx_value.shape
    for i in range(max_row):
        for j in range(max_col):
            for mx in (mx_query, mx_key, mx_value):
                if mx[i, j] < 0.5:
                    mx[i, j] = 0
                else:
                    mx[i, j] = mx[i, j] ** 2.0
    mx_query_T = mx_query.transpose()
    mx_key_T = mx_key.transpose()
    mx_value_T = mx_value.transpose()

    mx_query_valid = read_partscsv(path(list_valid[0]), first, last)
    mx_query_valid = (mx_query_valid - val_minY1) / (val_maxY1 - val_minY1) * 2
    mx_key_valid = read_partscsv(path(list_valid[1]), first, last)
    mx_key_valid = (mx_key_valid - val_minY2) / (val_maxY2 - val_minY2) * 2
    mx_value_valid = read_partscsv(path(list_valid[2]), first, last)
    mx_value_valid = (mx_value_valid - val_minY3) / (val_maxY3 - val_minY3) * 2
    max_row, max_col = mx_value_valid.shape
    for i in range(max_row):
        for j in range(max_col):
            for mx in (mx_query_valid, mx_key_valid, mx_value_valid):
                if mx[i, j] < 0.3:
                    mx[i, j] = 0
                else:
                    mx[i, j] = mx[i, j]

    acc_att = []
    for words in (mx_query_valid, mx_key_valid, mx_value_valid):
        W_Q = mx_value_T  # gamma
        W_K = mx_query_T  # beta
        W_V = mx_key_T  # SN ratio
        Q = words @ W_Q
        K = words @ W_K
        V = words @ W_V
        scores = Q @ K.transpose()
        weights = softmax(scores / K.shape[1] ** 0.5, axis=1)
        attention = weights @ V
        for row in range(attention.shape[0]):
            for col in range(attention.shape[1]):
                attention[row, col] = round(attention[row, col], 5)
        acc_att.append(attention.tolist())
    acc_att = np.array(acc_att)
    if out_dir is not None:
        for i in range(3):
            pd.DataFrame(acc_att[i]).to_csv(
                os.path.join(out_dir, "attention_Y{}_raw_verA.csv".format(i + 1)))
    return acc_att
