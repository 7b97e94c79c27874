"""The reader notebooks: what Colab, Binder, the download button and `make lab` open.

The book's build writes them (book/_ext/reader_notebooks.py) into
``_build/notebooks``; here they come from the session's one build of the book
(``book_build`` in tests/conftest.py), so nothing executes twice. Each is
checked against its source chapter and against the built page: no MyST left,
the numbers the page shows, links that resolve in the built site, collapsed
solutions, no check cells, the install cell first, no outputs.
"""

from __future__ import annotations

import ast
import builtins
import html.parser
import importlib.util
import json
import pathlib
import re
import shutil
import types
import urllib.parse

import nbformat
import pytest
import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from tools import install_cell

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
BASEURL = CONFIG["html"]["baseurl"]


def toc_files(entry):
    """Every ``file`` of the table of contents, in its order."""
    if isinstance(entry, dict):
        if "file" in entry:
            yield entry["file"]
        for value in entry.values():
            if isinstance(value, (list, dict)):
                yield from toc_files(value)
    elif isinstance(entry, list):
        for item in entry:
            yield from toc_files(item)


TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [TOC["root"], *toc_files(TOC)]
# Every page of the table of contents that is a notebook, which readers can run.
CHAPTERS = [ROOT / f"{page}.ipynb" for page in PAGES if (ROOT / f"{page}.ipynb").exists()]
ROLE = re.compile(r"\{[A-Za-z][\w:.+-]*\}`")
FENCE = re.compile(r"^\s*(:{3,}|`{3,}|~{3,})\s*\{", re.MULTILINE)
TARGET = re.compile(r"^\s*\([^)\s]+\)=\s*$", re.MULTILINE)
PASTED = re.compile(r'<span class="pasted-text">(.*?)</span>', re.DOTALL)


def load_generator():
    path = ROOT / "book" / "_ext" / "reader_notebooks.py"
    spec = importlib.util.spec_from_file_location("reader_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_notebook_of_the_table_of_contents_is_a_chapter_here():
    assert len(CHAPTERS) == len(list((ROOT / "book").glob("*.ipynb")))
    # The other pages are text (intro, glossary, bibliography, performance): nothing to run.
    assert all(
        (ROOT / f"{page}.md").exists() for page in PAGES if ROOT / f"{page}.ipynb" not in CHAPTERS
    )


@pytest.fixture(scope="session")
def reader_folder(book_build):
    return book_build.html.parent / "notebooks"


@pytest.fixture(scope="session")
def reader(reader_folder):
    def read(chapter):
        path = reader_folder / chapter.name
        assert path.is_file(), f"the build wrote no reader notebook for {chapter.name}"
        return nbformat.read(path, as_version=4)

    return read


def ipython_free(source):
    """A code cell's source with IPython's ``%`` and ``!`` lines as ``pass`` (same indentation)."""
    return "\n".join(
        line[: len(line) - len(line.lstrip())] + "pass"
        if line.lstrip().startswith(("%", "!"))
        else line
        for line in source.splitlines()
    )


def markdown_of(notebook):
    return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]


def unescape(text):
    return re.sub(r"\\(.)", r"\1", text)


