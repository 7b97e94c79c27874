"""The book: notebooks committed clean, and the whole book builds with warnings as errors.

The build runs in a fresh output folder whose jupyter-cache holds only the
chapters that nbval has just executed alone (tests/conftest.py), so every page
shows outputs of the package as it is now, each chapter executes once per
session, and the HTML is checked for what a reader should see.
"""

import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def test_there_are_chapters():
    assert NOTEBOOKS, "book/ holds no notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_are_committed_without_outputs(path):
    notebook = json.loads(path.read_text())
    dirty = [
        index
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_notebook_is_in_the_table_of_contents(path):
    toc = (ROOT / "_toc.yml").read_text()
    assert f"book/{path.stem}" in toc


def test_book_builds_and_has_an_index(built_book):
    assert (built_book / "index.html").exists()
    assert (built_book / "book" / "intro.html").exists()


def test_the_build_keeps_its_underscore_folders_on_github_pages(built_book):
    """Pages runs Jekyll, which drops _static/ and _images/, unless the site has a .nojekyll."""
    assert (built_book / ".nojekyll").is_file(), (
        "the build has no .nojekyll (sphinx.ext.githubpages)"
    )
    assert (built_book / "_static").is_dir()


def test_the_build_executed_nothing_and_used_every_isolated_run(book_build):
    assert len(book_build.cache_records) == len(NOTEBOOKS)
    assert book_build.cache_records_after == book_build.cache_records, (
        "the build added cache records, so it executed a chapter itself"
    )
    assert "Executing notebook" not in book_build.log
    assert book_build.log.count("Using cached notebook") == len(NOTEBOOKS)


def test_walkthrough_page_shows_its_figures_and_tables(built_book):
    page = (built_book / "book" / "code_walkthrough.html").read_text()
    figures = re.findall(r'<img[^>]+src="[^"]+\.png"', page)
    assert len(figures) >= 4, (
        f"expected the sample grid, curves, ceiling chart and confusion matrix; found {len(figures)}"
    )
    assert page.count("<table") >= 3
    assert "image + text" in page and "0.853" in page


# Keras's training progress: "Epoch 3/8", and the time per step that ends its bar or its line.
PROGRESS = ["Epoch 1/", "s/step"]


@pytest.mark.parametrize(
    "noise", ["Traceback", "oneDNN", "WARNING:tensorflow", "cuInit", "absl::", *PROGRESS]
)
def test_no_error_log_noise_or_training_progress_reaches_the_pages(built_book, noise):
    for page in built_book.rglob("*.html"):
        if page.parent.name in {"_static", "genindex"}:
            continue
        text = page.read_text()
        assert noise not in text, f"{page.relative_to(built_book)} contains {noise!r}"
