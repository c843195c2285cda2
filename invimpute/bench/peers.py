"""The peers a user might pick instead of the library that run outside :class:`~invimpute.Imputer`.

- ``miceforest``: LightGBM chained equations (the optional ``bench`` extra), run in this process.
- ``hyperimpute``: HyperImpute's automatic selection, run in its own virtual environment (HyperImpute
  0.1.17 falls back to mean imputation under pandas 3 and fails with scikit-learn >= 1.8; it works with
  pandas 2.3.3 and scikit-learn 1.7.2, which ``benchmarks/hyperimpute_env.sh`` installs in
  ``benchmarks/.venv-hyperimpute``; ``$INVIMPUTE_HYPERIMPUTE_PYTHON`` names another interpreter).

The subprocess peer protocol (:func:`run_in_subprocess`): the bench writes, into a temporary folder of its
own, ``damaged.npy`` (float64, the damaged table with NaN in the removed cells), ``missing.npy`` (bool, the
mask: the cells to fill) and ``request.json`` (``{"columns": [...], "seed": int, "options": {...}}``),
then runs ``PYTHON SCRIPT FOLDER``. The peer writes ``filled.npy`` (float64, same shape) and
``timing.json`` (``{"fit_seconds": s, "impute_seconds": s}``, fit and transform timed inside the peer, so
interpreter start-up and imports are not charged, as the in-process methods are warmed up first). Every
peer gets the same masks as the library's methods; observed cells are taken from the damaged table.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import tempfile
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

HYPERIMPUTE_SCRIPT = pathlib.Path(__file__).with_name("hyperimpute_peer.py")
HYPERIMPUTE_ENV_VAR = "INVIMPUTE_HYPERIMPUTE_PYTHON"
HYPERIMPUTE_VENV = pathlib.Path("benchmarks") / ".venv-hyperimpute"


class Skip(Exception):
    """A method that cannot run here (an optional package or environment is absent); recorded as skipped."""


class PeerError(RuntimeError):
    """A subprocess peer that failed or broke the protocol; the message carries its output's last lines."""


def hyperimpute_python() -> pathlib.Path | None:
    """The interpreter of HyperImpute's environment: ``$INVIMPUTE_HYPERIMPUTE_PYTHON``, else
    ``benchmarks/.venv-hyperimpute`` under the current folder or beside this package's checkout; None
    when there is none."""
    named = os.environ.get(HYPERIMPUTE_ENV_VAR)
    if named:
        return pathlib.Path(named) if pathlib.Path(named).is_file() else None
    checkout = pathlib.Path(__file__).resolve().parents[2]
    for root in (pathlib.Path.cwd(), checkout):
        python = root / HYPERIMPUTE_VENV / "bin" / "python"
        if python.is_file():
            return python
    return None


