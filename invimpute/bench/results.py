"""The results file: one JSON line per (dataset, rows, mechanism, rate, seed, method, config, metric).

Records are appended with one ``write`` + flush + fsync per cell, so a kill loses at most the cell in
progress, and a torn last line is ignored on reading. A record's ``config`` hashes its method's preset
after overrides, so retuning a preset never reuses old numbers; a report uses, per (dataset, method),
the records of the latest config in the file only (:func:`select_records`).
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jax

import invimpute

REQUIRED_FIELDS = frozenset({"dataset", "mechanism", "rate", "seed", "method", "metric"})


def machine_info() -> dict[str, Any]:
    """Where the numbers come from: CPU, OS, Python, JAX backend and devices, library versions."""
    devices = jax.devices()
    return {
        "host": platform.node(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": f"{len(devices)} x {devices[0].device_kind}",
        "invimpute": invimpute.__version__,
    }


def record_key(record: Mapping[str, Any]) -> tuple:
    """The configuration a record belongs to: one record per key in a results file."""
    return (
        record["dataset"], record.get("rows"), record["mechanism"], float(record["rate"]), int(record["seed"]),
        record["method"], record.get("config"), record["metric"],
    )


def read_results(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete record of a results file, in file order; a torn last line (a kill) is ignored."""
    path = pathlib.Path(path)
    if not path.is_file():
        return []
    records = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and REQUIRED_FIELDS <= rec.keys():
                records.append(rec)
    return records


def append_records(path: pathlib.Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Append ``records`` as JSON lines in one write, then flush and fsync.

    A file whose last line was torn by a kill gets a newline first, so the new records start on a line of
    their own.
    """
    if not records:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, allow_nan=False, default=str) + "\n" for r in records)
    with path.open("a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                text = "\n" + text
        fh.write(text.encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


def label(rec: Mapping[str, Any]) -> str:
    """A report row's name: the data set, with its row count when it was subsampled."""
    return f"{rec['dataset']} ({rec['rows']} rows)" if rec.get("subsampled") else str(rec["dataset"])


def order(names: Iterable[str], known: Sequence[str]) -> list[str]:
    """``names`` without repeats, in the order of ``known`` (a label's first word decides), others last."""
    names = list(dict.fromkeys(names))

    def rank(name: str) -> tuple[int, str]:
        head = name.split(" ")[0]
        return (known.index(head) if head in known else len(known), name)

    return sorted(names, key=rank)


def select_records(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The records a report uses: per (dataset, method) the latest config only, the last record per key."""
    records = [dict(r) for r in records]
    latest: dict[tuple[str, str], Any] = {}
    for rec in records:
        latest[(label(rec), rec["method"])] = rec.get("config")
    kept: dict[tuple, dict[str, Any]] = {}
    for rec in records:
        if rec.get("config") == latest[(label(rec), rec["method"])]:
            kept[record_key(rec)] = rec
    return list(kept.values())


__all__ = ["machine_info", "record_key", "read_results", "append_records", "label", "order", "select_records"]
