"""Development runs behind the image defaults (seed 1 only): training variants of the convolutional model.

For each JSON dict of ``Imputer`` settings given, fits ``Imputer("ae", seed=1, **settings)`` on the
complete training digits of the seed-1 split of ``image_defaults.py`` and prints, for the test digits
with a band of 3 of 8 rows removed, the missing-pixel accuracy of the one pass and of reverse training
at the default ``InversionConfig``, in latent mode, without the proximal term, and with 100 steps and
a weaker proximal pull, with the fit's seconds and evaluations (``best``: the kept one).

    python benchmarks/image_defaults_dev.py '[{"train": {"corruption_spread": true}}]'
"""

from __future__ import annotations

import json
import os
import sys
import time

import jax
import numpy as np

import invimpute as ii

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from image_defaults import load, score  # noqa: E402

INVERSIONS = {
    "rev": ii.InversionConfig(),
    "lat": ii.InversionConfig(mode="latent"),
    "rev_p0": ii.InversionConfig(proximal=0.0),
    "rev100": ii.InversionConfig(steps=100, proximal=0.3),
}


def main(argv: list[str]) -> None:
    variants = json.loads(argv[0]) if argv else [{}]
    xtr, xte = load("digits", 1, None, 0, 0)
    n, h, w = xte.shape
    missing = ii.row_mask(jax.random.fold_in(jax.random.key(1), 100), n, h, w, 3, contiguous=True)
    miss = missing.reshape(n, -1)
    x_in = np.where(~miss, xte.reshape(n, -1), 0.0).astype(np.float32)
    for v in variants:
        t = time.perf_counter()
        imp = ii.Imputer("ae", seed=1, **v).fit(xtr)
        model, layout, history = imp.method_.models_[0], imp.layout_, imp.method_.histories_[0]
        res = {"v": v, "fit_s": round(time.perf_counter() - t), "evals": len(history.loss), "best": history.best_epoch,
               "one": score(xte, np.asarray(ii.predict(model, x_in, miss, layout)), missing)["missing"]}
        for name, cfg in INVERSIONS.items():
            res[name] = score(xte, ii.invert(model, x_in, ~miss, layout, cfg, 0).x, missing)["missing"]
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