def run_in_subprocess(
    python: str | os.PathLike[str], script: str | os.PathLike[str], damaged: pd.DataFrame, seed: int,
    options: Mapping[str, Any] | None = None, timeout_s: float | None = None,
) -> tuple[pd.DataFrame, float, float]:
    """Run a peer script on ``damaged`` through the protocol above: ``(filled, fit_seconds, impute_seconds)``.

    Raises :class:`PeerError` when the peer exits non-zero, times out, or writes a table of the wrong shape
    or with a missing cell left empty.
    """
    values = damaged.to_numpy(dtype=np.float64)
    missing = damaged.isna().to_numpy()
    with tempfile.TemporaryDirectory(prefix="invimpute-peer-") as folder:
        work = pathlib.Path(folder)
        np.save(work / "damaged.npy", values)
        np.save(work / "missing.npy", missing)
        request = {"columns": [str(c) for c in damaged.columns], "seed": int(seed), "options": dict(options or {})}
        (work / "request.json").write_text(json.dumps(request), encoding="utf-8")
        try:
            done = subprocess.run([str(python), str(script), str(work)], capture_output=True, text=True,
                                  timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PeerError(f"{pathlib.Path(script).name} ran past its {timeout_s} s limit") from exc
        if done.returncode != 0:
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise PeerError(f"{pathlib.Path(script).name} exited with status {done.returncode}: {tail}")
        filled = _read_filled(work, values.shape, missing)
        timing = json.loads((work / "timing.json").read_text(encoding="utf-8"))
    out = damaged.where(~missing, pd.DataFrame(filled, index=damaged.index, columns=damaged.columns))
    return out, float(timing["fit_seconds"]), float(timing["impute_seconds"])


def _read_filled(work: pathlib.Path, shape: tuple[int, ...], missing: np.ndarray) -> np.ndarray:
    """The peer's ``filled.npy``, checked: same shape, every missing cell finite."""
    path = work / "filled.npy"
    if not path.is_file() or not (work / "timing.json").is_file():
        raise PeerError("the peer wrote no filled.npy and timing.json")
    filled = np.asarray(np.load(path), dtype=np.float64)
    if filled.shape != shape:
        raise PeerError(f"the peer's filled table has shape {filled.shape}, the damaged one {shape}")
    if not np.isfinite(filled[missing]).all():
        raise PeerError("the peer left missing cells empty or not finite")
    return filled


def _warn_if_mean_fill(damaged: pd.DataFrame, filled: pd.DataFrame, name: str) -> None:
    """Warn (into the record) when every filled cell is its column's observed mean: a silent fallback."""
    missing = damaged.isna().to_numpy()
    means = np.broadcast_to(damaged.mean().to_numpy(dtype=np.float64), damaged.shape)
    if missing.any() and np.allclose(filled.to_numpy(dtype=np.float64)[missing], means[missing]):
        warnings.warn(f"{name} filled every missing cell with its column mean", RuntimeWarning, stacklevel=2)


def run_hyperimpute(
    damaged: pd.DataFrame, seed: int, categorical: bool, options: Mapping[str, Any], timeout_s: float | None = None
) -> tuple[pd.DataFrame, float, float]:
    """HyperImpute on ``damaged`` in its own environment (raises :class:`Skip` where that is absent)."""
    if categorical:
        raise Skip("hyperimpute runs on numeric tables only here")
    python = hyperimpute_python()
    if python is None:
        raise Skip(f"hyperimpute environment not found (run bash benchmarks/hyperimpute_env.sh, or set "
                   f"{HYPERIMPUTE_ENV_VAR})")
    filled, fit_s, imp_s = run_in_subprocess(python, HYPERIMPUTE_SCRIPT, damaged, seed, options, timeout_s)
    _warn_if_mean_fill(damaged, filled, "hyperimpute")
    return filled, fit_s, imp_s


def run_miceforest(
    damaged: pd.DataFrame, seed: int, categorical: bool, options: Mapping[str, Any]
) -> tuple[pd.DataFrame, float, float]:
    """miceforest's LightGBM chained equations on ``damaged``: ``options["iterations"]`` rounds (default 5),
    ``options["lightgbm"]`` LightGBM parameters (for example ``{"num_threads": 1}``), the other options
    passed to its ``ImputationKernel``; categorical columns go in as pandas categories."""
    try:
        import miceforest
    except ImportError as exc:
        raise Skip("miceforest not installed (pip install 'invimpute[bench]')") from exc
    options = dict(options)
    iterations = int(options.pop("iterations", 5))
    lightgbm = dict(options.pop("lightgbm", {}))
    frame = damaged.copy()
    frame.columns = [f"c{j}" for j in range(frame.shape[1])]  # miceforest wants plain string names
    if categorical:
        frame = frame.astype("category")
    start = time.perf_counter()
    kernel = miceforest.ImputationKernel(frame, num_datasets=1, random_state=int(seed), **options)
    kernel.mice(iterations, **lightgbm)
    fitted = time.perf_counter()
    completed = kernel.complete_data(0)
    imputed = time.perf_counter()
    completed.columns = damaged.columns
    completed.index = damaged.index
    if categorical:
        completed = completed.astype(object)
    return damaged.where(damaged.notna(), completed), fitted - start, imputed - fitted


def run_peer(spec: Mapping[str, Any], damaged: pd.DataFrame, seed: int, categorical: bool
             ) -> tuple[pd.DataFrame, float, float]:
    """Run the peer preset ``spec`` (see :data:`~invimpute.bench.presets.PEERS`) on ``damaged``."""
    if spec["method"] == "hyperimpute":
        return run_hyperimpute(damaged, seed, categorical, spec.get("options", {}), spec.get("timeout_s"))
    if spec["method"] == "miceforest":
        return run_miceforest(damaged, seed, categorical, spec.get("options", {}))
    raise ValueError(f"not a peer run outside the Imputer: {spec['method']!r}")


__all__ = ["Skip", "PeerError", "hyperimpute_python", "run_in_subprocess", "run_hyperimpute", "run_miceforest",
           "run_peer", "HYPERIMPUTE_SCRIPT", "HYPERIMPUTE_ENV_VAR"]
