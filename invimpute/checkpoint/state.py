"""A fitted method's state as plain data: a JSON tree plus named NumPy arrays, and back, with no pickle.

:func:`dump` walks a method's fitted attributes (the names ending in ``_``): arrays (NumPy or JAX) go
to the array store under a path name, scalars, strings, lists, tuples, string-keyed dicts and
:class:`~invimpute.encoding.layout.Layout` become tagged JSON, and a fitted scikit-learn estimator is written
with ``skops.io`` (a secure, pickle-free format) into a byte array. :func:`load` rebuilds the
attributes; skops content is loaded only when every type it names belongs to scikit-learn or NumPy.
Anything else raises, naming the attribute, so a state is never saved half.
"""

from __future__ import annotations

import hashlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from invimpute.encoding.layout import Layout

_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "builtins.", "scipy.")


class StateError(ValueError):
    """A saved state that cannot be rebuilt: unknown tags, missing arrays or untrusted content."""


def _is_estimator(value: Any) -> bool:
    try:
        from sklearn.base import BaseEstimator
    except ImportError:
        return False
    return isinstance(value, BaseEstimator)


def digest(value: Any) -> str:
    """A SHA-256 over a fitted estimator's attributes in a fixed order (equal state, equal digest)."""
    h = hashlib.sha256()
    _digest(value, h, 0)
    return h.hexdigest()


def _digest(value: Any, h, depth: int) -> None:
    if depth > 50:
        raise ValueError("the estimator's state nests too deeply to be saved")
    if isinstance(value, np.ndarray) and value.dtype.names:  # fields one by one: padding bytes are arbitrary
        for field in value.dtype.names:
            h.update(field.encode())
            _digest(np.ascontiguousarray(value[field]), h, depth + 1)
    elif isinstance(value, np.ndarray):
        h.update(f"a{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes() if value.dtype != object else repr(value.tolist()).encode())
    elif isinstance(value, dict):
        for k in sorted(value, key=repr):
            h.update(repr(k).encode())
            _digest(value[k], h, depth + 1)
    elif isinstance(value, (list, tuple)):
        h.update(f"l{len(value)}".encode())
        for v in value:
            _digest(v, h, depth + 1)
    elif value is None or isinstance(value, (bool, int, float, str, np.generic, type)):
        h.update(repr(value).encode())
    else:
        h.update(type(value).__qualname__.encode())
        state = value.__getstate__() if hasattr(value, "__getstate__") else vars(value)
        _digest(state if state is not None else {}, h, depth + 1)


def fitted_attributes(method: Any) -> dict[str, Any]:
    """The fitted attributes of ``method``: public names ending in ``_``."""
    return {k: v for k, v in vars(method).items() if k.endswith("_") and not k.startswith("_")}


def dump(method: Any, prefix: str) -> tuple[dict, dict[str, np.ndarray], list[str]]:
    """``(tree, arrays, opaque)`` for the fitted attributes of ``method``; array names start with ``prefix``.

    ``opaque`` names the arrays holding skops bytes, which differ between two dumps of one estimator
    (the tree records a digest of each estimator's attributes instead).
    """
    arrays: dict[str, np.ndarray] = {}
    tree = {name: _encode(value, f"{prefix}{name}", arrays) for name, value in sorted(fitted_attributes(method).items())}
    opaque = sorted(n for n, a in arrays.items() if n not in _plain_arrays(tree))
    return tree, arrays, opaque


def _plain_arrays(tree: Any) -> set[str]:
    """Names of the arrays a tree refers to as arrays (not as skops bytes)."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for tag in ("__array__", "__jax__"):
                if tag in node:
                    found.add(node[tag])
            stack.extend(v for k, v in node.items() if k != "__skops__")
    return found


def _encode(value: Any, where: str, arrays: dict[str, np.ndarray]) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, (np.ndarray, np.generic)) and np.asarray(value).dtype != object:
        arrays[where] = np.asarray(value)
        return {"__array__": where, "scalar": isinstance(value, np.generic)}
    if isinstance(value, jax.Array):
        arrays[where] = np.asarray(value)
        return {"__jax__": where}
    if isinstance(value, Layout):
        return {"__layout__": {"kind": list(value.kind), "group": list(value.group)}}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{where}/{i}", arrays) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{where}/{i}", arrays) for i, v in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, f"{where}/{k}", arrays) for k, v in value.items()}}
    if _is_estimator(value):
        import skops.io as sio

        arrays[where] = np.frombuffer(sio.dumps(value), dtype=np.uint8)
        return {"__skops__": where, "digest": digest(value)}
    raise ValueError(f"cannot save {where}: a {type(value).__name__} has no pickle-free form")


def load(method: Any, tree: dict, arrays: dict[str, np.ndarray]) -> None:
    """Set the attributes saved by :func:`dump` on the fresh ``method``."""
    if not isinstance(tree, dict):
        raise StateError("the method state is not a mapping of attribute names")
    for name, value in tree.items():
        if not (isinstance(name, str) and name.endswith("_") and not name.startswith("_")):
            raise StateError(f"the method state names {name!r}, which is not a fitted attribute")
        setattr(method, name, _decode(value, arrays, 0))


def _array(arrays: dict[str, np.ndarray], name: Any) -> np.ndarray:
    if not isinstance(name, str) or name not in arrays:
        raise StateError(f"the method state refers to array {name!r}, which is not in the array file")
    return arrays[name]


def _decode(value: Any, arrays: dict[str, np.ndarray], depth: int) -> Any:
    if depth > 64:
        raise StateError("the method state nests too deeply")
    if isinstance(value, list):
        return [_decode(v, arrays, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        a = _array(arrays, value["__array__"])
        return a[()] if value.get("scalar") else a
    if "__jax__" in value:
        return jnp.asarray(_array(arrays, value["__jax__"]))
    if "__layout__" in value:
        return Layout(kind=tuple(int(k) for k in value["__layout__"]["kind"]),
                      group=tuple(int(g) for g in value["__layout__"]["group"]))
    if "__tuple__" in value:
        return tuple(_decode(v, arrays, depth + 1) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, arrays, depth + 1) for k, v in value["__dict__"].items()}
    if "__skops__" in value:
        return _load_estimator(_array(arrays, value["__skops__"]).tobytes(), value.get("digest"))
    raise StateError(f"the method state holds an unknown entry with keys {sorted(value)[:4]}")


def _load_estimator(raw: bytes, expected_digest: str | None) -> Any:
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=raw)
    except Exception as exc:  # skops raises zip, JSON and key errors for damaged content
        raise StateError(f"a saved scikit-learn estimator cannot be read ({type(exc).__name__}: {exc})") from exc
    foreign = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if foreign:
        raise StateError(f"a saved estimator names types outside scikit-learn and NumPy ({foreign[:3]}); refusing to load it")
    try:
        estimator = sio.loads(raw, trusted=untrusted)
    except Exception as exc:
        raise StateError(f"a saved scikit-learn estimator cannot be rebuilt ({type(exc).__name__}: {exc})") from exc
    if expected_digest is not None and digest(estimator) != expected_digest:
        raise StateError("a saved scikit-learn estimator does not match its recorded digest")
    return estimator


__all__ = ["dump", "load", "digest", "fitted_attributes", "StateError"]