class Anchors(html.parser.HTMLParser):
    """Every ``id`` of an HTML page."""

    def __init__(self, text):
        super().__init__()
        self.ids = set()
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.ids.update(value for name, value in attrs if name == "id")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_a_reader_notebook_holds_no_build_markup(reader, chapter):
    notebook = reader(chapter)
    for index, text in enumerate(markdown_of(notebook)):
        where = f"{chapter.name}, markdown cell {index}"
        assert not ROLE.search(text), f"{where} holds a MyST role: {ROLE.search(text).group()}"
        assert not FENCE.search(text), f"{where} holds a MyST fence: {FENCE.search(text).group()}"
        assert not TARGET.search(text), f"{where} holds a (label)= target"
        controls = sorted({repr(ch) for ch in text if ord(ch) < 32 and ch != "\n"})
        assert not controls, f"{where} holds control characters {controls}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_rendered_by_markdown_it_a_reader_notebook_shows_no_braces(reader, chapter):
    """The text a reader sees (not code, not math, which MathJax typesets) holds no { or }."""
    renderer = MarkdownIt("commonmark").use(dollarmath_plugin, double_inline=True)
    for index, text in enumerate(markdown_of(reader(chapter))):
        shown = [
            child.content
            for token in renderer.parse(text)
            if token.type == "inline"
            for child in token.children
            if child.type == "text"
        ]
        braces = [piece for piece in shown if "{" in piece or "}" in piece]
        assert not braces, f"{chapter.name}, markdown cell {index} shows braces: {braces}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_a_reader_notebook_shows_the_numbers_its_page_shows(reader, chapter, built_book):
    """Every glued value of the page, in the markup of the same cell of the notebook."""
    source = nbformat.read(chapter, as_version=4)
    glued = sum(cell.source.count("{glue:text}`") for cell in source.cells)
    page = (built_book / "book" / f"{chapter.stem}.html").read_text()
    shown = [html.unescape(value) for value in PASTED.findall(page)]
    assert len(shown) == glued, f"{chapter.name}: {glued} glued values, the page shows {len(shown)}"
    text = unescape("\n".join(markdown_of(reader(chapter))))
    position = 0
    for value in shown:  # in the order the page shows them
        found = text.find(value, position)
        assert found >= 0, f"{chapter.name}: the page shows {value!r}, the notebook does not"
        position = found + len(value)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_every_link_of_a_reader_notebook_resolves_in_the_built_book(reader, chapter, built_book):
    links = re.findall(
        r"\]\((" + re.escape(BASEURL) + r"[^)\s]+)\)", "\n".join(markdown_of(reader(chapter)))
    )
    source = "\n".join(c.source for c in nbformat.read(chapter, as_version=4).cells)
    roles = sum(source.count(f"{{{name}}}`") for name in ("term", "doc", "ref"))
    roles += sum(
        len(keys.split(",")) for keys in re.findall(r"\{cite(?::[pt])?\}`([^`]+)`", source)
    )
    assert len(links) == roles, (
        f"{chapter.name}: {roles} references in the source, {len(links)} links"
    )
    anchors = {}
    for link in links:
        page, _, anchor = link.removeprefix(BASEURL).partition("#")
        path = built_book / page
        assert path.is_file(), f"{chapter.name} links to {link}, which is not a page of the book"
        if anchor:
            if page not in anchors:
                anchors[page] = Anchors(path.read_text()).ids
            assert urllib.parse.unquote(anchor) in anchors[page], f"{link}: no such anchor"
    if "{cite" in source:
        assert any("/bibliography.html#" in link for link in links)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_solutions_are_collapsed_and_admonitions_quoted(reader, chapter):
    source = "\n".join(c.source for c in nbformat.read(chapter, as_version=4).cells)
    text = "\n".join(markdown_of(reader(chapter)))
    dropdowns = source.count(":::{dropdown}") + source.count(":class: dropdown")
    assert text.count("<details>") == text.count("</details>") == dropdowns
    assert text.count("<summary>") == dropdowns
    if ":::{admonition} About this" in source:
        assert re.search(r"^> \*\*About this (chapter|section)\*\*$", text, re.MULTILINE)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_a_reader_notebook_runs_as_a_reader_would(reader, chapter):
    notebook = reader(chapter)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code[0].source == install_cell.render(), f"{chapter.name}: the install cell is not first"
    assert not any(cell.outputs or cell.execution_count for cell in code)
    for cell in code:
        body = ast.parse(ipython_free(cell.source)).body
        assert not (body and all(isinstance(node, ast.Assert) for node in body)), (
            f"{chapter.name}: a cell of checks only reached the reader notebook:\n{cell.source}"
        )
    # Every code cell of the lesson, in its order; a check cell contributes at most the
    # statements later cells need, never an assert.
    source = nbformat.read(chapter, as_version=4).cells
    lesson = [c for c in source if "remove-cell" not in c.metadata.get("tags", [])]
    checks = {c.id: c for c in source if "remove-cell" in c.metadata.get("tags", [])}
    shown = [c for c in notebook.cells if c.id not in checks]
    assert [(c.id, c.source) for c in shown if c.cell_type == "code"] == [
        (c.id, c.source) for c in lesson if c.cell_type == "code"
    ]
    assert [c.id for c in shown] == [c.id for c in lesson]
    for cell in notebook.cells:
        if cell.id in checks:
            assert cell.cell_type == "code" and "assert" not in cell.source
            assert set(cell.source.splitlines()) <= set(checks[cell.id].source.splitlines())


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_every_name_a_reader_notebook_uses_is_defined_before(reader, chapter):
    """Without its check cells the notebook still runs top to bottom: no name is left undefined."""
    defined = set(dir(builtins)) | {"display", "get_ipython", "In", "Out"}
    for index, cell in enumerate(c for c in reader(chapter).cells if c.cell_type == "code"):
        tree = ast.parse(ipython_free(cell.source))
        local = {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        local |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
        local |= {h.name for h in ast.walk(tree) if isinstance(h, ast.ExceptHandler) and h.name}
        local |= {
            n.name
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                local |= {(a.asname or a.name).split(".")[0] for a in node.names}
        read = {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        missing = sorted(read - local - defined)
        assert not missing, (
            f"{chapter.name}, code cell {index} uses {missing}, never defined before"
        )
        defined |= local


def test_the_download_button_serves_the_reader_notebook(reader, built_book):
    chapter = CHAPTERS[0]
    page = (built_book / "book" / f"{chapter.stem}.html").read_text()
    assert f'href="../_sources/book/{chapter.name}"' in page
    served = nbformat.read(built_book / "_sources" / "book" / chapter.name, as_version=4)
    assert served == reader(chapter)


def test_make_notebooks_regenerates_them_from_the_built_environment(book_build, tmp_path):
    """`make notebooks` (the module run on a finished build) writes what the build wrote."""
    build = book_build.html.parent
    copy = tmp_path / "_build"
    shutil.copytree(build / ".doctrees", copy / ".doctrees")
    shutil.copytree(build / "jupyter_execute", copy / "jupyter_execute")
    load_generator().main([str(copy)])
    for chapter in CHAPTERS:
        assert (copy / "notebooks" / chapter.name).read_text() == (
            build / "notebooks" / chapter.name
        ).read_text()


# -- the generator's errors, on a stand-in for the build ------------------------------------


def stand_in_book(generator, tmp_path, markdown):
    """A one-chapter build: one glued value, one citation, one glossary term."""
    chapter = tmp_path / "chapter.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_markdown_cell("# A chapter"),
                nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_markdown_cell(markdown),
            ]
        ),
        chapter,
    )
    execute = tmp_path / "jupyter_execute"
    execute.mkdir()
    (execute / "chapter.glue.json").write_text(
        json.dumps({"share": {"data": {"text/plain": "0.25"}}})
    )
    env = types.SimpleNamespace(
        domaindata={
            "std": {"objects": {("term", "fusion"): ("glossary", "term-Fusion")}, "labels": {}},
            "cite": {"citations": []},
        },
        titles={},
        doc2path=lambda docname: chapter,
    )
    return generator.Book(env, tmp_path, "https://example.org/book/")


