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


def test_imputer_does_not_load_ray_or_polars():
    loaded = _loaded("from invimpute import Imputer, TrainConfig\nassert Imputer.__name__ == 'Imputer'")
    assert "jax" in loaded  # the name resolved to the real class
    assert not loaded & {"ray", "polars"}, f"from invimpute import Imputer loaded {sorted(loaded & {'ray', 'polars'})}"


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
