"""Run one notebook under nbval and save it with the outputs nbval received.

Usage (from the folder that holds the notebook)::

    python /path/to/tests/nbval_record.py NOTEBOOK.ipynb EXECUTED.ipynb

nbval executes every code cell in one fresh kernel and fails a cell that
raises (``--nbval-lax``: outputs are not compared, because the chapters are
committed without outputs and check their claims with ``assert`` cells).
nbval keeps what each cell printed and displayed but never writes it out;
the small plugin below writes the notebook with those outputs to EXECUTED,
so the book can be built from this very execution instead of running every
chapter a second time (see ``tests/conftest.py``).

This file is run as a script, not imported by the kernel: the kernel's
environment and working folder stay exactly those of the caller.
"""

from __future__ import annotations

import sys

import nbformat
import pytest

# How a chapter runs under nbval, here and in the hosted test (tests/test_hosted.py): outputs
# not compared, the caller's kernel, ten minutes a cell, from the notebook's own folder.
NBVAL_ARGUMENTS = (
    "--nbval-lax",
    "--nbval-current-env",
    "--nbval-cell-timeout=600",
    "-p",
    "no:cacheprovider",
    "-q",
    "--rootdir",
    ".",
)


class RecordOutputs:
    """A pytest plugin: after the session, write the notebook with every cell's outputs."""

    def __init__(self, destination: str):
        self.destination = destination
        self.items = []

    def pytest_collection_modifyitems(self, items):
        self.items = list(items)

    def pytest_sessionfinish(self, session):
        notebooks = []
        for count, item in enumerate(self.items, start=1):
            cell = getattr(item, "cell", None)
            if cell is None:  # not an nbval cell item
                continue
            cell.outputs = list(item.test_outputs or [])
            cell.execution_count = count
            for output in cell.outputs:
                if output.get("output_type") == "execute_result":
                    output["execution_count"] = count
            if all(item.parent.nb is not seen for seen in notebooks):
                notebooks.append(item.parent.nb)
        if len(notebooks) == 1:
            nbformat.write(notebooks[0], self.destination)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    notebook, destination = argv
    arguments = [notebook, *NBVAL_ARGUMENTS]
    return int(pytest.main(arguments, plugins=[RecordOutputs(destination)]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
