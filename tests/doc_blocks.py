"""Running the code blocks of Markdown pages (the README, the documentation) as a reader would.

Python blocks run in this process, in one namespace; ``bash`` blocks run in a shell, where a line calling
the ``invimpute`` command runs this interpreter's command line (``python -m invimpute.cli``), so the
installed script and the checkout cannot differ.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, source) of every fenced block tagged python or bash, in order."""
    return re.findall(r"^```(python|bash)\n(.*?)^```", text, flags=re.S | re.M)


def run_blocks(blocks: list[tuple[str, str]], not_run: dict[str, str], label: str) -> dict:
    """Run the blocks in order in one namespace; bash lines calling ``invimpute`` use this interpreter."""
    for marker in not_run:
        assert sum(marker in b for _, b in blocks) == 1, f"{label}: no single block holds {marker!r}; update NOT_RUN"
    namespace: dict = {"__name__": "docs_block"}
    command = f"{shlex.quote(sys.executable)} -m invimpute.cli"
    for i, (language, block) in enumerate(blocks):
        if any(marker in block for marker in not_run):
            continue
        if language == "python":
            exec(compile(block, f"{label} block {i + 1}", "exec"), namespace)
        else:
            script = re.sub(r"^invimpute ", command + " ", block, flags=re.M)
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True)
            assert done.returncode == 0, f"{label} block {i + 1} failed:\n{done.stdout}\n{done.stderr}"
    return namespace


def shrunk(text: str, small: dict[str, str], label: str) -> str:
    """``text`` with each key of ``small`` (a training budget, a table size) replaced by its smaller value."""
    for long, short in small.items():
        assert text.count(long) == 1, f"{label}: {long!r} should occur once; update the test's SMALL"
        text = text.replace(long, short)
    return text
