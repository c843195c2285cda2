"""Progress reporting: one labelled bar per stage of work, closed when the stage ends, on standard error.

Every progress bar of the library comes from :func:`stage`, a context manager that opens a tqdm bar with
a label and closes it when the stage ends (normally, early, or by an exception), so no bar is left open
at 50%. :func:`scope` prefixes the labels of the stages opened inside it, so a stage deep in the call
stack (a network's training) is named after the stage that asked for it (``auto: fit network: training``)
without passing labels through every signature.

On a terminal the bar redraws in place (at most ten times a second). Elsewhere (a log file, a pipe, a
job scheduler's output) a bar writes one plain line when its stage starts, one every
:data:`LOG_INTERVAL` seconds while it runs, and one when it ends: a few lines per stage, never a stream
of carriage returns. In a Jupyter kernel the notebook widget is used.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import time
from collections.abc import Iterator

LOG_INTERVAL = 30.0
"""Seconds between the lines a running stage writes to a non-terminal stream."""

_PREFIX: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("invimpute_progress_prefix", default=())


class _Lines:
    """A stream for tqdm that writes a bar as plain lines (for logs, which do not redraw): its first
    status, then at most one every :data:`LOG_INTERVAL` seconds, and its last one when the bar closes."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self._last: float | None = None
        self._pending = ""

    def write(self, text: str) -> None:
        status = text.replace("\r", "").rstrip()
        if not status:
            if "\n" in text and self._pending:  # tqdm ends a closed bar with a newline: its final status
                self._emit(self._pending)
            return
        if self._last is None or time.monotonic() - self._last >= LOG_INTERVAL:
            self._emit(status)
        else:
            self._pending = status

    def _emit(self, status: str) -> None:
        self.stream.write(status + "\n")
        self._last, self._pending = time.monotonic(), ""

    def flush(self) -> None:
        getattr(self.stream, "flush", lambda: None)()


class _Silent:
    """What :func:`stage` gives when progress is off: a bar that shows nothing."""

    n = 0
    total = None

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, *args, **kwargs) -> None:
        pass

    def set_postfix_str(self, *args, **kwargs) -> None:
        pass

    def close(self) -> None:
        pass


def label(name: str) -> str:
    """``name`` under the labels of the enclosing :func:`scope` blocks (``"auto: fit network: training"``)."""
    return ": ".join((*_PREFIX.get(), name))


@contextlib.contextmanager
def scope(name: str) -> Iterator[None]:
    """Name the stages opened inside this block after ``name`` (their labels get it as a prefix)."""
    token = _PREFIX.set((*_PREFIX.get(), name))
    try:
        yield
    finally:
        _PREFIX.reset(token)


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    ip = getattr(shell, "get_ipython", lambda: None)() if shell is not None else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def open_stage(name: str, total: int | None = 1, *, enabled: bool = True, unit: str = "step"):
    """The bar of one stage of work, for a caller that closes it itself (``bar.close()``) when the stage
    ends; :func:`stage` is the same bar as a context manager. With ``enabled`` False a silent bar."""
    if not enabled:
        return _Silent()
    stream = sys.stderr
    desc = label(name)
    if _in_notebook():
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit)
    from tqdm import tqdm

    tty = bool(getattr(stream, "isatty", lambda: False)())
    return tqdm(total=total, desc=desc, unit=unit, file=stream if tty else _Lines(stream),
                mininterval=0.1 if tty else 1.0,
                dynamic_ncols=tty, ncols=None if tty else 100, ascii=not tty, leave=True)


@contextlib.contextmanager
def stage(name: str, total: int | None = 1, *, enabled: bool = True, unit: str = "step") -> Iterator:
    """A labelled bar for one stage of work, closed when the block ends.

    ``total`` is the number of units the stage counts (``update`` them as they finish); the default of
    one unit is for a stage that is one piece of work, which the bar shows done when the block ends
    normally. A stage that ends early (early stopping) keeps its count and is closed as it stands. With
    ``enabled`` False the block gets a silent bar and nothing is shown.
    """
    bar = open_stage(name, total, enabled=enabled, unit=unit)
    try:
        yield bar
        if total == 1 and bar.n == 0:
            bar.update(1)
    finally:
        bar.close()


__all__ = ["LOG_INTERVAL", "label", "open_stage", "scope", "stage"]
