"""The complete tables and the masks that damage them: one mask per (dataset, mechanism, rate, seed).

The mask's key is ``fold_in(key(seed), crc32("dataset/mechanism/rate"))``: derived from the seed alone
(reproducible on any machine, independent of which methods run or in what order), and different across
data sets and rates, so every method of a cell is scored on the same cells (:func:`mask_checksum`).
"""

from __future__ import annotations

import hashlib
import zlib

import jax
import numpy as np
import pandas as pd

from invimpute import datasets
from invimpute.bench.grid import CATEGORICAL_DATASETS, DATASETS, MECHANISMS, BenchError
from invimpute.encoding.missingness import mar_mask, mcar_mask, mnar_mask


def load_table(dataset: str, data_home: str | None = None, max_rows: int | None = None) -> pd.DataFrame:
    """The complete table of ``dataset`` (numeric tables as float64), optionally subsampled to ``max_rows``.

    The kept rows are the first ``max_rows`` of a permutation seeded by the data set's name, so every
    seed, mechanism, rate and method sees the same rows.
    """
    return load_table_subsampled(dataset, data_home, max_rows)[0]


def load_table_subsampled(dataset: str, data_home: str | None, max_rows: int | None) -> tuple[pd.DataFrame, bool]:
    """:func:`load_table`, and whether rows were dropped."""
    if dataset not in DATASETS:
        raise BenchError(f"unknown dataset {dataset!r}; valid datasets: {', '.join(DATASETS)}")
    if dataset == "mushroom":
        frame = datasets.load_mushroom(data_home, drop_stalk_root=True)
    else:
        frame = datasets.load_uci(dataset, data_home).astype("float64")
    if max_rows is not None and max_rows < len(frame):
        rng = np.random.default_rng(zlib.crc32(dataset.encode()))
        rows = np.sort(rng.permutation(len(frame))[:max_rows])
        return frame.iloc[rows].reset_index(drop=True), True
    return frame, False


def rank_codes(frame: pd.DataFrame) -> np.ndarray:
    """Each cell's frequency rank within its column (0 = most common value): a numeric view of labels."""
    out = np.empty(frame.shape, dtype=np.float64)
    for j, col in enumerate(frame.columns):
        values = frame[col].astype(str)
        order = values.value_counts(sort=True)
        ranks = {v: i for i, v in enumerate(order.index)}
        out[:, j] = values.map(ranks).to_numpy(dtype=np.float64)
    return out


def mask_key(seed: int, dataset: str, mechanism: str, rate: float) -> jax.Array:
    """The mask's PRNG key: the seed's key folded with a stable hash of (dataset, mechanism, rate)."""
    salt = zlib.crc32(f"{dataset}/{mechanism}/{float(rate)!r}".encode()) & 0x7FFFFFFF
    return jax.random.fold_in(jax.random.key(int(seed)), salt)


def draw_mask(truth: pd.DataFrame, dataset: str, mechanism: str, rate: float, seed: int) -> np.ndarray:
    """The ``missing`` mask (True where removed) of one (dataset, mechanism, rate, seed) cell.

    ``mcar``: exactly ``round(rate * cells)`` cells uniformly. ``mar``: a logistic model of always-observed
    driver columns. ``mnar``: self-masking, high values more likely missing. MAR and MNAR masks are
    computed on the numeric matrix of the complete table; for a categorical table that matrix holds each
    cell's frequency rank code (:func:`rank_codes`), so MNAR removes rare categories more often.
    """
    key = mask_key(seed, dataset, mechanism, rate)
    if mechanism == "mcar":
        return mcar_mask(key, truth.shape, rate)
    matrix = rank_codes(truth) if dataset in CATEGORICAL_DATASETS else truth.to_numpy(dtype=np.float64)
    if mechanism == "mar":
        return mar_mask(key, matrix, rate)
    if mechanism == "mnar":
        return mnar_mask(key, matrix, rate)
    raise BenchError(f"unknown mechanism {mechanism!r}; valid mechanisms: {', '.join(MECHANISMS)}")


def mask_checksum(missing: np.ndarray) -> str:
    """SHA-256 of a mask (shape and bits): equal across the methods of one cell by construction."""
    m = np.asarray(missing, dtype=bool)
    digest = hashlib.sha256(np.asarray(m.shape, dtype=np.int64).tobytes() + np.packbits(m).tobytes())
    return digest.hexdigest()[:16]


__all__ = ["load_table", "load_table_subsampled", "rank_codes", "mask_key", "draw_mask", "mask_checksum"]
