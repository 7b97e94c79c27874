"""Every chapter runs the way a hosted service (Colab, Binder) runs it: alone, under nbval.

A reader who clicks a launch button gets the notebook file and nothing else
beside it: no repository around it, no `book/` working directory, no
PYTHONPATH. The ``chapter_runs`` fixture (tests/conftest.py) copies each
notebook alone into an empty temporary folder outside the repository and
executes it there under nbval (`--nbval-lax`: every cell must run without
error; outputs are not compared, because notebooks are committed without
outputs and the book checks its claims with `assert` cells), in a fresh
kernel from the current environment (where `mmtutorial` is installed, as
`pip install` would), with that folder as the working directory and an
environment stripped of anything that points Python at the repository.

That is the only execution of each chapter in the suite: the book is built
from the notebooks these runs saved (tests/test_book.py checks that the build
executed nothing itself).
"""

from __future__ import annotations

import pathlib

import nbformat
import pytest

pytestmark = pytest.mark.notebooks

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_runs_alone_in_an_empty_folder_under_nbval(source, chapter_runs):
    run = chapter_runs.result(source.name)
    if not run.passed:
        pytest.fail(
            f"{source.name} failed under nbval when run alone in an empty folder "
            f"(as Colab or Binder run it):\n{run.stdout[-8000:]}\n{run.stderr[-2000:]}",
            pytrace=False,
        )
    assert not run.left_behind, f"{source.name} left files in its working folder: {run.left_behind}"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_the_saved_notebook_holds_every_cell_output_nbval_saw(source, chapter_runs):
    """The book shows these outputs, so they must be the whole executed notebook, cell for cell."""
    run = chapter_runs.result(source.name)
    if not run.passed:
        pytest.skip("the chapter failed; its own test reports why")
    original = nbformat.read(source, as_version=4)
    executed = nbformat.read(run.executed, as_version=4)
    code = [cell for cell in original.cells if cell.cell_type == "code"]
    done = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert [cell.source for cell in done] == [cell.source for cell in code]
    assert [cell.execution_count for cell in done] == list(range(1, len(code) + 1))
    assert any(cell.outputs for cell in done), f"{source.name}: no cell kept an output"
    errors = [o for cell in done for o in cell.outputs if o.get("output_type") == "error"]
    assert not errors
