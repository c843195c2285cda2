"""HyperImpute as a bench peer, run by :mod:`invimpute.bench.peers` in HyperImpute's own environment.

``python hyperimpute_peer.py WORKDIR`` reads the damaged table from WORKDIR (the files of the peer
protocol in :mod:`invimpute.bench.peers`), fits HyperImpute's automatic-selection plugin on it, fills it,
and writes the filled table and the fit and transform seconds back there. This file imports only numpy,
pandas and hyperimpute, never invimpute: the environment it runs in holds HyperImpute's pins alone.
HyperImpute's plugin does its search and fitting inside ``transform`` (its ``fit`` does nothing with the
table), so of the two times only their sum means anything.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time

import numpy as np
import pandas as pd


def main(workdir: str) -> int:
    """Fill ``WORKDIR/damaged.npy`` with HyperImpute; write ``filled.npy`` and ``timing.json`` there."""
    from hyperimpute.plugins.imputers import Imputers

    work = pathlib.Path(workdir)
    request = json.loads((work / "request.json").read_text(encoding="utf-8"))
    values = np.load(work / "damaged.npy")
    missing = np.load(work / "missing.npy")
    frame = pd.DataFrame(np.where(missing, np.nan, values), columns=request["columns"])
    start = time.perf_counter()
    plugin = Imputers().get("hyperimpute", random_state=int(request["seed"]), **request["options"])
    plugin.fit(frame.copy())
    fitted = time.perf_counter()
    filled = np.asarray(plugin.transform(frame.copy()), dtype=np.float64)
    done = time.perf_counter()
    np.save(work / "filled.npy", filled)
    timing = {"fit_seconds": fitted - start, "impute_seconds": done - fitted}
    (work / "timing.json").write_text(json.dumps(timing), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
