"""Repair three accessibility faults of the theme and of docutils in the built pages.

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

Every rule is idempotent (a page fixed in an earlier build is left as it is),
since an incremental build rewrites only the pages that changed.
"""

from __future__ import annotations

import pathlib
import re

from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

_SEARCH_BUTTON = re.compile(
    r'(<button class="btn search-button-field[^"]*"[^>]*?) aria-label="[^"]*"'
)
_THEME_ICON = re.compile(
    r'(<i class="theme-switch [^"]*"[^>]*?) title="[^"]*"'
)
_BIBLIOGRAPHY_ENTRY = re.compile(
    r'(<div class="citation" [^>]*?)role="doc-biblioentry"'
)

RULES = (
    (_SEARCH_BUTTON, r"\1"),
    (_THEME_ICON, r"\1"),
    (_BIBLIOGRAPHY_ENTRY, r'\1role="listitem"'),
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
