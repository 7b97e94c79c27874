"""Serve MathJax from the built book itself, so math typesets offline.

Sphinx loads MathJax from a CDN by default. A reader who opens the book from
disk without a network connection, and CI, which has none, would then see raw
LaTeX instead of typeset math. This extension copies MathJax 3 into the build's
``_static/mathjax/`` folder and points ``mathjax_path`` at that copy.

The MathJax files come from the PyPI package ``django-static-mathjax``, which
ships the official MathJax 3 distribution (the ``mathjax-full`` npm package) as
plain files and has no dependencies of its own, Django included. It installs
with pip alone: no npm, no root.

Only the browser bundle (``es5/``) is copied: the chosen combined component
(``local_mathjax_component``, by default ``tex-mml-chtml.js``, the one Sphinx
itself uses) and the folders MathJax loads lazily from beside it (TeX
extensions, fonts, the accessibility tools and the speech rule engine). The
other combined components, the Node.js adaptors and the TypeScript sources stay
out of the book.

Enable it in ``_config.yml``::

    sphinx:
      local_extensions:
        local_mathjax: book/_ext

MyST's ``dollarmath`` and ``amsmath`` extensions turn ``$...$``, ``$$...$$``
and ``\\begin{align}`` into Sphinx math nodes, which Sphinx writes with
``\\(...\\)`` and ``\\[...\\]`` delimiters; MathJax 3 typesets those with its
default configuration, and MyST sets the HTML classes MathJax should process.
"""

from __future__ import annotations

import importlib.util
import pathlib
import shutil

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

DISTRIBUTION = "django-static-mathjax"
#: Where the output folder keeps MathJax, relative to ``_static/``.
TARGET = "mathjax"
#: Sub-folders of ``es5/`` that a browser page may load on demand.
LAZY_FOLDERS = ("a11y", "input", "output", "sre", "ui")


def mathjax_source() -> pathlib.Path:
    """The folder holding MathJax 3's browser bundle (``es5/``), or an error saying how to get it."""
    spec = importlib.util.find_spec("mathjax")
    folders = (
        list(spec.submodule_search_locations or []) if spec else []
    )
    for folder in folders:
        es5 = pathlib.Path(folder) / "static" / "mathjax" / "es5"
        if (es5 / "startup.js").is_file():
            return es5
    raise ExtensionError(
        f"local_mathjax: MathJax 3 was not found; install it with `pip install {DISTRIBUTION}` "
        f"(it is in the project's `book` extra). Looked in: {folders or 'no `mathjax` package installed'}"
    )


def point_sphinx_at_local_copy(app: Sphinx, config: Config) -> None:
    component = config.local_mathjax_component
    source = mathjax_source()
    if not (source / component).is_file():
        bundled = sorted(path.name for path in source.glob("*.js"))
        raise ExtensionError(
            f"local_mathjax_component must name a combined MathJax component in {source}; "
            f"received {component!r}; valid names are {bundled}"
        )
    # A relative mathjax_path is resolved against _static/ by Sphinx's add_js_file.
    config.mathjax_path = f"{TARGET}/{component}"


def copy_mathjax(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    source = mathjax_source()
    target = pathlib.Path(app.outdir) / "_static" / TARGET
    target.mkdir(parents=True, exist_ok=True)
    # Copied before any page is written, so Sphinx can add the file's checksum to its URL.
    shutil.copy2(source / app.config.local_mathjax_component, target)
    for folder in LAZY_FOLDERS:
        shutil.copytree(
            source / folder, target / folder, dirs_exist_ok=True
        )
    logger.info(
        "local_mathjax: MathJax copied from %s into %s", source, target
    )


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.mathjax")
    app.add_config_value(
        "local_mathjax_component",
        "tex-mml-chtml.js",
        "html",
        types=[str],
    )
    # After the defaults and _config.yml are read, but before MyST adjusts mathjax3_config.
    app.connect("config-inited", point_sphinx_at_local_copy)
    app.connect("builder-inited", copy_mathjax)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
