"""Proper draws of boolean columns: a logistic regression on the row's other entries, refitted for each
imputation on a Bayesian bootstrap of the rows (the ``logreg`` step of chained equations).

A boolean column filled by a linear model (the Gaussian model's conditional mean, clipped to [0, 1]) and
then drawn from its temperature-scaled probability is a misspecified imputation model: the calibration
flattens the probabilities the linear fill pushed to 0 or 1, and a pooled analysis reads the flatter
relation between the drawn class and the row's numbers as attenuated coefficients (a logistic regression
of such a column on the numbers came out 0.5 of a standard error towards 0). :func:`logistic_draws` draws
such a column as multiple imputation by chained equations does: for each of the M completed tables, a
ridge-stabilised logistic regression of the column on the table's other modelled entries (observed, or
drawn in that table) is fitted by Newton's method on the rows where the column is observed, weighted by
Dirichlet(1, ..., 1) row weights (so the M fits differ as the coefficient's posterior does), and every
missing cell of the column is drawn from Bernoulli(its predicted probability). One compiled program:
``vmap`` over the M tables, ``lax.map`` over the columns (memory of one column's fit at a time), Newton
steps in a ``lax.fori_loop``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

FIT_ROWS = 2_000
"""Most rows a regression is fitted on (a seeded sample of a longer table; every row is still drawn)."""
NEWTON_STEPS = 12
"""Newton steps of each fit, from zero coefficients."""
RIDGE = 0.1
"""Penalty on the standardised coefficients (not the intercept): keeps a separable column's fit finite
and a one-hot group's collinear entries solvable, while shifting a fit on hundreds of rows by well under
a percent."""


def _fit(Z: jax.Array, y: jax.Array, w: jax.Array, steps: int) -> jax.Array:
    """Weighted ridge logistic regression of ``y`` (rows,) on ``Z`` (rows, p), whose first column is the
    intercept, by ``steps`` Newton steps: the (p,) coefficients."""
    p = Z.shape[1]
    penalty = RIDGE * jnp.ones(p).at[0].set(1e-6)

    def step(_, beta):
        prob = jax.nn.sigmoid(Z @ beta)
        grad = Z.T @ (w * (y - prob)) - penalty * beta
        hess = (Z * (w * prob * (1 - prob))[:, None]).T @ Z + jnp.diag(penalty)
        return beta + jnp.linalg.solve(hess, grad)

    return jax.lax.fori_loop(0, steps, step, jnp.zeros(p, Z.dtype))


@functools.partial(jax.jit, static_argnums=(6,))
def _draw(values: jax.Array, fit_rows: jax.Array, cols: jax.Array, predictors: jax.Array, observed: jax.Array,
          key: jax.Array, steps: int) -> tuple[jax.Array, jax.Array]:
    """Per column of ``cols`` and table of ``values`` (M, n, d): the probabilities of every row and their
    Bernoulli draws, both (M, n, columns)."""
    m = values.shape[0]
    X = values[..., predictors]                                           # (M, n, p)
    mean = X.mean(axis=1, keepdims=True)
    sd = jnp.maximum(X.std(axis=1, keepdims=True), 1e-6)
    Z = jnp.concatenate([jnp.ones(X.shape[:-1] + (1,), X.dtype), (X - mean) / sd], axis=-1)
    k_w, k_b = jax.random.split(key)
    weights = jax.random.dirichlet(k_w, jnp.ones(fit_rows.shape[0]), (m, cols.shape[0])) * fit_rows.shape[0]

    def one_column(args):
        c, w = args                                                        # column index, (M, fit rows)
        keep = jnp.concatenate([jnp.ones(1, bool), predictors != c])      # the column does not predict itself
        Zc = jnp.where(keep, Z, 0.0)
        fw = w * observed[fit_rows, c]
        beta = jax.vmap(_fit, in_axes=(0, 0, 0, None))(Zc[:, fit_rows], values[:, fit_rows, c], fw, steps)
        return jax.nn.sigmoid(jnp.einsum("mnp,mp->mn", Zc, beta))

    prob = jnp.moveaxis(jax.lax.map(one_column, (cols, jnp.swapaxes(weights, 0, 1))), 0, -1)
    return prob, (jax.random.uniform(k_b, prob.shape) < prob).astype(values.dtype)


def logistic_draws(values: np.ndarray, observed: np.ndarray, cols: np.ndarray, predictors: np.ndarray,
                   key: jax.Array, sample: bool = True) -> np.ndarray:
    """``values`` (M, n, d) with the missing cells of the boolean columns ``cols`` drawn from a logistic
    regression on the ``predictors`` entries of the same table, refitted per table on a Bayesian bootstrap
    of the rows where the column is observed.

    Args:
      values: (M, n, d) the M completed encoded tables (the other entries already drawn).
      observed: (n, d) the observed mask.
      cols: the encoded indices of the boolean columns to draw.
      predictors: the encoded indices the regressions read (a column in ``cols`` is left out of its own).
      key: the PRNG key of the bootstrap weights and the draws.
      sample: draw 0/1 cells (else the cells take their predicted probabilities).

    Returns:
      (M, n, d) float32; entries other than the missing cells of ``cols`` unchanged.
    """
    values = np.asarray(values, np.float32)
    observed = np.asarray(observed, bool)
    cols = np.asarray(cols, np.int32)
    if cols.size == 0 or values.shape[0] == 0:
        return values
    n = values.shape[1]
    k_rows, k_draw = jax.random.split(key)
    rows = np.arange(n)
    if n > FIT_ROWS:
        rows = np.sort(np.asarray(jax.random.choice(k_rows, n, (FIT_ROWS,), replace=False)))
    prob, drawn = _draw(jnp.asarray(values), jnp.asarray(rows), jnp.asarray(cols), jnp.asarray(predictors, np.int32),
                        jnp.asarray(observed), k_draw, NEWTON_STEPS)
    fill = np.asarray(drawn if sample else prob)
    out = values.copy()
    out[..., cols] = np.where(observed[:, cols], values[..., cols], fill)
    return out


__all__ = ["FIT_ROWS", "NEWTON_STEPS", "RIDGE", "logistic_draws"]
