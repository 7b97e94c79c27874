"""The book reads in order and in reader-sized pieces (tools/reading.py says how it counts).

Nothing here executes a chapter: each test reads the committed notebooks and the
table of contents, so the whole module runs in about a second.
"""

import pathlib

import pytest

from tools import reading

CHAPTERS = reading.notebooks()
ORDER = reading.chapter_order()
GLOSSARY = reading.glossary_terms()
PAGES = sorted(reading.BOOK.glob("*.md"))

# Defects the book still has, each to be fixed and removed from this table. A listed defect that
# is gone fails its test too, so the table only shrinks.
PENDING: dict[str, set] = {
    "forward": set(),
    "no_prerequisites": set(),
    "paragraph": set(),
    "chapter": set(),
    "control": set(),
    "terms": set(),
}


def ids(paths):
    return [path.stem for path in paths]


def check(kind, name, problems):
    if name in PENDING[kind]:
        assert problems, f"{name} no longer has this defect: remove it from PENDING[{kind!r}]"
        pytest.xfail(f"pending: {problems}")
    assert not problems, problems


def test_the_table_of_contents_lists_every_chapter():
    listed = {path.stem for path in CHAPTERS}
    on_disk = {path.stem for path in reading.BOOK.glob("*.ipynb")}
    assert listed == on_disk, on_disk ^ listed
    assert len(ORDER) == len(set(ORDER)), "a page is listed twice"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids(CHAPTERS))
def test_you_need_names_only_earlier_chapters(chapter):
    needed = reading.prerequisites(chapter)
    later = [name for name in needed if ORDER.index(name) >= ORDER.index(chapter.stem)]
    check("forward", chapter.stem, later)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids(CHAPTERS))
def test_every_chapter_says_what_it_needs(chapter):
    cells = reading.markdown_cells(chapter)
    missing = [
        label
        for label in ("**You will learn**", "**You need**", "**Run time**")
        if not any(label in cell for cell in cells[:3])
    ]
    check("no_prerequisites", chapter.stem, missing)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids(CHAPTERS))
def test_no_paragraph_is_too_long(chapter):
    long = [
        f"cell {index}: {words} words"
        for index, cell in enumerate(reading.markdown_cells(chapter))
        for words in map(reading.count_words, reading.paragraphs(cell))
        if words > reading.MAX_PARAGRAPH_WORDS
    ]
    check("paragraph", chapter.stem, long)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids(CHAPTERS))
def test_no_chapter_is_too_long(chapter):
    words = reading.chapter_words(chapter)
    check("chapter", chapter.stem, [words] if words > reading.MAX_CHAPTER_WORDS else [])


@pytest.mark.parametrize("page", CHAPTERS + PAGES, ids=ids(CHAPTERS + PAGES))
def test_no_control_characters_in_prose(page):
    texts = reading.markdown_cells(page) if page.suffix == ".ipynb" else [page.read_text()]
    found = [found for text in texts for found in reading.control_characters(text)]
    check("control", page.stem, found)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids(CHAPTERS))
def test_every_defined_or_linked_term_is_in_the_glossary(chapter):
    missing = sorted(
        {
            term
            for cell in reading.markdown_cells(chapter)
            for term in reading.linked_terms(cell) + reading.bold_terms(cell)
            if term.lower() not in GLOSSARY
        }
    )
    check("terms", chapter.stem, missing)


# The measurements themselves: each rule meets the text it is meant for.


def test_words_leave_out_code_math_and_role_targets():
    text = (
        "A {term}`token <Token>` and `code here` cost $x^2 + y$ nothing {cite}`a2020b`.\n\n"
        "```python\nnot = counted\n```\n| a | b |\n:::{note}\n:class: tip\n"
    )
    assert reading.count_words(reading.prose(text)) == 5  # A, token, and, cost, nothing


def test_list_items_and_blank_lines_split_paragraphs():
    text = "one two\nthree\n\n* four five\n* six\n\nseven"
    assert list(map(reading.count_words, reading.paragraphs(text))) == [3, 2, 1, 1]


def test_run_in_labels_are_not_terms_but_bold_in_a_sentence_is():
    text = "**Run time** about a minute.\n\n* the **Bayes** rule\n\nWe call it **late fusion**."
    assert reading.bold_terms(text) == ["late fusion"]


def test_prerequisites_are_read_from_doc_links_and_titles(tmp_path):
    cells = reading.markdown_cells(reading.BOOK / "segmentation.ipynb")
    assert any("**You need**" in cell for cell in cells[:3])
    named = reading.prerequisites(reading.BOOK / "segmentation.ipynb")
    assert named and set(named) <= set(ORDER)


def test_a_tab_is_a_control_character():
    assert reading.control_characters("2 \times 10") == ["'\\t'"]
    assert reading.control_characters("line\nline") == []


def test_the_glossary_is_read():
    assert {"modality", "late fusion"} <= GLOSSARY
    assert pathlib.Path(reading.BOOK / "glossary.md").exists()
