#!/usr/bin/env bash
# Create the virtual environment the bench runs the `hyperimpute` peer in: benchmarks/.venv-hyperimpute.
#
# HyperImpute 0.1.17 falls back to mean imputation without a word under pandas 3 and crashes with
# scikit-learn >= 1.8, so it runs in an environment of its own with pandas 2.3.3 and scikit-learn 1.7.2
# (never a pin of invimpute's). `invimpute bench --methods hyperimpute` finds this environment (or the one
# named by $INVIMPUTE_HYPERIMPUTE_PYTHON) and runs the peer there in a subprocess, on the same masks.
#
#   bash benchmarks/hyperimpute_env.sh            # PYTHON=python3.11 and VENV=... may be set
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${VENV:-$here/.venv-hyperimpute}"
python="${PYTHON:-python3}"
# torch first, at a release pip may take from a local file (the CPU build); a plain `torch` requirement
# pulled in by hyperimpute would fetch the newest (multi-GB CUDA) build instead.
torch_spec="${TORCH_SPEC:-torch==2.13.0}"

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "$torch_spec"
"$venv/bin/python" -m pip install -q "hyperimpute==0.1.17" "pandas==2.3.3" "scikit-learn==1.7.2" "$torch_spec"
# A fill that differs from the column means on a correlated table shows the plugin really ran.
"$venv/bin/python" - <<'PY'
import numpy as np, pandas as pd
from hyperimpute.plugins.imputers import Imputers
rng = np.random.default_rng(0)
z = rng.normal(size=(300, 1))
frame = pd.DataFrame(np.hstack([z, 2 * z, -z]) + 0.05 * rng.normal(size=(300, 3)), columns=["a", "b", "c"])
damaged = frame.mask(rng.random(frame.shape) < 0.2)
filled = Imputers().get("hyperimpute", random_state=0).fit_transform(damaged.copy())
filled = np.asarray(filled, dtype=float)
miss = damaged.isna().to_numpy()
means = np.broadcast_to(damaged.mean().to_numpy(), frame.shape)
assert not np.allclose(filled[miss], means[miss]), "hyperimpute returned the column means"
err = np.sqrt(np.mean((filled[miss] - frame.to_numpy()[miss]) ** 2))
print(f"hyperimpute environment ready at {__import__('sys').prefix}: RMSE {err:.3f} on the check table")
PY
