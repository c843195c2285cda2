"""Finding missing cells in real tables, and simulating missingness for experiments.

Convention: ``observed`` masks are True where a value is present; the simulators return ``missing``
masks, True where a cell is to be removed. Detection turns the many ways real files write "no value"
(NaN, None, "", whitespace, "NA", "?", sentinel numbers such as -999) into one observed mask and a
per-column report, and hands back a cleaned copy in which every missing cell is NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from invimpute.encoding.layout import Layout
from invimpute.encoding.schema import Schema

UNAMBIGUOUS_TOKENS: tuple[str, ...] = ("", "NA", "N/A", "n/a", "NULL", "null", "Null", "nan", "NaN", "NAN")
"""Strings that always mean missing (compared after stripping whitespace; whitespace-only cells too)."""

AMBIGUOUS_TOKENS: tuple[str, ...] = ("None", "none", "na", "?")
"""Strings that often mean missing but also name real levels (``"none"`` years of experience, Ames' ``"None"``
veneer type): with the default ``tokens="auto"`` each is judged per column by :func:`judge_token`."""

DEFAULT_TOKENS: tuple[str, ...] = UNAMBIGUOUS_TOKENS + AMBIGUOUS_TOKENS
"""Every token the default reads as missing somewhere: the unambiguous ones always, the ambiguous ones where the
column's evidence says so."""

AUTO = "auto"
"""``tokens="auto"`` (the default): :data:`UNAMBIGUOUS_TOKENS` everywhere, :data:`AMBIGUOUS_TOKENS` judged per column."""


@dataclass(frozen=True)
class Detection:
    """What :func:`detect` found.

    ``cleaned`` is a copy of the table with every missing cell set to NaN (object columns keep their
    other values as they were); ``observed`` is a boolean DataFrame, True where a value is present;
    ``report`` has one row per column with counts of NaN/None cells, token cells and sentinel cells;
    ``decisions`` maps a column to the sentences saying which ambiguous tokens it kept as values or read as
    missing, and why (only columns holding an ambiguous token judged under ``tokens="auto"``).
    """

    cleaned: pd.DataFrame
    observed: pd.DataFrame
    report: pd.DataFrame
    decisions: Mapping = field(default_factory=dict)


def _key(seed_or_key: int | jax.Array) -> jax.Array:
    if isinstance(seed_or_key, (int, np.integer)):
        return jax.random.key(int(seed_or_key))
    return seed_or_key


