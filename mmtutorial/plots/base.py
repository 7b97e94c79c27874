"""The figure every plot returns: a matplotlib ``Figure`` that shows itself, with its alt text."""

from __future__ import annotations

from matplotlib.figure import Figure

__all__ = ["BookFigure"]

# The PNG text keyword the alt text travels under (a registered keyword of the PNG format).
DESCRIPTION = "Description"


class BookFigure(Figure):
    """A matplotlib ``Figure`` that shows itself as a PNG in Jupyter, with its alt text inside.

    The figures are made without pyplot, so no global figure list grows and no
    GUI backend is needed; ``_repr_png_`` lets IPython display a returned figure
    whatever matplotlib backend is active.

    ``alt_text`` (``None`` until a plot sets it) says in words what the figure
    shows. It is written into the PNG's ``Description`` text chunk, so the
    picture and its description cannot part: the book's build reads it back
    and makes it the page's ``alt`` attribute (``book/_ext/figure_alt.py``).
    """

    alt_text: str | None = None

    def _repr_png_(self):
        import io

        buffer = io.BytesIO()
        metadata = {DESCRIPTION: self.alt_text} if self.alt_text else None
        self.savefig(buffer, format="png", dpi=100, metadata=metadata)
        return buffer.getvalue()


def _figure(width, height):
    return BookFigure(figsize=(width, height), layout="constrained")
