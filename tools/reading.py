"""Measure the book the way a reader meets it: order, length, paragraphs and terms.

``tests/test_reading.py`` turns these measurements into guard rails; run this
module to print them::

    python -m tools.reading            # a table of every chapter, in reading order

How words are counted (the same rule for every limit):

* only markdown cells count; code, outputs and hidden cells do not;
* code blocks (fenced), tables (lines that start with ``|``), directive and
  option lines (``:::{note}``, ``:class: tip``) and HTML comments are left out;
* inline code spans and math (``$...$``, ``$$...$$``) are left out;
* a MyST role counts as the text a reader sees: ``{term}`tokens <Token>``` is
  one word, ``tokens``; ``{doc}`code_walkthrough``` is one word; a citation
  (``{cite}``) counts as nothing; a glued number (``{glue:text}``) as one word;
* a word is what whitespace separates, once it holds a letter or a digit.

A paragraph is a run of counted lines between blank lines; each list item
starts a paragraph of its own.
"""

from __future__ import annotations

import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

MAX_PARAGRAPH_WORDS = 180
MAX_CHAPTER_WORDS = 3500

_ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
_CODE_SPAN = re.compile(r"``[^`]+``|`[^`]+`")
_DISPLAY_MATH = re.compile(r"\$\$.+?\$\$", flags=re.DOTALL)
_INLINE_MATH = re.compile(r"(?<![\\$])\$[^$\n]+?\$")
_COMMENT = re.compile(r"<!--.*?-->", flags=re.DOTALL)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_WORD = re.compile(r"[A-Za-z0-9]")
_TOC_FILE = re.compile(r"^\s*(?:-\s*)?file:\s*(\S+)\s*$", flags=re.MULTILINE)


def chapter_order(toc: pathlib.Path = ROOT / "_toc.yml") -> list[str]:
    """The book's pages in reading order, as names without folder or suffix (``code_walkthrough``)."""
    return [pathlib.PurePosixPath(path).name for path in _TOC_FILE.findall(toc.read_text())]


def notebooks() -> list[pathlib.Path]:
    """The chapters (notebooks) of the table of contents, in reading order."""
    pages = [BOOK / f"{name}.ipynb" for name in chapter_order()]
    return [page for page in pages if page.exists()]


def markdown_cells(path: pathlib.Path) -> list[str]:
    """The sources of a notebook's markdown cells, in order."""
    cells = json.loads(path.read_text())["cells"]
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in cells
        if c["cell_type"] == "markdown"
    ]


def _role_text(match: re.Match) -> str:
    role, target = match.group(1), match.group(2)
    if role == "cite" or role.startswith("cite:"):
        return ""
    if role.startswith("glue"):
        return "N"
    shown = re.match(r"^(.*?)\s*<[^<>]*>$", target, flags=re.DOTALL)
    return shown.group(1) if shown else target


def prose(markdown: str) -> str:
    """The text of one markdown cell that a reader reads as prose (see the module's rules)."""
    text = _COMMENT.sub(" ", markdown)
    text = _DISPLAY_MATH.sub(" ", text)
    kept, fenced = [], False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
            kept.append("")
            continue
        if fenced or stripped.startswith(("|", ":::")) or re.match(r"^:[\w-]+:", stripped):
            kept.append("")
            continue
        kept.append(line)
    text = "\n".join(kept)
    text = _ROLE.sub(_role_text, text)
    text = _CODE_SPAN.sub(" ", text)
    text = _INLINE_MATH.sub(" ", text)
    return text


def count_words(text: str) -> int:
    return sum(1 for token in text.split() if _WORD.search(token))


def paragraphs(markdown: str) -> list[str]:
    """The paragraphs of one markdown cell (list items count as paragraphs of their own)."""
    found, current = [], []
    for line in prose(markdown).split("\n"):
        if not line.strip() or _LIST_ITEM.match(line):
            if current:
                found.append(" ".join(current))
            current = [] if not line.strip() else [line.strip()]
            continue
        current.append(line.strip())
    if current:
        found.append(" ".join(current))
    return [p for p in found if count_words(p)]


def chapter_words(path: pathlib.Path) -> int:
    return sum(count_words(prose(cell)) for cell in markdown_cells(path))