def detect(
    data: pd.DataFrame,
    tokens: str | Sequence[str] | Mapping[object, Sequence[str]] | None = AUTO,
    sentinels: Mapping[str, Sequence[float | str]] | Sequence[float | str] | None = None,
) -> Detection:
    """Find missing cells in ``data``.

    Args:
      data: the table; it is not modified.
      tokens: strings that mean "missing" in text cells (after stripping whitespace; whitespace-only
        cells are always missing). ``"auto"`` (the default): :data:`UNAMBIGUOUS_TOKENS` in every column and
        each of :data:`AMBIGUOUS_TOKENS` where :func:`judge_token` finds it marks missing cells. A sequence:
        exactly those strings, in every column, no judging (the caller said so). A mapping from column
        name to a sequence: exactly those strings in the named columns, ``"auto"`` in the others.
        ``None`` or ``()`` turns token matching off.
      sentinels: values that mean "missing": a mapping from column name to its sentinels (for example
        ``{"age": [-999, 0]}``), or one sequence applied to every column.

    Returns:
      A :class:`Detection`: ``cleaned`` (a copy of ``data`` with every missing cell NaN), ``observed``
      (a boolean frame, True where a value is present) and ``report`` (per column, the counts of
      NaN/None, token and sentinel cells).
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"detect expects a pandas DataFrame, got {type(data).__name__}")
    per_column = _sentinels_by_column(data, sentinels)
    by_column = _tokens_by_column(data, tokens)
    cleaned = data.copy()
    observed = pd.DataFrame(True, index=data.index, columns=data.columns)
    rows, decisions = [], {}
    for col in data.columns:
        s = data[col]
        na, sen = s.isna().to_numpy(), _sentinel_cells(s, per_column.get(col, []))
        token_set = by_column[col]
        if token_set == AUTO:
            tok, said = _judged_token_cells(s, na | sen)
            if said:
                decisions[col] = said
        else:
            tok = _token_cells(s, token_set)
        missing = na | tok | sen
        observed[col] = ~missing
        if missing.any():
            cleaned[col] = _blanked(s, missing)
        rows.append({
            "column": col,
            "n_missing": int(missing.sum()),
            "fraction": float(missing.mean()) if len(s) else 0.0,
            "nan": int(na.sum()),
            "token": int((tok & ~na).sum()),
            "sentinel": int((sen & ~na & ~tok).sum()),
        })
    report = pd.DataFrame(rows).set_index("column")
    return Detection(cleaned=cleaned, observed=observed, report=report, decisions=decisions)


def _tokens_by_column(data: pd.DataFrame, tokens) -> dict:
    """Each column's token set, or ``AUTO`` where its ambiguous tokens are judged."""
    if isinstance(tokens, str) and tokens == AUTO:
        return {c: AUTO for c in data.columns}
    if isinstance(tokens, Mapping):
        unknown = [c for c in tokens if c not in data.columns]
        if unknown:
            raise ValueError(f"tokens name columns that are not in the table: {unknown}; valid columns are "
                             f"{list(data.columns)}")
        return {c: ({str(t).strip() for t in tokens[c] or ()} if c in tokens else AUTO) for c in data.columns}
    if isinstance(tokens, str):
        raise ValueError(f"tokens must be 'auto', a sequence of strings, a dict column -> strings or None, "
                         f"got {tokens!r}")
    token_set = {str(t).strip() for t in (tokens or ())}
    return {c: token_set for c in data.columns}


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or isinstance(s.dtype, (pd.StringDtype, pd.CategoricalDtype))


