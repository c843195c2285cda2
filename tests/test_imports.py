"""What ``import invimpute`` loads: nothing but the package's own root (every public name is loaded on
first use), so a script that imports it pays for scikit-learn, Ray, pyarrow or polars only when it
reaches the part that needs them."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
HEAVY = ("sklearn", "ray", "pyarrow", "polars", "jax")


def _loaded(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_import_loads_no_heavy_library():
    loaded = _loaded("import invimpute")
    assert not loaded & set(HEAVY), f"import invimpute loaded {sorted(loaded & set(HEAVY))}"


def test_imputer_does_not_load_sklearn_ray_or_polars():
    """The estimator keeps scikit-learn's protocol without its base classes, so importing it loads neither
    scikit-learn (nor SciPy with it), Ray nor polars (pyarrow is pandas' own import where installed)."""
    loaded = _loaded("from invimpute import Imputer, TrainConfig\nassert Imputer.__name__ == 'Imputer'")
    assert "jax" in loaded  # the name resolved to the real class
    unwanted = {"sklearn", "scipy", "ray", "polars"}
    assert not loaded & unwanted, f"from invimpute import Imputer loaded {sorted(loaded & unwanted)}"


def test_not_fitted_error_is_also_scikit_learns_once_it_is_loaded():
    code = """
import numpy as np
from invimpute import Imputer, NotFittedError
try:
    Imputer("mean").transform(np.zeros((2, 2)))
except NotFittedError as err:
    assert "sklearn" not in sys.modules and isinstance(err, ValueError)
from sklearn.exceptions import NotFittedError as Theirs
try:
    Imputer("mean").transform(np.zeros((2, 2)))
except Theirs as err:
    assert isinstance(err, NotFittedError)
"""
    assert "sklearn" in _loaded(code)


def test_every_public_name_resolves():
    import invimpute

    for name in invimpute.__all__:
        assert getattr(invimpute, name) is not None
    assert set(invimpute.__all__) <= set(dir(invimpute))
    try:
        invimpute.no_such_name
    except AttributeError as err:
        assert "no_such_name" in str(err)
    else:
        raise AssertionError("an unknown name must raise AttributeError")


FIT_TINY = """
import numpy as np
import invimpute
{before}
X = np.random.default_rng(0).normal(size=(40, 3))
X[::4, 1] = np.nan
out = invimpute.Imputer("ae", train={{"steps": 20}}, uncertainty={{"calibrate": False}}).fit_transform(X)
assert not np.isnan(out).any()
"""


def _fit_in_process(cache, before: str = "") -> list:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INVIMPUTE_COMPILE_CACHE": str(cache), "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", FIT_TINY.format(before=before)], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_python_api_keeps_compiled_programs_in_the_cache(tmp_path):
    """The Imputer's first fit turns the persistent compilation cache on (here in the folder the
    environment variable names); ``compile_cache.enable(False)`` before it keeps it off."""
    assert _fit_in_process(tmp_path / "on")
    assert not _fit_in_process(tmp_path / "off", "invimpute.compile_cache.enable(False)")
