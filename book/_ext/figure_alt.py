"""Give each figure of the book the alt text it carries inside its PNG.

A figure from ``mmtutorial.plots`` that knows what it shows (a model diagram
describes its layers and connections) writes that description into its PNG,
as the standard ``Description`` text chunk (``BookFigure.alt_text``). MyST-NB
writes an image output as ``<img alt="../_images/<hash>.png" ...>``: its alt
text is the file's path. When the build finishes, each such image whose PNG
carries a description gets it as its ``alt``, so the words a screen reader
speaks come from the same run, and the same model, as the picture.

Idempotent: an image whose alt is no longer its path is left as it is.
"""

from __future__ import annotations

import pathlib
import re
import struct
import zlib
from html import escape, unescape

from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

_IMAGE = re.compile(r"<img\b[^>]*>")
_ATTRIBUTE = re.compile(r'\s(alt|src)="([^"]*)"')


def png_description(data: bytes) -> str | None:
    """The ``Description`` tEXt (or zTXt / iTXt) chunk of PNG bytes, or ``None``."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        at += 12 + length
        key, _, rest = body.partition(b"\0")
        if key != b"Description":
            continue
        if kind == b"tEXt":
            return rest.decode("latin-1")
        if kind == b"zTXt":
            return zlib.decompress(rest[1:]).decode("latin-1")
        if kind == b"iTXt":
            compressed, rest = rest[0], rest[2:]
            _language, _, rest = rest.partition(b"\0")
            _translated, _, text = rest.partition(b"\0")
            return (
                zlib.decompress(text) if compressed else text
            ).decode("utf-8")
    return None


def describe(html: str, folder: pathlib.Path) -> tuple[str, int]:
    """The page with each path-named PNG image given its description; how many changed."""
    changed = 0

    def one(match: re.Match) -> str:
        nonlocal changed
        tag = match.group(0)
        attributes = dict(_ATTRIBUTE.findall(tag))
        src, alt = attributes.get("src", ""), attributes.get("alt")
        if not src.endswith(".png") or (
            alt is not None and unescape(alt) != src
        ):
            return tag
        path = folder / unescape(src)
        text = (
            png_description(path.read_bytes())
            if path.is_file()
            else None
        )
        if not text:
            return tag
        changed += 1
        described = f' alt="{escape(text, quote=True)}"'
        if alt is None:
            return tag.replace("<img", "<img" + described, 1)
        return tag.replace(f' alt="{alt}"', described, 1)

    return _IMAGE.sub(one, html), changed


def describe_pages(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    changed = 0
    for path in pathlib.Path(app.outdir).rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        fixed, count = describe(text, path.parent)
        if count:
            path.write_text(fixed, encoding="utf-8")
            changed += count
    LOGGER.info(f"figure_alt: {changed} figures described")


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", describe_pages)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