def _stripped(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(which cells are strings, the cells with strings stripped of surrounding whitespace)."""
    txt = s.astype(object)
    is_str = txt.map(lambda v: isinstance(v, str)).to_numpy()
    return is_str, txt.where(~is_str, txt[is_str].str.strip() if is_str.any() else txt)


def _judged_token_cells(s: pd.Series, other_missing: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Token cells under ``"auto"``: the unambiguous tokens, and each ambiguous one the column's evidence calls missing."""
    if not _is_text(s):
        return np.zeros(len(s), dtype=bool), []
    is_str, stripped = _stripped(s)
    vals = np.array([v if isinstance(v, str) else None for v in stripped], dtype=object)
    sure = is_str & (stripped.isin(UNAMBIGUOUS_TOKENS).to_numpy() | (stripped == "").to_numpy())
    already = other_missing | sure
    out, said = sure.copy(), []
    present = [t for t in AMBIGUOUS_TOKENS if (is_str & (vals == t)).any()]
    ambiguous = is_str & np.isin(vals, present)
    for token in present:
        cells = is_str & (vals == token)
        others = stripped.to_numpy(dtype=object)[~already & ~ambiguous]
        missing, reason = judge_token(token, others, int(cells.sum()), bool(already.any()))
        if missing:
            out |= cells
        said.append(f"{token!r} ({int(cells.sum())} cells) {'read as missing' if missing else 'kept as a value'}: "
                    f"{reason}")
    return out, said


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _is_symbol(v) -> bool:
    return isinstance(v, str) and v != "" and not any(ch.isalnum() for ch in v)


def judge_token(token: str, others: np.ndarray, count: int, marks_missing: bool) -> tuple[bool, str]:
    """Whether an ambiguous ``token`` marks missing cells in a column, and why.

    ``others`` are the column's other observed values, ``count`` the token's cells, ``marks_missing`` whether
    the column already has cells missing another way (NaN, ``""``, ``"NA"``...). The rule:

    - a placeholder symbol (``"?"``) is missing unless the column's other values are symbols too
      (``"+"``, ``"-"``, ``"?"`` as the levels of a scale);
    - a word (``"none"``, ``"None"``, ``"na"``) is a value when it is the column's only value, when the column
      already writes its missing cells another way (a second, distinct marker is a level), or when the
      column's other values include text (it is one level among the others: ``"none"``, ``"some"``, ``"2"``);
      it is missing when every other value is a number and the numbers are at least as many (the column holds
      numbers, and a word there marks a cell without one).
    """
    levels = len(pd.unique(others)) if len(others) else 0
    if _is_symbol(token):
        if len(others) and all(_is_symbol(v) for v in others):
            return False, f"the column's other {levels} values are symbols too, so it is one level among them"
        return True, "a placeholder symbol, not a level among the column's values"
    if len(others) == 0:
        return False, "it is the column's only value"
    if marks_missing:
        return False, "the column already marks missing cells another way, so this is a distinct value"
    numbers = np.fromiter((_is_number(v) for v in others), dtype=bool, count=len(others))
    if numbers.all() and len(others) >= count:
        return True, f"every other value ({len(others)} cells) is a number"
    if numbers.all():
        return False, f"it is more common than the column's {len(others)} numbers, a level among them"
    return False, f"one level among the column's {levels} other values, which include text"


def missing_report(observed: pd.DataFrame) -> pd.DataFrame:
    """The report of :func:`detect` for a table whose only missing cells are NaN (one row per column)."""
    missing = ~observed.to_numpy(dtype=bool)
    count = missing.sum(axis=0)
    return pd.DataFrame({"n_missing": count, "fraction": missing.mean(axis=0) if len(missing) else 0.0,
                         "nan": count, "token": 0, "sentinel": 0},
                        index=pd.Index(observed.columns, name="column"))


def with_outliers(report: pd.DataFrame | None, observed: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """``report`` (or :func:`missing_report` of ``observed`` when None) with an ``outliers`` column: per
    source column, the observed values the encoder found beyond its fences at fit
    (:func:`invimpute.tables.scaling.fences`): left out of its scaling and fill range, clipped when encoded,
    and kept as they are in the output."""
    report = missing_report(observed) if report is None else report.copy()
    found = {spec.name: int(spec.outliers) for spec in schema.columns}  # passed-through columns have none
    report["outliers"] = [found.get(c, 0) for c in report.index]
    return report


def _sentinels_by_column(data: pd.DataFrame, sentinels) -> dict:
    """Each column's sentinel values, from a mapping (its names checked) or one sequence for all."""
    if isinstance(sentinels, Mapping):
        unknown = [c for c in sentinels if c not in data.columns]
        if unknown:
            raise ValueError(
                f"sentinels name columns that are not in the table: {unknown}; "
                f"valid columns are {list(data.columns)}"
            )
        return {c: list(v) for c, v in sentinels.items()}
    return {c: list(sentinels or ()) for c in data.columns}


def _token_cells(s: pd.Series, token_set: set[str]) -> np.ndarray:
    """Text cells that are a missing-value token or blank (after stripping whitespace)."""
    if not _is_text(s):
        return np.zeros(len(s), dtype=bool)
    is_str, stripped = _stripped(s)
    return is_str & (stripped.isin(token_set).to_numpy() | (stripped == "").to_numpy())


def _sentinel_cells(s: pd.Series, marks: list) -> np.ndarray:
    """Cells holding one of ``marks`` (as values, or as text after stripping for text columns)."""
    if not marks:
        return np.zeros(len(s), dtype=bool)
    na = s.isna().to_numpy()
    sen = s.isin(marks).to_numpy() & ~na
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        sen |= s.astype(str).str.strip().isin([str(m) for m in marks]).to_numpy() & ~na
    return sen


def _blanked(s: pd.Series, missing: np.ndarray) -> pd.Series:
    """``s`` with its missing cells NaN (categoricals as objects, integers and bools as float64)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.astype(object).where(~missing, np.nan)
    if s.dtype.kind in "iub":
        return s.astype("float64").where(~missing, np.nan)
    return s.where(~missing, np.nan)


def mcar_mask(
    key: int | jax.Array,
    shape: tuple[int, ...],
    rate: float,
    observed: np.ndarray | None = None,
) -> np.ndarray:
    """Missing completely at random, with an exact fraction: ``round(rate * n)`` cells chosen uniformly.

    ``n`` counts the cells that are currently observed (all cells when ``observed`` is None), so the
    removed fraction of the available cells is exact, as the reference study does it.

    Args:
      key: a seed or a JAX PRNG key.
      shape: the table's shape.
      rate: the fraction of available cells to remove, in [0, 1).
      observed: True where a cell is present (only those can be removed); None for all cells.

    Returns:
      A boolean ``missing`` mask of ``shape``, True where a cell is removed.
    """
    _check_rate(rate)
    avail = np.ones(shape, dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
    if avail.shape != tuple(shape):
        raise ValueError(f"observed has shape {avail.shape}, expected {tuple(shape)}")
    flat = np.flatnonzero(avail.ravel())
    k = int(round(rate * flat.size))
    order = np.asarray(jax.random.permutation(_key(key), flat.size))
    out = np.zeros(avail.size, dtype=bool)
    out[flat[order[:k]]] = True
    return out.reshape(shape)


def _check_rate(rate: float) -> None:
    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"rate must be in [0, 1), got {rate}")


def _solve_intercept(logits: np.ndarray, rate: float) -> float:
    """The intercept b such that mean(sigmoid(logits + b)) == rate (bisection)."""
    lo, hi = -50.0, 50.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if (1.0 / (1.0 + np.exp(-(logits + mid)))).mean() > rate:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def _standardise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    mu = np.nanmean(x, axis=0)
    sd = np.nanstd(x, axis=0)
    return np.nan_to_num((x - mu) / np.where(sd > 0, sd, 1.0))


def mar_mask(
    key: int | jax.Array,
    x: np.ndarray,
    rate: float,
    driver_fraction: float = 0.3,
) -> np.ndarray:
    """Missing at random: a logistic model of always-observed driver columns sets each cell's odds.

    A random ``driver_fraction`` of the columns stay fully observed; each other column's cells go
    missing with probability ``sigmoid(x_drivers @ w + b)``, random weights ``w`` per column and ``b``
    solved so that the expected rate over the whole table is ``rate``.

    Args:
      key: a seed or a JAX PRNG key.
      x: the complete table, a numeric (n, p) array (standardised inside).
      rate: the expected fraction of the whole table's cells to remove, in [0, 1).
      driver_fraction: the share of columns kept fully observed as drivers.

    Returns:
      A boolean (n, p) ``missing`` mask, True where a cell is removed (never in a driver column).
    """
    _check_rate(rate)
    z = _standardise(x)
    n, p = z.shape
    k_perm, k_w, k_u = jax.random.split(_key(key), 3)
    n_drivers = max(1, int(round(driver_fraction * p)))
    if n_drivers >= p:
        raise ValueError(f"mar_mask needs at least 2 columns and driver_fraction < 1, got p={p}")
    perm = np.asarray(jax.random.permutation(k_perm, p))
    drivers, targets = perm[:n_drivers], perm[n_drivers:]
    w = np.asarray(jax.random.normal(k_w, (n_drivers, targets.size)))
    logits = z[:, drivers] @ w / np.sqrt(n_drivers)
    target_rate = min(rate * p / targets.size, 0.99)
    probs = np.empty_like(logits)
    for j in range(targets.size):
        b = _solve_intercept(logits[:, j], target_rate)
        probs[:, j] = 1.0 / (1.0 + np.exp(-(logits[:, j] + b)))
    u = np.asarray(jax.random.uniform(k_u, probs.shape))
    out = np.zeros((n, p), dtype=bool)
    out[:, targets] = u < probs
    return out


def mnar_mask(
    key: int | jax.Array,
    x: np.ndarray,
    rate: float,
    side: str = "high",
    strength: float = 2.0,
) -> np.ndarray:
    """Missing not at random by self-masking: a cell's own value sets its odds of going missing.

    With ``side="high"`` large values are more likely to be removed (censoring from above), with
    ``side="low"`` small ones. The intercept of each column is solved so the expected rate is ``rate``.

    Args:
      key: a seed or a JAX PRNG key.
      x: the complete table, a numeric (n, p) array (standardised inside).
      rate: the expected fraction of each column's cells to remove, in [0, 1).
      side: ``"high"`` or ``"low"``: which values go missing more often.
      strength: the logistic slope on the standardised value.

    Returns:
      A boolean (n, p) ``missing`` mask, True where a cell is removed.
    """
    _check_rate(rate)
    if side not in ("high", "low"):
        raise ValueError(f"side must be 'high' or 'low', got {side!r}")
    z = _standardise(x) * (strength if side == "high" else -strength)
    probs = np.empty_like(z)
    for j in range(z.shape[1]):
        b = _solve_intercept(z[:, j], rate)
        probs[:, j] = 1.0 / (1.0 + np.exp(-(z[:, j] + b)))
    u = np.asarray(jax.random.uniform(_key(key), probs.shape))
    return u < probs


def row_mask(
    key: int | jax.Array,
    n: int,
    height: int,
    width: int,
    n_rows: int,
    contiguous: bool = True,
) -> np.ndarray:
    """Whole pixel rows removed from each of ``n`` images.

    Args:
      key: a seed or a JAX PRNG key.
      n: the number of images.
      height, width: the image size in pixels.
      n_rows: the pixel rows removed from each image, in 1..height.
      contiguous: True removes one band of ``n_rows`` adjacent rows at a random offset per image;
        False removes ``n_rows`` rows chosen at random per image.

    Returns:
      A boolean (n, height, width) ``missing`` mask, True where a pixel is removed.
    """
    if not 0 < n_rows <= height:
        raise ValueError(f"n_rows must be in 1..{height}, got {n_rows}")
    k = _key(key)
    if contiguous:
        start = np.asarray(jax.random.randint(k, (n,), 0, height - n_rows + 1))
        r = np.arange(height)[None, :]
        rows = (r >= start[:, None]) & (r < start[:, None] + n_rows)
    else:
        scores = np.asarray(jax.random.uniform(k, (n, height)))
        ranks = np.argsort(np.argsort(scores, axis=1), axis=1)
        rows = ranks < n_rows
    return np.broadcast_to(rows[:, :, None], (n, height, width)).copy()


def patch_mask(
    key: int | jax.Array,
    n: int,
    height: int,
    width: int,
    patch: tuple[int, int],
) -> np.ndarray:
    """One rectangular patch at a random place in each of ``n`` images.

    Args:
      key: a seed or a JAX PRNG key.
      n: the number of images.
      height, width: the image size in pixels.
      patch: the patch's (height, width), which must fit in the image.

    Returns:
      A boolean (n, height, width) ``missing`` mask, True inside each image's patch.
    """
    ph, pw = patch
    if not (0 < ph <= height and 0 < pw <= width):
        raise ValueError(f"patch {patch} does not fit in a {height}x{width} image")
    ky, kx = jax.random.split(_key(key))
    y0 = np.asarray(jax.random.randint(ky, (n,), 0, height - ph + 1))
    x0 = np.asarray(jax.random.randint(kx, (n,), 0, width - pw + 1))
    ys = np.arange(height)[None, :, None]
    xs = np.arange(width)[None, None, :]
    return (
        (ys >= y0[:, None, None]) & (ys < (y0 + ph)[:, None, None])
        & (xs >= x0[:, None, None]) & (xs < (x0 + pw)[:, None, None])
    )



def group_mask(
    key: int | jax.Array,
    n: int,
    groups: Sequence[Sequence[int]],
    n_lost: int = 1,
) -> np.ndarray:
    """Whole groups of related columns lost together, as when a sensor fails.

    Args:
      key: a seed or a JAX PRNG key.
      n: the number of rows.
      groups: the column indices of each group; together they cover columns ``0..d-1``, each once.
      n_lost: the groups every row loses, drawn at random without replacement.

    Returns:
      A boolean (n, d) ``missing`` mask, True in every column of a row's lost groups.
    """
    cols = sorted(c for g in groups for c in g)
    if cols != list(range(len(cols))):
        raise ValueError("groups must cover the columns 0..d-1, each exactly once")
    if not 0 < n_lost <= len(groups):
        raise ValueError(f"n_lost must be in 1..{len(groups)}, got {n_lost}")
    scores = np.asarray(jax.random.uniform(_key(key), (n, len(groups))))
    lost = np.argsort(np.argsort(scores, axis=1), axis=1) < n_lost
    member = np.zeros((len(groups), len(cols)), bool)
    for i, g in enumerate(groups):
        member[i, list(g)] = True
    return (lost.astype(np.int32) @ member.astype(np.int32)) > 0

def hide_cells(
    key: jax.Array, observed: jax.Array, layout: Layout, rate: float | jax.Array, groups: tuple[int, ...] | None = None
) -> jax.Array:
    """A mask (like ``observed``) of observed cells of an encoded matrix to hide, drawn per group of columns.

    The sampler behind denoising, early-stopping hold-outs and calibration hold-outs (a pure JAX function
    of ``key``). ``groups`` names the group of each encoded column (default: the layout's, so a one-hot
    group goes together); every group is hidden with probability ``rate`` (a scalar, or one per row).
    """
    group = np.asarray(layout.group if groups is None else groups, dtype=np.int32)
    u = jax.random.uniform(key, observed.shape[:-1] + (int(group.max()) + 1,))
    return (u < rate)[..., jnp.asarray(group)] & observed


def apply_mask(data: pd.DataFrame | np.ndarray, missing: np.ndarray) -> pd.DataFrame | np.ndarray:
    """A copy of ``data`` with the cells where ``missing`` is True set to NaN (the input is not modified).

    Args:
      data: a DataFrame or an array.
      missing: a boolean mask of ``data``'s shape (from :func:`mcar_mask` and its siblings).

    Returns:
      A copy of the same type; integer and boolean columns become float64 and categorical columns
      object, so that they can hold NaN.
    """
    missing = np.asarray(missing, dtype=bool)
    if missing.shape != data.shape:
        raise ValueError(f"mask has shape {missing.shape}, data has shape {data.shape}; they must match")
    if isinstance(data, pd.DataFrame):
        out = data.copy()
        for j, col in enumerate(data.columns):
            m = missing[:, j]
            if m.any():
                s = out[col]
                if s.dtype.kind in "iub":
                    s = s.astype("float64")
                elif isinstance(s.dtype, pd.CategoricalDtype):
                    s = s.astype(object)
                out[col] = s.where(~m, np.nan)
        return out
    out = np.array(data, dtype=np.float64 if np.asarray(data).dtype.kind in "iub" else None, copy=True)
    out[missing] = np.nan
    return out


__all__ = [
    "DEFAULT_TOKENS", "UNAMBIGUOUS_TOKENS", "AMBIGUOUS_TOKENS", "AUTO", "Detection", "detect", "judge_token",
    "missing_report", "with_outliers", "mcar_mask", "mar_mask", "mnar_mask",
    "row_mask", "patch_mask", "group_mask", "apply_mask", "hide_cells",
]