@pytest.mark.parametrize(
    ("markdown", "markup", "why"),
    [
        ("Some {unknown}`thing` here.", "{unknown}`thing`", "unknown role"),
        ("A share of {glue:text}`missing:.1%`.", "{glue:text}`missing:.1%`", "unknown glue key"),
        ("See {term}`nothing`.", "{term}`nothing`", "unknown glossary term"),
        (":::{sidebar} Aside\ntext\n:::\n", ":::{sidebar} Aside", "unknown directive"),
    ],
)
def test_markup_the_generator_does_not_know_stops_it_naming_chapter_cell_and_markup(
    tmp_path, markdown, markup, why
):
    generator = load_generator()
    book = stand_in_book(generator, tmp_path, markdown)
    with pytest.raises(generator.ReaderNotebookError) as raised:
        generator.reader_notebook(book, "chapter")
    message = str(raised.value)
    assert message.startswith("chapter.ipynb, cell 2: "), message
    assert markup in message and why in message, message


def test_the_generator_renders_what_it_knows_on_a_stand_in(tmp_path):
    generator = load_generator()
    markdown = (
        "(a-label)=\n## Shares\n\nA share of {glue:text}`share:.0%` in {term}`Fusion <fusion>`,"
        " with `{term}` kept as code and $x_{i}$ kept as math.\n\n"
        ":::{dropdown} Solutions\n1. It is {glue:text}`share:.2f`.\n:::\n\n"
        ":::{admonition} About this chapter\n:class: tip\nRead it.\n:::\n"
    )
    notebook = generator.reader_notebook(stand_in_book(generator, tmp_path, markdown), "chapter")
    text = notebook.cells[2].source
    assert text == (
        "## Shares\n\nA share of 25% in [Fusion](https://example.org/book/glossary.html#term-Fusion),"
        " with `{term}` kept as code and $x_{i}$ kept as math.\n\n"
        "<details>\n<summary>Solutions</summary>\n\n1. It is 0.25.\n\n</details>\n\n"
        "> **About this chapter**\n>\n> Read it.\n"
    )
