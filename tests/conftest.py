"""Shared fixtures: the shared data folder, a small mixed-type table, a small correlated numeric table.

Everything here is tiny on purpose: the suite runs on a shared 2-core CPU.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

if "INVIMPUTE_COMPILE_CACHE" not in os.environ:
    # One compilation cache for this test run, in a temporary folder removed at its end, never the user's:
    # the first process to load this file (pytest-xdist's controller) creates it, and its workers, the
    # command-line subprocesses and the notebooks' kernels inherit it, so a program compiled by one is
    # loaded by the others. The tests of the cache itself pass folders of their own.
    _RUN_CACHE = tempfile.mkdtemp(prefix="invimpute-test-jax-")
    os.environ["INVIMPUTE_COMPILE_CACHE"] = _RUN_CACHE
    atexit.register(shutil.rmtree, _RUN_CACHE, ignore_errors=True)


FULLY_OPTIMISED = frozenset({"test_readme.py", "test_docs.py", "test_cli_job.py"})
"""Test files whose examples do real work on full-size data (the README's and the docs pages' code), and
those that compare an in-process result byte for byte with a command-line subprocess's (which compiles
with full optimisation)."""


@pytest.fixture(autouse=True, scope="module")
def _compile_mode(request):
    """XLA's cheaper compilation (``jax_disable_most_optimizations``) for every test file but
    :data:`FULLY_OPTIMISED`: most tests compile many small programs whose run time is negligible, so
    compilation is most of their time and this takes about a quarter off it (results agree to float
    tolerance; subprocesses such as the notebooks' kernels and the command-line tests are not affected)."""
    import jax

    jax.config.update("jax_disable_most_optimizations", request.path.name not in FULLY_OPTIMISED)
    yield


DATA_ENV_VAR = "INVIMPUTE_DATA"
GIVEN_DATA = os.environ.get(DATA_ENV_VAR)
"""``$INVIMPUTE_DATA`` as the test run started (tests that check the library's resolution unset it)."""


def shared_data_path() -> Path:
    """Where the tests look for the shared data: ``$INVIMPUTE_DATA`` when it is set (as the library's
    data home does), else the workspace's ``shared/data`` beside the checkout."""
    if GIVEN_DATA:
        return Path(GIVEN_DATA).expanduser().resolve()
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's shared data folder (:func:`shared_data_path`); skips, naming where it looked and
    the variable to set, when it is absent."""
    path = shared_data_path()
    if not path.is_dir():
        pytest.skip(f"shared data folder not found at {path}; set {DATA_ENV_VAR} to the folder holding the data")
    return path


def make_mixed(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """A complete table with a string categorical, a boolean, an int and a float column.

    The columns share one latent factor so a model has something to learn; the index is not 0..n-1.
    """
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    color = np.where(z > 0.4, "red", np.where(z < -0.4, "blue", "green"))
    return pd.DataFrame(
        {
            "color": pd.Series(color, dtype=object).to_numpy(),
            "flag": z + 0.3 * rng.normal(size=n) > 0,
            "count": np.rint(3 * z + 10).astype(np.int64),
            "size": (2.0 * z + 0.1 * rng.normal(size=n)).astype(np.float64),
        },
        index=pd.Index(1000 + 7 * np.arange(n), name="row_id"),
    )


@pytest.fixture
def mixed_df() -> pd.DataFrame:
    """A complete mixed-type table (str categorical, bool, int64, float64) with a non-default index."""
    return make_mixed()


def make_mixed_missing(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """:func:`make_mixed` with NaN/None in every column, at known places.

    ``color`` and ``flag`` become object columns holding None, ``count`` float64 (pandas has no int64
    with NaN), ``size`` float64 with NaN. Every row keeps at least one observed cell.
    """
    df = make_mixed(n, seed)
    idx = df.index
    out = df.astype({"color": object, "flag": object, "count": np.float64})
    out.loc[idx[::7], "color"] = None
    out.loc[idx[1::9], "flag"] = None
    out.loc[idx[3::10], "count"] = np.nan
    out.loc[idx[2::8], "size"] = np.nan
    return out


@pytest.fixture
def mixed_df_missing() -> pd.DataFrame:
    """A fresh :func:`make_mixed_missing` table."""
    return make_mixed_missing()


def make_correlated(n: int = 120, d: int = 6, seed: int = 0) -> np.ndarray:
    """An (n, d) float32 matrix in [0, 1] driven by two latent factors (strong correlations)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    w = rng.normal(size=(2, d))
    x = z @ w + 0.05 * rng.normal(size=(n, d))
    x = (x - x.min(0)) / (x.max(0) - x.min(0))
    return x.astype(np.float32)


@pytest.fixture
def correlated() -> np.ndarray:
    return make_correlated()


MAP_LIMIT = 20_000
"""Memory mappings of this process above which the compiled programs are dropped after a test. Every program
XLA compiles for the CPU maps its own code pages and keeps them while JAX's caches hold it; over the whole
suite they pass Linux's default limit of 65,530 mappings per process (vm.max_map_count), and the next
compilation then crashes the interpreter."""


def _mappings() -> int:
    try:
        with open("/proc/self/maps", "rb") as f:
            return sum(1 for _ in f)
    except OSError:  # not Linux: no such limit to keep under
        return 0


@pytest.fixture(autouse=True)
def _bounded_compiled_programs():
    """Drop JAX's compiled programs after a test once the process holds :data:`MAP_LIMIT` mappings."""
    yield
    if _mappings() > MAP_LIMIT:
        import gc

        import jax

        jax.clear_caches()
        gc.collect()
