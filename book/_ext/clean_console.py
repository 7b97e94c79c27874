"""Keep two upstream bugs out of every reader's browser console.

Both are errors a reader's browser reports on every page of a Jupyter Book 1.x
book built with the versions it pins (Sphinx < 8); tests/test_browser.py fails
on them.

1. ``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared``.
   Sphinx 7 writes an inline script twice when an extension registers it after
   the builder started (sphinx-thebe and sphinx-togglebutton do): once as
   registered, with no file name, and once more when the builder re-reads its
   registry with an empty file name, which it does not recognise as the same
   script. Sphinx fixed this upstream in 2025 (sphinx-doc/sphinx#13402), in a
   release Jupyter Book 1 cannot use. Here each page's scripts are de-duplicated
   with the same rule Sphinx now applies.

2. ``Got invalid theme mode: . Resetting to auto.`` on a reader's first visit.
   The pydata theme's page template starts the colour mode from
   ``localStorage`` or from the ``default_mode`` template variable, which
   nothing sets, so a first visit starts from an empty mode and the theme's
   script logs an error before it falls back to ``auto``. Setting
   ``default_mode`` to ``auto`` gives the same result with no error. A book that
   sets ``html_context = {"default_mode": ...}`` keeps its own choice.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _script_key(script: Any) -> Any:
    """What makes two scripts the same: Sphinx's own rule, with no file name and "" taken as equal."""
    if isinstance(script, str):
        return script
    return (
        script.filename or "",
        script.priority,
        tuple(sorted(script.attributes.items())),
    )


def drop_duplicate_scripts(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict,
    doctree: Any,
) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # In place: the builder keeps this same list and restores it after each page.
    scripts[:] = unique


def start_in_auto_mode(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict,
    doctree: Any,
) -> None:
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def setup(app: Sphinx) -> dict:
    # After every other listener (Sphinx's MathJax one adds its scripts here too).
    app.connect(
        "html-page-context", drop_duplicate_scripts, priority=900
    )
    app.connect("html-page-context", start_in_auto_mode)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
