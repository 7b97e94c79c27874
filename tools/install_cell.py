"""Write, or check, the install cell: the first code cell of every chapter.

A reader who opens a chapter on a hosted service (Colab, Binder) has the
notebook and nothing else, so its first code cell installs the companion
package when it is missing: the book's own release and nothing else, never
whatever a package index happens to serve under the name. Every chapter's cell
is rendered here from two facts kept in one place each:

* the version, ``__version__`` in ``mmtutorial/__init__.py``;
* the repository, ``repository.url`` in ``_config.yml`` (the launch buttons
  build their links from the same entry).

``SOURCE`` says where the release lives. Until the project publishes on the
package index it is ``"repository"``: the cell installs the tag
``v<version>`` from the repository with ``git+<url>@v<version>``. After the
first upload, set it to ``"index"`` and rerun this tool: the cell then pins
``mmtutorial==<version>`` from the index. Either way the cell stops with an
error when the install failed, so a missing release is never mistaken for a
missing import further down.

Run from the repository root::

    python -m tools.install_cell           # rewrite every chapter's install cell
    python -m tools.install_cell --check   # exit 1 naming each chapter that differs

``tests/test_packaging.py`` runs the check, and ``tests/test_hosted.py``
executes a chapter's cell the way a hosted service does.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys

import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
SOURCES = ("repository", "index")
# Where the book's release lives today; "index" once it is published there.
SOURCE = "repository"

_VERSION = re.compile(r'^__version__\s*=\s*"([^"]+)"\s*$', re.MULTILINE)

_CELL = """\
import importlib.util

# The book's own release of its companion package, installed only
# where it is missing (a hosted service such as Colab); see the README.
{release}
if importlib.util.find_spec("mmtutorial") is None:
    %pip install --quiet "{{RELEASE}}"
    importlib.invalidate_caches()
    if importlib.util.find_spec("mmtutorial") is None:
        raise ModuleNotFoundError(f"pip could not install {{RELEASE}}")"""


def package_version(root=ROOT):
    """``__version__`` as ``mmtutorial/__init__.py`` spells it, read without importing it."""
    path = pathlib.Path(root) / "mmtutorial" / "__init__.py"
    found = _VERSION.findall(path.read_text())
    if len(found) != 1:
        raise ValueError(f'{path} must assign __version__ = "X.Y.Z" exactly once; found {found}')
    return found[0]


def repository_url(root=ROOT):
    """``repository.url`` of ``_config.yml``: the one place the repository's address is kept."""
    path = pathlib.Path(root) / "_config.yml"
    config = yaml.safe_load(path.read_text()) or {}
    url = (config.get("repository") or {}).get("url")
    if not isinstance(url, str) or not re.fullmatch(r"https://\S+[^/]", url):
        raise ValueError(
            f"{path}: repository.url must be an https:// address without a trailing slash; "
            f"received {url!r}"
        )
    return url


def render(source=SOURCE, *, url=None, version=None):
    """The install cell's code for ``source`` ("repository" or "index")."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}; received {source!r}")
    url = repository_url() if url is None else url
    version = package_version() if version is None else version
    if source == "index":
        release = f'RELEASE = "mmtutorial=={version}"'
    else:
        release = f'REPOSITORY = "{url}"\nRELEASE = f"mmtutorial @ git+{{REPOSITORY}}@v{version}"'
    return _CELL.format(release=release)


def install_cell(notebook):
    """The first code cell of a notebook (an ``nbformat`` node), or ``None``."""
    return next((cell for cell in notebook.cells if cell.cell_type == "code"), None)


def differing(paths=NOTEBOOKS, expected=None):
    """The notebooks whose install cell is not ``expected`` (by default ``render()``)."""
    expected = render() if expected is None else expected
    bad = []
    for path in paths:
        cell = install_cell(nbformat.read(path, as_version=4))
        if cell is None or cell.source != expected:
            bad.append(pathlib.Path(path))
    return bad


def write(paths=NOTEBOOKS, expected=None):
    """Replace each notebook's install cell by ``expected``; return the notebooks changed."""
    expected = render() if expected is None else expected
    changed = []
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        cell = install_cell(notebook)
        if cell is None:
            raise ValueError(f"{path} has no code cell to hold the install cell")
        if cell.source != expected:
            cell.source = expected
            nbformat.write(notebook, path)
            changed.append(pathlib.Path(path))
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a chapter differs"
    )
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path, default=NOTEBOOKS)
    args = parser.parse_args(argv)
    if args.check:
        bad = differing(args.notebooks)
        for path in bad:
            print(f"{path}: the install cell differs from `python -m tools.install_cell`")
        return 1 if bad else 0
    for path in write(args.notebooks):
        print(f"rewrote the install cell of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
