"""``method="auto"``: the default imputer, which proves its choice per column on held-out observed cells.

:meth:`Auto.fit` hides a share of the observed cells (per source column, about :data:`HOLDOUT_CELLS`
per column, within [2.5%, 20%] of them), fits every candidate on the rest, and scores each candidate's
fill of the hidden cells per column (filling only the rows that hold one): the masked-prediction autoencoder sized to the table (its training
budget in optimiser steps, early stopping on a further held-out slice), and fast peers (mean/mode, the
library's compiled KNN over up to :data:`KNN_DONORS` donor rows, a multivariate-normal model fitted by
EM, gradient-boosted trees per column where :func:`~invimpute.methods.auto_trees.trees_rows` affords them; when named, the :data:`OPTIONAL`
IterativeImputer), and, where
:func:`inversion_affordable` allows it, the ``inverted`` candidate: reverse training through
the network candidate's own model (:class:`InvertedFill`), which keeps its weights only where its choice
removes at least :data:`INVERSION_GAIN` of the held-out error (else its imputation pass does not run; on
long tables a screen on a sample of the scored rows, :data:`SCREEN_ROWS`, can leave it out first).
:mod:`invimpute.scoring.selection` turns the scores into a fill per column: the best candidate, or a convex
blend where a blend beats every single one out of sample, never anything worse than mean/mode; a
categorical column keeps the network's fill unless another beats it clearly (:data:`CATEGORICAL_INCUMBENT`).

After choosing, the peers that carry weight are refitted on every observed cell (they are cheap), and
the network on tables of up to :data:`REFIT_NETWORK_CELLS` encoded cells is trained further on every
observed cell from where its first fit ended (a warm start: :data:`REFIT_SHARE` of its steps at
:data:`REFIT_RATE` of its step size), not fitted anew; at imputation time every observed cell,
held-out ones included, is input to each candidate.

``holdout_`` keeps the held-out cells and every candidate's fill of them (``(held, fills)``, fills
(held cells, candidates)), and ``fit_data_`` the table fitted on: :mod:`invimpute.uncertainty.blended`
calibrates the belief of the blend on the first and refits the Gaussian model's bootstrap draws on the
second. ``n_rows_`` is the number of rows fitted on, which sizes the candidates (KNN's donors, the
categorical network's budget), so a checkpoint rebuilds them as they were fitted.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import jax
import numpy as np
import pandas as pd

from invimpute.peers.baselines import Iterative, MeanMode
from invimpute.peers.boosting import BoostedTrees
from invimpute.peers.gaussian import GaussianEM
from invimpute.config import ModelConfig
from invimpute.encoding.schema import Schema
from invimpute.inversion.batch import InversionConfig
from invimpute.encoding.layout import Layout
from invimpute.methods.registry import Autoencoding
from invimpute.peers.neighbours import KNN_DONORS, NearestNeighbours, knn_donors
from invimpute.runtime.arrays import to_device
from invimpute.runtime.progress import scope, stage
from invimpute.scoring.selection import BASELINE, ColumnChoice, blend, choose_columns, seeded_rng, selection_frame, weight_matrix
from invimpute.encoding.missingness import hide_cells
from invimpute.methods.auto_trees import tree_settings
from invimpute.training.loop import TrainConfig

CANDIDATES = ("mean", "knn", "gaussian", "network", "trees", "inverted")
"""The default candidates. ``trees`` are gradient-boosted trees per numeric column
(:class:`~invimpute.peers.boosting.BoostedTrees`, settings sized to the table by :mod:`invimpute.methods.auto_trees`), the non-linear tabular learner that
the network does not replace on small tables: with them auto's RMSE was lower on every development mask
of ``benchmarks/results/tree_candidate_dev.md`` (18 of 18 at these settings, by 0.4-5.8% per table)."""
OPTIONAL = ("iterative",)
"""Candidates ``auto`` fits only when named in ``options={"candidates": [...]}``: scikit-learn's
IterativeImputer (an optional extra)."""
INVERTED = "inverted"
"""The candidate that fills by reverse training through the network candidate's own trained model
(:meth:`~invimpute.methods.registry.Autoencoding.reverse_fill`): no model of its own, so it costs only the
inversion."""
INVERSION_STEPS = 15
"""Reverse-training steps of the ``inverted`` candidate when the caller left ``inversion`` at its defaults
(:meth:`Auto.inversion_settings`; the defaults' 30 steps suit reverse training as a method of its own).
Starting from the network's one pass, the candidate's gain comes in its first steps: on development masks
of letter (MCAR 20%, seeds 3-5; ``benchmarks/results/inversion_steps_dev.md``) auto's mean RMSE was
0.066624 at 30 steps, 0.066557 at 15, 0.066550 at 10 and 0.066696 at 5, and the candidate's two passes
cost half as much at 15; credit, spam, breast and Mushroom kept their fills to the digit."""
INVERSION_GAIN = 0.01
"""The share of the table's held-out squared error that the ``inverted`` candidate must remove (the choice
with it against the choice made without it, :meth:`Auto._inversion_gain`) to keep its weights; below it
every column is chosen without it (its held-out error still shown) and its imputation pass, a second
inversion of every row, does not run. Chosen on development masks (MCAR 20%, seeds 5 and 6,
``benchmarks/results/inversion_gain_dev.md``): letter's choice gained 2.0-2.2% on held-out cells and its
fill 0.8-0.9% RMSE on the removed cells; credit, spam, breast and breast_diagnostic gained 0-0.42% on
held-out cells and at most 0.04% RMSE (0.00002), while the pass cost credit about a quarter of its time."""
INVERSION_SHARE = 1.0
"""The inverted candidate runs where its inversion (every row, for the inversion's steps, once to score it
on held-out cells and once more to impute) passes at most this share of the rows the network's training
passed (optimiser steps x rows per step). A row-step of reverse training costs far less time than one of
training (no parameter gradient, no optimiser update, 1,024 rows per compiled chunk), so at this share the
candidate adds a small part of auto's time: on development masks of letter (1,000 rows, MCAR 20%, seed
6; ``benchmarks/auto_inverted.py --share 4``, where it ran) auto took 10.1 s with it against 9.2 s without. Beyond it (large
tables, where training stops after a few epochs) the inversion would cost more than the network."""
SCREEN_ROWS, SCREEN_MARGIN = 2_048, 0.5
"""The inverted candidate's screen: where more than twice ``SCREEN_ROWS`` rows hold a held-out cell, it
first inverts a seeded sample of ``SCREEN_ROWS`` of them, and where its choice there removes less than
``SCREEN_MARGIN`` times :data:`INVERSION_GAIN` of their held-out error it is left out (as where
:func:`inversion_affordable` says no: no column of the selection) without inverting the rest; else the
rest are inverted and the rule of :data:`INVERSION_GAIN` is applied on every scored row. On a long table
where the candidate does not pay, its scoring pass was all its cost (a tenth of the call on credit).
The margin keeps the screen's noise from dropping a candidate that the whole table would keep. Chosen on
development masks (MCAR 20%, seeds 5-8; ``benchmarks/results/inversion_screen_dev.md``)."""
MIN_HOLDOUT, MAX_HOLDOUT = 0.025, 0.2
"""Bounds of the share of observed cells held out (:func:`holdout_rate`). The floor binds on tables of more
than 12,000 observed cells per column, which :data:`HOLDOUT_CELLS` alone would score on a sliver: there every
held-out cell is one the candidates are not fitted on and a row to score. At 2.5% instead of 5% letter's
held-out cells fall from about 800 to 400 per column, and auto's mean RMSE by 0.8% (development masks, MCAR
20%, seeds 3-5; ``benchmarks/results/holdout_dev.md``), credit's and Mushroom's stay within noise; at 1% credit's
network trained twice as long for +0.4% RMSE
(``benchmarks/results/speed_batch_dev.md``)."""
ROW_WISE = ("mean", "knn", "gaussian", "trees")
"""Candidates whose fill of a row reads that row alone, deterministically: at imputation each fills only
the rows missing a cell in a column where it has weight (on credit, KNN's pass over its donors shrinks to
the rows missing one of the few columns it helps), with the same fills."""
REFIT = ("mean", "knn", "iterative", "gaussian", "trees")
"""Candidates refitted on every observed cell once chosen (they are cheap)."""
REFIT_TREES_HOLDOUT = 0.05
"""The share of observed cells held out from which the trees, once chosen, are refitted on every observed
cell: below it (long tables, at :data:`MIN_HOLDOUT`) the refit would add a few percent of cells to a fit
as costly as the first, and the trees keep their first fit. On development masks (MCAR 20%, seeds 3-5;
``benchmarks/results/refit_trees_dev.md``) the 100,000-row generated table saved 0.9 s of 12-14 s at
-0.03% and +0.07% RMSE, letter +0.02%, credit +0.14% (0.00006-0.00025 a seed, under its seeds' spread)."""
REFIT_NETWORK_CELLS = 300_000
"""Encoded cells (rows x encoded width) up to which the network, once chosen, is refitted on every
observed cell too: on small tables the held-out cells are data the network misses most, and the refit
(a second fit of the same shapes, nothing recompiled) costs a few seconds; beyond it the network keeps
the split, since a second fit would double the largest part of the time. Chosen on development masks
(seeds 5 and 6) of breast, breast_diagnostic and spam, where the refit lowered RMSE on every one."""
GAUSSIAN_ROWS = 5_000
"""Rows the Gaussian candidate's EM sees (a seeded sample of a longer table): bounds its cost, as
:data:`KNN_DONORS` bounds KNN's; a mean and covariance of tens of columns are estimated well from them."""
GAUSSIAN_REFIT_ROUNDS = 3
"""EM rounds of the Gaussian model's refit on every observed cell, resumed from its first fit (the held-out
cells are at most a fifth of the observed ones, so EM starts near its new fixed point)."""
REFIT_SHARE, REFIT_RATE = 0.25, 0.5
"""The network's refit on every observed cell: a warm start from its first fit, for this share of the
optimiser steps that fit took to its kept evaluation, at this share of its step size (a fresh cosine
schedule, nothing held out); a quarter of a fit instead of a whole one."""


CATEGORICAL_SHARE = 0.5
"""Share of categorical source columns from which a table gets the categorical network recipe."""
CATEGORICAL_MODEL = ModelConfig(architecture="reference", dropout=0.2, skip=False)
CATEGORICAL_TRAIN = TrainConfig(steps=4_800, batch_size=256, schedule="constant", weight_decay=0.0,
                                corruption=0.5, validation_fraction=0.0)
"""The network of a mostly categorical table, when the caller left the model and training settings at
their defaults: study 1's masked MLP (wide, no decoder layers) with dropout, half the observed cells
hidden per step, a constant step size and no early stopping. On categorical tables the held-out
cross-entropy that early stopping reads starts to rise while accuracy still improves, and the default
network stopped there a point of accuracy short (chosen on Mushroom masks of seeds 10-12, not those of
the published seeds). Its ``steps`` are the most a fit takes: :func:`categorical_steps` sizes the budget to
the table."""
CATEGORICAL_EPOCHS, CATEGORICAL_FLOOR = 150, 1_800
"""The categorical recipe's budget (:func:`categorical_steps`): ``CATEGORICAL_EPOCHS`` passes over the rows
(Mushroom's 8,124 rows get the recipe's 4,800 steps, as before), at least ``CATEGORICAL_FLOOR`` steps.
The fixed 4,800 steps gave a 546-row table about 2,000 passes and 7 s of training. Chosen on development
masks (20% MCAR, seeds 3-8 of Housing; 10% MCAR, 600-row Mushroom samples of seeds 10-12): at 1,800
steps Housing's mean RMSE was 0.1775 against 0.1767 at 4,800 and its accuracy 81.6% against 81.3%, the
Mushroom samples' accuracy 79.9% against 79.7%, at 2.6 s and 18 s per call against 7.0 s and 71 s; 450
and 900 steps cost the Mushroom samples 0.6-0.7 points (``benchmarks/results/categorical_budget_dev.md``)."""


def categorical_steps(n_rows: int) -> int:
    """The categorical recipe's budget on ``n_rows`` rows: :data:`CATEGORICAL_EPOCHS` passes of its batch,
    within [:data:`CATEGORICAL_FLOOR`, ``CATEGORICAL_TRAIN.steps``]."""
    per_epoch = CATEGORICAL_TRAIN.steps_per_epoch(n_rows)
    return min(CATEGORICAL_TRAIN.steps, max(CATEGORICAL_FLOOR, CATEGORICAL_EPOCHS * per_epoch))

CATEGORICAL_INCUMBENT = "network"
"""The candidate a categorical column keeps unless another fill beats it clearly on held-out cells
(:func:`~invimpute.scoring.selection.clear_win`): a category is decided by arg-max, so a blend's small gain in
Brier score on a few hundred cells rarely changes the category chosen, and following it costs accuracy
about as often as it gains."""

HOLDOUT_CELLS = 300
"""Held-out cells wanted per column: enough to score it, few enough that the candidates are fitted on
nearly the table the final fill sees (every cell held out raises their missing rate)."""


def holdout_rate(observed: np.ndarray, fraction: float) -> float:
    """The share of observed cells to hold out: about :data:`HOLDOUT_CELLS` per column, within [2.5%, 20%];
    ``fraction`` when the table is complete.

    The share is kept small on large tables because the candidates do not degrade alike as cells go
    missing (KNN's error rises much faster with the missing rate than a network's): scored at a much
    higher missing rate than the table's, the choice would favour the wrong one.
    """
    if observed.all():
        return float(fraction)
    per_column = float(np.mean(observed.sum(axis=0)))
    return float(np.clip(HOLDOUT_CELLS / max(per_column, 1.0), MIN_HOLDOUT, MAX_HOLDOUT))


def inversion_affordable(network: Autoencoding, n_rows: int, steps: int) -> bool:
    """Whether the ``inverted`` candidate runs on a table of ``n_rows`` rows: when inverting every row for
    ``steps`` steps twice (held-out scoring, then imputation) passes at most :data:`INVERSION_SHARE` of the
    rows that the fitted ``network`` candidate's training passed.

    Args:
      network: the fitted network candidate (:class:`~invimpute.methods.registry.Autoencoding`).
      n_rows: rows of the table.
      steps: the inversion's step budget (``InversionConfig.steps``).

    Returns:
      True where the inversion is affordable.
    """
    return 2 * n_rows * steps <= INVERSION_SHARE * network.trained_samples()


class InvertedFill:
    """The ``inverted`` candidate: reverse training through the fitted network candidate's own model(s)
    (refitted with it), so it has nothing to fit.

    Args:
      network: the fitted network candidate.
    """

    def __init__(self, network: Autoencoding) -> None:
        self.network = network

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        """The network's reverse-training fill of ``X`` (:meth:`~invimpute.methods.registry.Autoencoding.reverse_fill`).

        Args:
          X: the encoded rows, (n, d).
          observed: (n, d) bool, True where a value is present.
          key: the PRNG key of the inversion.

        Returns:
          The repaired rows, (n, d).
        """
        return self.network.reverse_fill(X, observed, key)


def _left_out(with_it: ColumnChoice, without: ColumnChoice, gain: float) -> ColumnChoice:
    """A column's choice made with the ``inverted`` candidate absent (``without``), showing the candidate's
    held-out error from ``with_it``; where it had weight, the rule says why it lost it."""
    rule = without.rule
    if with_it.weights.get(INVERTED, 0.0) > 0:
        rule += f"; {INVERTED} left out (gain {gain:.2%} < {INVERSION_GAIN:.0%} on the table)"
    return replace(without, errors=dict(with_it.errors), rule=rule)


class Auto:
    """Candidates fitted on most observed cells, and per column the fill that held-out cells proved best.

    Args:
      model, train, inversion: the autoencoder candidate's settings (``inversion`` those of the
        ``inverted`` candidate, reverse training through that autoencoder; it runs where
        :func:`inversion_affordable` says so).
      fraction: hold-out share for a table with no missing cell.
      candidates: which candidates to fit; ``"mean"`` is always among them.
      trees: settings of the ``trees`` candidate that apply over those the table gets (:func:`~invimpute.methods.auto_trees.tree_settings`).
      image_shape, progress: as for :class:`~invimpute.methods.registry.Autoencoding`.
    """

    def __init__(
        self,
        model: ModelConfig = ModelConfig(),
        train: TrainConfig = TrainConfig(),
        inversion: InversionConfig = InversionConfig(),
        fraction: float = 0.1,
        candidates: tuple[str, ...] = CANDIDATES,
        trees: dict | None = None,
        image_shape: tuple[int, int] | None = None,
        progress: bool = False,
    ) -> None:
        self.model_config = model
        self.train_config = train
        self.inversion_config = inversion
        self.fraction = fraction
        self.candidates = candidates
        self.trees = trees
        self.image_shape = image_shape
        self.progress = progress

    def network_configs(self, layout: Layout | None = None, n_rows: int | None = None) -> tuple[ModelConfig, TrainConfig]:
        """The network candidate's model and training settings: the categorical recipe
        (:data:`CATEGORICAL_MODEL`, :data:`CATEGORICAL_TRAIN` with the budget of :func:`categorical_steps`
        on ``n_rows`` rows) for a mostly categorical ``layout`` when both settings are at their defaults,
        else the given ones."""
        given = (self.model_config, self.train_config)
        if layout is None or given != (ModelConfig(), TrainConfig()):
            return given
        categorical = int(np.sum(np.bincount(layout.group_array) > 1))  # one-hot groups wider than one column
        if categorical < CATEGORICAL_SHARE * layout.n_groups:
            return given
        steps = CATEGORICAL_TRAIN.steps if n_rows is None else categorical_steps(n_rows)
        return CATEGORICAL_MODEL, replace(CATEGORICAL_TRAIN, steps=steps)

    def inversion_settings(self) -> InversionConfig:
        """The ``inverted`` candidate's reverse training: :data:`INVERSION_STEPS` steps when the caller left
        ``inversion`` at its defaults, else the given settings."""
        given = self.inversion_config
        return replace(given, steps=INVERSION_STEPS) if given == InversionConfig() else given

    def tree_settings(self, layout: Layout | None = None, n_rows: int | None = None) -> dict:
        """The ``trees`` candidate's settings for a table of ``n_rows`` rows of ``layout``, this
        configuration's ``trees`` over them (:func:`~invimpute.methods.auto_trees.tree_settings`)."""
        return tree_settings(layout, n_rows, self.trees)

    def make_candidate(self, name: str, layout: Layout | None = None, n_rows: int | None = None):
        """A fresh, unfitted candidate of this configuration, by name (the network sized to ``layout``, KNN's
        donors and the trees' rows to a table of ``n_rows`` rows)."""
        if name == "mean":
            return MeanMode()
        if name == "knn":
            donors = KNN_DONORS if n_rows is None or layout is None else knn_donors(n_rows, layout.width)
            return NearestNeighbours(n_neighbors=5, max_donors=donors)
        if name == "iterative":
            return Iterative(estimator="bayesian_ridge", max_iter=10)
        if name == "gaussian":
            return GaussianEM(rounds=10, max_rows=GAUSSIAN_ROWS)
        if name == "trees":
            return BoostedTrees(**self.tree_settings(layout, n_rows))
        if name == "network":
            model, train = self.network_configs(layout, n_rows)
            return Autoencoding("ae", model=model, train=train,
                                inversion=self.inversion_settings(), image_shape=self.image_shape, progress=self.progress)
        raise ValueError(f"unknown auto candidate {name!r}; choose among {CANDIDATES + OPTIONAL}")

    def _fit_candidate(self, name: str, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array,
                       what: str = "fit"):
        """One candidate fitted, as the progress stage ``auto: <what> <name>`` (the network's stage is its
        training bar)."""
        method = self.make_candidate(name, layout, X.shape[0])
        if name == "network":
            with scope(f"auto: {what} network"):
                return method.fit(X, observed, layout, key)
        with stage(f"auto: {what} {name}", enabled=self.progress):
            if name == "iterative":
                with warnings.catch_warnings():  # a round budget that ends before sklearn's tolerance is expected
                    warnings.filterwarnings("ignore", message=".*Early stopping criterion not reached.*")
                    return method.fit(X, observed, layout, key)
            return method.fit(X, observed, layout, key)

    def fit(self, X: np.ndarray, observed: np.ndarray, layout: Layout, key: jax.Array) -> "Auto":
        """Hold cells out, fit every candidate on the rest, and choose each column's fill on the held-out cells."""
        names = ([BASELINE] + [c for c in self.candidates if c not in (BASELINE, INVERTED)]
                 + [INVERTED] * (INVERTED in self.candidates))
        X = np.asarray(X, np.float32)
        observed = np.asarray(observed, bool)
        if "trees" in names and not self.tree_settings(layout, X.shape[0])["max_rows"]:
            names.remove("trees")  # beyond its budget (auto_trees.trees_rows)
        k_hold, k_fit, k_imp, k_sel = jax.random.split(key, 4)
        rate = holdout_rate(observed, self.fraction)
        held = np.asarray(hide_cells(k_hold, to_device(observed), layout, rate))
        train = observed & ~held
        self.layout_, self.n_rows_ = layout, X.shape[0]
        self.methods_ = {n: self._fit_candidate(n, X, train, layout, jax.random.fold_in(k_fit, i))
                         for i, n in enumerate(names) if n != INVERTED}
        if INVERTED in names:  # last among the names, so the others' keys do not depend on it
            if "network" not in self.methods_:
                raise ValueError(f"auto's {INVERTED!r} candidate inverts the 'network' candidate: list both")
            network = self.methods_["network"]
            if inversion_affordable(network, X.shape[0], self.inversion_settings().steps):
                self.methods_[INVERTED] = InvertedFill(network)
            else:
                names.remove(INVERTED)
        with stage(f"auto: score {len(names)} candidates on held-out cells", len(names) + 1, enabled=self.progress,
                   unit="candidate") as bar:
            scored = held.any(axis=1)  # only rows with a held-out cell are scored: every fill is per row
            scored = scored if scored.any() else np.ones_like(scored)
            Xs, trains, helds = X[scored], train[scored], held[scored]
            preds = []
            for i, n in enumerate(names):
                if n != INVERTED:
                    preds.append(self.methods_[n].impute(Xs, trains, jax.random.fold_in(k_imp, i)))
                    bar.update(1)
            if INVERTED in names:
                inverted = self._screened_inversion(names, preds, Xs, trains, helds, layout,
                                                    jax.random.fold_in(k_imp, len(names) - 1), k_sel)
                if inverted is None:
                    names.remove(INVERTED)
                else:
                    preds.append(inverted)
                bar.update(1)
            preds = np.stack(preds, axis=-1)
            self.choices_ = self._choose(names, preds, Xs, helds, layout, k_sel)
            if INVERTED in names:
                self.inversion_gain_, without = self._inversion_gain(names, preds, Xs, helds, layout, k_sel,
                                                                     self.choices_)
                self.inversion_rows_ = len(Xs)
                if self.inversion_gain_ < INVERSION_GAIN:  # not worth its imputation pass: chosen without it
                    self.choices_ = [_left_out(c, w, self.inversion_gain_)
                                     for c, w in zip(self.choices_, without)]
            bar.update(1)
        self.names_ = names
        self.weights_ = weight_matrix(names, self.choices_, layout.group_array)
        self.holdout_ = (held, preds[held[scored]])  # what the uncertainty of the fill is calibrated on
        self.fit_data_ = (X, observed)
        inverted = INVERTED in names and bool(np.any(self.weights_[names.index(INVERTED)] > 0))
        for i, n in enumerate(names):  # refit the chosen ones on every observed cell (the inverted fill's network too)
            if not (np.any(self.weights_[i] > 0) or (n == "network" and inverted)) or (
                    n == "trees" and rate < REFIT_TREES_HOLDOUT):
                continue
            if n == "gaussian":
                with stage("auto: refit gaussian", enabled=self.progress):
                    self.methods_[n].warm_refit(X, observed, GAUSSIAN_REFIT_ROUNDS, jax.random.fold_in(k_fit, i))
            elif n in REFIT:
                self.methods_[n] = self._fit_candidate(n, X, observed, layout, jax.random.fold_in(k_fit, i), "refit")
            elif n == "network" and X.size <= REFIT_NETWORK_CELLS:
                with scope("auto: refit network"):
                    self.methods_[n].warm_refit(X, observed, jax.random.fold_in(k_fit, i), REFIT_SHARE, REFIT_RATE)
        return self

    def _choose(self, names: list[str], preds: np.ndarray, X: np.ndarray, held: np.ndarray, layout: Layout,
                key: jax.Array, leave_out: tuple[str, ...] = ()) -> list:
        """Each column's fill among ``names`` from their fills ``preds`` of the ``held`` cells of ``X``
        (:func:`~invimpute.scoring.selection.choose_columns`, the categorical incumbent and the Gaussian
        model's absent columns as auto sets them); the ``leave_out`` candidates are absent from every column."""
        incumbent = CATEGORICAL_INCUMBENT if CATEGORICAL_INCUMBENT in names else None
        absent = self._absent(layout) | {n: np.ones(layout.n_groups, bool) for n in leave_out}
        return choose_columns(names, preds, X, held, layout.group_array, seeded_rng(key),
                              categorical_incumbent=incumbent, absent=absent)

    def _inversion_gain(self, names: list[str], preds: np.ndarray, X: np.ndarray, held: np.ndarray,
                        layout: Layout, key: jax.Array, choices: list) -> tuple[float, list]:
        """``(gain, without)``: the share of the held-out squared error (every held-out cell, encoded
        domain) that ``choices`` (made with the ``inverted`` candidate) remove against the choice made with
        it absent, and that choice."""
        without = self._choose(names, preds, X, held, layout, key, leave_out=(INVERTED,))
        fills = {n: preds[..., c] for c, n in enumerate(names)}
        errors = [float(np.sum(((blend(weight_matrix(names, choice, layout.group_array), fills, names) - X) ** 2)[held]))
                  for choice in (choices, without)]
        return (1.0 - errors[0] / errors[1] if errors[1] > 0 else 0.0), without

    def _screened_inversion(self, names: list[str], preds: list[np.ndarray], X: np.ndarray, train: np.ndarray,
                            held: np.ndarray, layout: Layout, key: jax.Array, k_sel: jax.Array) -> np.ndarray | None:
        """The ``inverted`` candidate's fill of the scored rows ``X`` (the other candidates' fills ``preds``),
        or None where its screen (:data:`SCREEN_ROWS`) finds it not worth inverting them all; the screen's
        gain is then ``inversion_gain_``, on ``inversion_rows_`` rows."""
        fill = self.methods_[INVERTED]
        n = len(X)
        if n <= 2 * SCREEN_ROWS:
            return fill.impute(X, train, key)
        rows = np.sort(seeded_rng(jax.random.fold_in(k_sel, 1)).choice(n, SCREEN_ROWS, replace=False))
        first = fill.impute(X[rows], train[rows], key)
        sample = np.stack([p[rows] for p in preds] + [first], axis=-1)
        choices = self._choose(names, sample, X[rows], held[rows], layout, k_sel)
        gain, _ = self._inversion_gain(names, sample, X[rows], held[rows], layout, k_sel, choices)
        if gain < SCREEN_MARGIN * INVERSION_GAIN:
            self.inversion_gain_, self.inversion_rows_ = gain, SCREEN_ROWS
            return None
        rest = np.setdiff1d(np.arange(n), rows)
        out = np.empty_like(X)
        out[rows] = first
        out[rest] = fill.impute(X[rest], train[rest], jax.random.fold_in(key, 1))
        return out

    def _absent(self, layout: Layout) -> dict[str, np.ndarray]:
        """Per candidate that covers only part of the table (the Gaussian model leaves out wide categorical
        columns), a bool per source column: True where it has no fill and so is no candidate."""
        out = {}
        for n, method in self.methods_.items():
            covers = getattr(method, "covers_", None)
            if covers is not None:
                out[n] = np.bincount(layout.group_array, weights=~covers, minlength=layout.n_groups) > 0
        return out

    def impute(self, X: np.ndarray, observed: np.ndarray, key: jax.Array) -> np.ndarray:
        """Every candidate with weight somewhere fills the table; each column takes its blend of them."""
        if not hasattr(self, "weights_"):
            raise RuntimeError("this method is not fitted yet: call fit first")
        X = np.asarray(X, np.float32)
        observed = np.asarray(observed, bool)
        used = [(c, n) for c, n in enumerate(self.names_) if np.any(self.weights_[c] > 0)]
        fills = {}
        with stage(f"auto: impute {len(X):,} rows with {', '.join(n for _, n in used)}", len(used),
                   enabled=self.progress, unit="candidate") as bar:
            for c, n in used:
                k = jax.random.fold_in(key, c)
                rows = (~observed & (self.weights_[c] > 0)).any(axis=1) if n in ROW_WISE else None
                if rows is None or rows.all():
                    fills[n] = self.methods_[n].impute(X, observed, k)
                else:  # a row missing nothing where this candidate has weight takes nothing from it
                    fills[n] = np.zeros_like(X)
                    if rows.any():
                        fills[n][rows] = self.methods_[n].impute(X[rows], observed[rows], k)
                bar.update(1)
        return np.where(observed, X, blend(self.weights_, fills, self.names_)).astype(np.float32)

    def selection_table(self, schema: Schema) -> pd.DataFrame:
        """Per source column: every candidate's held-out error, its weight, the choice and the rule."""
        return selection_frame(self.names_, self.choices_, schema.names)


__all__ = ["Auto", "CANDIDATES", "OPTIONAL", "INVERTED", "INVERSION_STEPS", "INVERSION_GAIN", "INVERSION_SHARE", "SCREEN_ROWS", "SCREEN_MARGIN", "InvertedFill", "inversion_affordable", "CATEGORICAL_INCUMBENT", "CATEGORICAL_MODEL", "CATEGORICAL_SHARE", "CATEGORICAL_EPOCHS", "CATEGORICAL_FLOOR", "categorical_steps",
           "CATEGORICAL_TRAIN", "GAUSSIAN_REFIT_ROUNDS", "GAUSSIAN_ROWS", "HOLDOUT_CELLS", "holdout_rate",
           "REFIT_TREES_HOLDOUT", "REFIT_NETWORK_CELLS", "REFIT_RATE", "REFIT_SHARE"]