def longest_paragraph(path: pathlib.Path) -> tuple[int, int]:
    """(words, index of the notebook cell) of the chapter's longest paragraph."""
    best = (0, -1)
    cells = json.loads(path.read_text())["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for paragraph in paragraphs(source):
            best = max(best, (count_words(paragraph), index))
    return best


# ---------------------------------------------------------------------------------------------
# Prerequisites and terms


def titles() -> dict[str, str]:
    """Each chapter's title (its first ``# `` heading) by chapter name."""
    found = {}
    for path in notebooks():
        for cell in markdown_cells(path):
            heading = re.search(r"^# (.+)$", cell, flags=re.MULTILINE)
            if heading:
                found[path.stem] = heading.group(1).strip()
                break
    return found


def prerequisites(path: pathlib.Path) -> list[str]:
    """The chapters named in the first "You need" paragraph of a chapter (by name), in order.

    A chapter is named by ``{doc}`name``` or by its title in italics (``*Title*``,
    which may wrap over a line break).
    """
    for cell in markdown_cells(path):
        start = cell.find("**You need**")
        if start < 0:
            continue
        text = cell[start:].split("\n\n")[0]
        flat = " ".join(text.split())
        named = [pathlib.PurePosixPath(t).name for t in re.findall(r"\{doc\}`([^`<]+)`", flat)]
        by_title = {" ".join(t.split()): name for name, t in titles().items()}
        for italic in re.findall(r"(?<!\*)\*([^*]+)\*(?!\*)", flat):
            italic = " ".join(italic.split())
            for title, name in by_title.items():
                if italic == title or title.startswith(italic + ":"):
                    named.append(name)
        return named
    return []


def glossary_terms(glossary: pathlib.Path = BOOK / "glossary.md") -> set[str]:
    """Every term the glossary defines, lower-cased (Sphinx matches ``{term}`` without case)."""
    terms, inside = set(), False
    for line in glossary.read_text().split("\n"):
        if line.startswith("```{glossary}"):
            inside = True
            continue
        if inside and line.startswith("```"):
            inside = False
            continue
        if inside and line.strip() and not line.startswith((" ", ":")):
            terms.add(line.strip().lower())
    return terms


def linked_terms(markdown: str) -> list[str]:
    """The glossary entries that ``{term}`` roles in a markdown text point to."""
    found = []
    for target in re.findall(r"\{term\}`([^`]+)`", markdown):
        shown = re.match(r"^.*?<([^<>]+)>$", target, flags=re.DOTALL)
        found.append(" ".join((shown.group(1) if shown else target).split()))
    return found


# A bold span opening a paragraph or a list item (after at most "The", "the best" or "a") is a
# run-in label ("**Run time** about ..."); elsewhere in running text bold defines a term and the
# glossary must hold it. Emphasis is written in italics.
_RUN_IN = re.compile(r"^(?:(?:the|a|an)(?:\s+best)?)?$", flags=re.IGNORECASE)


def bold_terms(markdown: str) -> list[str]:
    """The bold spans of a markdown text that define a term (see ``_RUN_IN``)."""
    found = []
    for paragraph in paragraphs(markdown):
        for match in re.finditer(r"\*\*([^*]+)\*\*", paragraph):
            before = _LIST_ITEM.sub("", paragraph[: match.start()]).strip()
            if _RUN_IN.match(before):
                continue
            found.append(" ".join(match.group(1).split()))
    return found


def control_characters(markdown: str) -> list[str]:
    """Every control character other than a newline, as ``repr`` strings."""
    return [repr(ch) for ch in markdown if ord(ch) < 32 and ch != "\n" or ord(ch) == 127]


def table() -> list[tuple[str, int, int, int]]:
    """(chapter, prose words, longest paragraph's words, its cell) for every chapter in order."""
    rows = []
    for path in notebooks():
        words, cell = longest_paragraph(path)
        rows.append((path.stem, chapter_words(path), words, cell))
    return rows


def main() -> None:
    print(f"{'chapter':28} {'words':>6} {'longest paragraph':>18} {'(cell)':>6}")
    for name, words, longest, cell in table():
        print(f"{name:28} {words:6d} {longest:18d} {cell:6d}")


if __name__ == "__main__":
    main()
