"""Repair five accessibility faults of the theme and of docutils in the built pages.

axe-core (tests/test_browser.py runs it on every page, in the light and the
dark theme) reports these as serious; none of them is the book's content, so
each is repaired in the written HTML when the build finishes, with the
smallest change that gives the element a correct accessible name or role:

1. The search button (pydata-sphinx-theme's ``search-button-field.html``)
   shows "Search Ctrl+K" but is named ``aria-label="Search"``, so a reader who
   uses speech input and says what they see does not reach it (WCAG 2.5.3,
   axe's ``label-content-name-mismatch``). Without the ``aria-label`` its name
   is the text it shows. Upstream: pydata/pydata-sphinx-theme, the search
   button's aria-label (still in 0.17).
2. The colour-mode button (``theme-switcher.html``) is named "Color mode",
   but its three icons carry the titles "Light", "Dark" and "System Settings";
   Font Awesome's script turns each into an SVG image named by its title, so
   the button shows text its name lacks (the same axe rule). The icons are
   decorative (the button's name and tooltip say what it does), so they lose
   their titles. Upstream: the same component.
3. The bibliography: docutils writes ``<div role="list" class="citation-list">``
   whose entries have the role ``doc-biblioentry``, which ARIA 1.2 deprecates
   and which does not count as a list item, so the list has no items for
   assistive technology (axe's ``aria-required-children``). Each entry gets
   ``role="listitem"``. Upstream: docutils' HTML5 writer.
4. The sidebar's collapsible sections: for a page with sub-pages (here
   "Applications"), pydata-sphinx-theme's ``toctree.py`` writes the link,
   then ``<details><summary>`` whose only content is a chevron marked
   ``role="presentation"``, so the disclosure control has no name (axe's
   ``summary-name``), on every page. The summary gets an ``aria-label``
   naming the page whose sections it shows. Upstream: the markup came with
   pydata/pydata-sphinx-theme#1582 (keyboard-operable sections, 2024) and
   is still in 0.17.1; pytorch/pytorch_sphinx_theme#234 reports and patches
   the same violation in a theme built on it.

5. Collapsed code cells (the ``hide-input`` tag): MyST-NB writes
   ``<summary aria-label="Toggle hidden content">`` around the visible words
   "Show code cell source", so the control is named by words a reader does
   not see (axe's ``label-content-name-mismatch``). Without the
   ``aria-label`` its name is the text it shows. Upstream: MyST-NB's
   rendering of ``hide-input`` cells (still in MyST-NB 1.x).

Every rule is idempotent (a page fixed in an earlier build is left as it is),
since an incremental build rewrites only the pages that changed.
"""

from __future__ import annotations

import pathlib
import re
from html import escape, unescape

from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

_SEARCH_BUTTON = re.compile(
    r'(<button class="btn search-button-field[^"]*"[^>]*?) aria-label="[^"]*"'
)
_THEME_ICON = re.compile(
    r'(<i class="theme-switch [^"]*"[^>]*?) title="[^"]*"'
)
_HIDDEN_CELL_TOGGLE = re.compile(
    r'(<summary) aria-label="Toggle hidden content"'
)
_BIBLIOGRAPHY_ENTRY = re.compile(
    r'(<div class="citation" [^>]*?)role="doc-biblioentry"'
)

# A sidebar link to a page with sub-pages, then its section toggle: the
# summary has no attributes until it is repaired, so the rule runs once.
_SECTION_TOGGLE = re.compile(
    r'(<li class="toctree-l\d[^"]*has-children[^"]*">'
    r'<a class="[^"]*reference[^"]*" href="[^"]*">(.*?)</a>'
    r"<details[^>]*>)<summary>"
)


#: The section toggle's name, in the build's language (the Chinese edition: "应用的各节").
SECTIONS_OF = {"en": "Sections of {title}", "zh_CN": "{title}的各节"}
_language = "en"


def _name_section_toggle(match: re.Match) -> str:
    title = unescape(re.sub(r"<[^>]+>", "", match.group(2))).strip()
    words = SECTIONS_OF.get(_language, SECTIONS_OF["en"])
    label = escape(words.format(title=title), quote=True)
    return f'{match.group(1)}<summary aria-label="{label}">'


RULES = (
    (_SEARCH_BUTTON, r"\1"),
    (_THEME_ICON, r"\1"),
    (_BIBLIOGRAPHY_ENTRY, r'\1role="listitem"'),
    (_SECTION_TOGGLE, _name_section_toggle),
    (_HIDDEN_CELL_TOGGLE, r"\1"),
)


def repair(html: str) -> tuple[str, int]:
    """The page with every rule applied, and how many elements changed."""
    changed = 0
    for pattern, replacement in RULES:
        html, count = pattern.subn(replacement, html)
        changed += count
    return html, changed


def repair_pages(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    global _language
    _language = app.config.language or "en"
    pages = changed = 0
    for path in pathlib.Path(app.outdir).rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        fixed, count = repair(text)
        if count:
            path.write_text(fixed, encoding="utf-8")
            pages += 1
            changed += count
    LOGGER.info(
        f"accessible_theme: {changed} elements repaired on {pages} pages"
    )


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", repair_pages)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
