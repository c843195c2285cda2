"""A fitted method's training record as one long table: per candidate, member and evaluation, the
training loss and the held-out loss.

The record is read from the method's own state (the networks' :class:`~invimpute.training.loop.History`
per member, GAIN's and MIWAE's ``history_``), so it exists wherever that state does, after a checkpoint
is loaded too. A long table (one row per evaluation) rather than a dict of lists: candidates with
different numbers of members and evaluations (``auto``'s network beside a peer, an ensemble's members
stopped early at different evaluations) sit in one frame that ``groupby``, filters and plotting take as
they are.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from invimpute.methods.auto import Auto
from invimpute.methods.registry import Autoencoding
from invimpute.peers.gain import GAIN
from invimpute.peers.miwae import MIWAE

COLUMNS = ("candidate", "member", "step", "train_loss", "held_out_loss", "best")
"""The columns of :func:`training_history`'s table, in order."""


def training_history(method, candidate: str | None = None) -> pd.DataFrame | None:
    """The training record of a fitted ``method``, one row per evaluation, or None when it trains nothing.

    Args:
      method: a fitted method: :class:`~invimpute.methods.registry.Autoencoding` (``ae``, ``recurrent``,
        ``reverse``), :class:`~invimpute.methods.auto.Auto` (each candidate that trains: its network),
        :class:`~invimpute.peers.gain.GAIN`, :class:`~invimpute.peers.miwae.MIWAE`; any other method
        (mean, KNN, the iterative and EM peers) has no training loss and gives None.
      candidate: the name in the ``candidate`` column; by default the method's name (``"reverse"``,
        ``"gain"``...).

    Returns:
      A DataFrame with the columns :data:`COLUMNS`: ``candidate``; ``member`` (0 unless
      ``train.members`` > 1); ``step``, the optimiser steps done at the evaluation (a nullable integer,
      missing for a checkpoint saved before steps were recorded); ``train_loss``, the training objective
      averaged over the last epoch before the evaluation (for the networks the masked loss on the cells
      hidden from the input, for GAIN the generator's loss, for MIWAE the negative bound);
      ``held_out_loss``, the same reconstruction loss on the observed cells held out for early stopping
      (NaN where none are held out); ``best``, True on the evaluation whose parameters were kept.
    """
    if isinstance(method, Auto):
        parts = [training_history(method.methods_[name], name) for name in getattr(method, "names_", ())]
        parts = [p for p in parts if p is not None]
        return pd.concat(parts, ignore_index=True) if parts else None
    if isinstance(method, Autoencoding):
        return _networks(method, candidate or method.algorithm)
    if isinstance(method, GAIN) and hasattr(method, "history_"):
        record = np.asarray(method.history_, dtype=float).reshape(-1, 3)  # D loss, G adversarial loss, MSE
        chunks = np.arange(1, len(record) + 1) * method.chunk_size
        return _frame(candidate or "gain", 0, np.minimum(chunks, method.iterations),
                      record[:, 1] + method.alpha * record[:, 2], None, len(record) - 1)
    if isinstance(method, MIWAE) and hasattr(method, "history_"):
        losses = np.asarray(method.history_, dtype=float)
        per_epoch = getattr(method, "steps_per_epoch_", None)
        steps = None if per_epoch is None else np.arange(1, len(losses) + 1) * per_epoch
        return _frame(candidate or "miwae", 0, steps, losses, None, len(losses) - 1)
    return None


def _networks(method: Autoencoding, candidate: str) -> pd.DataFrame | None:
    if not method.histories_:
        return None
    per_evaluation = getattr(method, "steps_per_evaluation_", None)
    parts = []
    for member, h in enumerate(method.histories_):
        n = len(h.loss)
        steps = None if per_evaluation is None else np.arange(1, n + 1) * per_evaluation
        held = np.asarray(h.val_loss, dtype=float) if len(h.val_loss) == n else None
        parts.append(_frame(candidate, member, steps, h.loss, held, h.best_epoch))
    return pd.concat(parts, ignore_index=True)


def _frame(candidate: str, member: int, steps, train, held, best: int) -> pd.DataFrame:
    n = len(train)
    step = pd.array([pd.NA] * n if steps is None else np.asarray(steps, dtype=np.int64), dtype="Int64")
    return pd.DataFrame({
        "candidate": [candidate] * n,
        "member": np.full(n, member, dtype=np.int64),
        "step": step,
        "train_loss": np.asarray(train, dtype=float),
        "held_out_loss": np.full(n, math.nan) if held is None else np.asarray(held, dtype=float),
        "best": np.arange(n) == best,
    }, columns=list(COLUMNS))


__all__ = ["training_history", "COLUMNS"]
