"""Reader notebooks: what the launch buttons, the download button and ``make lab`` open.

The chapters (``book/*.ipynb``) are written for the build: their prose is MyST
(glued numbers, citations, glossary terms, cross-references, admonitions and
dropdowns) and check cells tagged ``remove-cell`` sit between the lesson's
cells. Jupyter, Colab and Binder render none of that MyST. This extension
writes, at the end of every build, one *reader notebook* per chapter into
``_build/notebooks/<chapter>.ipynb``, from the same build:

* every ``{glue:text}`` is replaced by the value and format the page shows: the
  glue data MyST-NB saved next to the executed notebook
  (``_build/jupyter_execute/<doc>.glue.json``), formatted by MyST-NB's own
  ``format_plain_text``;
* ``{cite}`` becomes author-year text linked to the published bibliography
  entry (the anchor sphinxcontrib-bibtex gave it), ``{term}`` the word linked to
  its glossary entry (Sphinx's standard domain), ``{doc}`` and ``{ref}`` the
  page's title linked to the published page; every link is absolute, under
  ``html.baseurl`` of ``_config.yml``, so it works wherever the notebook runs;
* admonitions become block quotes with their title in bold; dropdowns (and
  admonitions of class ``dropdown``) become ``<details>`` with a
  ``<summary>``, collapsed in Jupyter, Colab and GitHub alike; ``$...$`` and
  ``$$...$$`` math and ``(label)=`` targets: math stays, targets go;
* cells tagged ``remove-cell`` (the checks of the text's claims) are left out
  whole: a lesson cell never uses a name that only a check cell defines (the
  page hides those cells too), and tests/test_reader_notebooks.py checks that
  every reader notebook defines each name before it uses it. Outputs are
  cleared, the kernel is a plain ``python3``, and the install cell stays the
  first code cell.

In a translated build (the Chinese edition, ``language: zh_CN``), each
paragraph, heading, list item and table cell of the markdown is first replaced
by its translation from the page's gettext catalogue
(``locales/<language>/LC_MESSAGES/<page>.po``, the one Sphinx translated the
page from), found as Sphinx finds it: by the message's text, line breaks read
as spaces; untranslated and fuzzy messages stay English, as on the page. The
translated markup is then converted like the English, so its glossary terms
and cross-references link to the translated edition (its ``html_baseurl``).
The Chinese build writes ``_build/zh_CN/notebooks``, which ``python -m
tools.translation build`` copies to ``_build/notebooks/zh_CN``.

The markdown is parsed with myst-parser's own markdown-it-py parser (the one
the build uses), so every role, directive and target is found as the token the
build sees, never by a regular expression; the values come from Sphinx's
environment after the build resolved them. A role, directive or glue key this
module does not know stops the build with :class:`ReaderNotebookError`,
naming the chapter, the cell and the markup.

The same generation runs without Sphinx from a finished build's pickled
environment (``make notebooks``)::

    python book/_ext/reader_notebooks.py _build
"""

from __future__ import annotations

import html
import json
import pathlib
import pickle
import posixpath
import re
import sys
import time

import nbformat

#: Where the reader notebooks go, inside the build folder (next to html/).
FOLDER = "notebooks"
#: Roles and directives the generator knows; anything else is an error.
ROLES = (
    "glue:text",
    "glue",
    "cite",
    "cite:p",
    "cite:t",
    "term",
    "doc",
    "ref",
    "math",
)
ADMONITIONS = (
    "admonition",
    "note",
    "tip",
    "hint",
    "important",
    "warning",
    "caution",
    "attention",
    "danger",
    "error",
    "seealso",
)
DIRECTIVES = ADMONITIONS + ("dropdown", "math")
# Characters that would start markup in Jupyter's Markdown when a glued value holds them.
_MARKDOWN_SPECIAL = "\\`*_[]<>{}$|#"
KERNELSPEC = {
    "display_name": "Python 3",
    "language": "python",
    "name": "python3",
}


class ReaderNotebookError(ValueError):
    """A chapter holds markup the reader notebooks cannot render: names chapter, cell and markup."""

    def __init__(self, chapter, cell, markup, why):
        self.chapter, self.cell, self.markup = chapter, cell, markup
        super().__init__(f"{chapter}, cell {cell}: {why}: {markup}")


def _parser():
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    config = MdParserConfig(
        enable_extensions={
            "amsmath",
            "colon_fence",
            "dollarmath",
            "linkify",
            "substitution",
        }
    )
    return create_md_parser(config, RendererHTML)


def _escape(text):
    """``text`` as literal Markdown: every character that would start markup is escaped."""
    return "".join(
        "\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in text
    )


def _author_year(entry):
    """``("Baltrušaitis et al.", "2019")`` for a pybtex entry."""
    people = (
        entry.persons.get("author") or entry.persons.get("editor") or []
    )
    names = [
        " ".join(
            str(part)
            for part in person.rich_prelast_names
            + person.rich_last_names
        )
        for person in people
    ]
    if not names:
        authors = entry.fields.get("organization", entry.key)
    elif len(names) == 1:
        authors = names[0]
    elif len(names) == 2 and names[1] != "others":
        authors = f"{names[0]} and {names[1]}"
    else:
        authors = f"{names[0]} et al."
    return authors, entry.fields.get("year", "n.d.")


def _message_key(text):
    """A message as Sphinx looks it up in a catalogue: white space runs read as one space."""
    return " ".join(text.split())


class Catalogue:
    """A page's translations: every translated, not fuzzy message of a gettext catalogue."""

    def __init__(self, path):
        from babel.messages import pofile

        with open(path, "rb") as handle:
            catalog = pofile.read_po(handle)
        self.path = path
        self.messages = {
            _message_key(m.id): m.string
            for m in catalog
            if m.id
            and isinstance(m.id, str)
            and m.string
            and not m.fuzzy
        }

    def get(self, text):
        return self.messages.get(_message_key(text))


class Book:
    """What the build resolved, as the reader notebooks need it (from a Sphinx environment)."""

    def __init__(self, env, build_dir, baseurl):
        if not isinstance(baseurl, str) or not baseurl.startswith(
            "https://"
        ):
            raise ValueError(
                "html.baseurl in _config.yml must be the published book's https:// address; "
                f"received {baseurl!r}"
            )
        self.env = env
        self.build_dir = pathlib.Path(build_dir)
        self.baseurl = baseurl.rstrip("/") + "/"
        std = env.domaindata["std"]
        # Glossary terms match without regard to case, as Sphinx matches them.
        self.terms = {
            name.lower(): target
            for (kind, name), target in std["objects"].items()
            if kind == "term"
        }
        self.labels = std["labels"]
        self.citations = {
            c.key: c for c in env.domaindata["cite"]["citations"]
        }
        self._glue = {}
        # The build's language: a translated build takes the prose from its catalogues.
        config = getattr(env, "config", None)
        self.language = getattr(config, "language", None) or "en"
        self._catalogues = {}

    def catalogue(self, docname):
        """The page's :class:`Catalogue` in a translated build, else ``None``."""
        if self.language == "en":
            return None
        if docname not in self._catalogues:
            found = None
            for folder in self.env.config.locale_dirs:
                path = (
                    pathlib.Path(str(self.env.srcdir))
                    / folder
                    / self.language
                    / "LC_MESSAGES"
                    / f"{docname}.po"
                )
                if path.exists():
                    found = Catalogue(path)
                    break
            self._catalogues[docname] = found
        return self._catalogues[docname]

    def url(self, docname, anchor=""):
        return f"{self.baseurl}{docname}.html" + (
            f"#{anchor}" if anchor else ""
        )

    def chapters(self):
        """Every page whose source is a notebook, in the order of the table of contents."""
        order = [self.env.config.root_doc]
        for docname in order:
            order.extend(
                d
                for d in self.env.toctree_includes.get(docname, [])
                if d not in order
            )
        order.extend(sorted(set(self.env.found_docs) - set(order)))
        return [
            d
            for d in order
            if str(self.env.doc2path(d)).endswith(".ipynb")
        ]

    def glue(self, docname):
        if docname not in self._glue:
            path = (
                self.build_dir
                / "jupyter_execute"
                / f"{docname}.glue.json"
            )
            self._glue[docname] = (
                json.loads(path.read_text()) if path.exists() else {}
            )
        return self._glue[docname]

    def title(self, docname):
        return self.env.titles[docname].astext()


class Chapter:
    """The conversion of one chapter's markdown, cell by cell."""

    def __init__(self, book, docname):
        self.book, self.docname, self.cell = book, docname, None
        self.name = pathlib.Path(str(book.env.doc2path(docname))).name

    def fail(self, markup, why):
        raise ReaderNotebookError(self.name, self.cell, markup, why)

    # -- roles -------------------------------------------------------------------------------

    def role(self, name, content, markup):
        if name in ("glue:text", "glue"):
            return self.glue(content, markup)
        if name in ("cite", "cite:p", "cite:t"):
            return self.cite(name, content, markup)
        if name == "term":
            return self.term(content, markup)
        if name in ("doc", "ref"):
            return self.reference(name, content, markup)
        if name == "math":
            return f"${content}$"
        self.fail(
            markup,
            f"unknown role {{{name}}} (the reader notebooks know {', '.join(ROLES)})",
        )

    def glue(self, content, markup):
        from myst_nb.core.variables import format_plain_text

        key, _, spec = (
            content.rpartition(":")
            if ":" in content
            else (content, "", "")
        )
        spec = spec if key else ""
        key = key or content
        docname = self.docname
        if "::" in key:
            path, key = key.split("::", 1)
            docname = posixpath.normpath(
                posixpath.join(
                    posixpath.dirname(self.docname),
                    path.removesuffix(".ipynb"),
                )
            )
        data = self.book.glue(docname).get(key)
        if data is None or "text/plain" not in data.get("data", {}):
            self.fail(
                markup,
                f"unknown glue key {key!r} (no text/plain glued in {docname})",
            )
        return _escape(
            format_plain_text(data["data"]["text/plain"], spec or "s")
        )

    def cite(self, name, content, markup):
        links = []
        for key in (k.strip() for k in content.split(",")):
            citation = self.book.citations.get(key)
            if citation is None:
                self.fail(markup, f"unknown citation key {key!r}")
            authors, year = _author_year(citation.entry)
            url = self.book.url(
                citation.bibliography_key.docname, citation.citation_id
            )
            text = (
                f"{authors} ({year})"
                if name == "cite:t"
                else f"{authors}, {year}"
            )
            links.append(f"[{_escape(text)}]({url})")
        return (
            "; ".join(links)
            if name == "cite:t"
            else "(" + "; ".join(links) + ")"
        )

    @staticmethod
    def _split_target(content):
        """``("text", "target")`` for ``text <target>``, else ``(None, content)``."""
        if content.endswith(">") and " <" in content:
            text, target = content[:-1].rsplit(" <", 1)
            return text.strip(), target.strip()
        return None, content.strip()

    def term(self, content, markup):
        text, target = self._split_target(content)
        found = self.book.terms.get(
            target.lower()
        ) or self.book.terms.get(target)
        if found is None:
            self.fail(markup, f"unknown glossary term {target!r}")
        docname, anchor = found[0], found[1]
        return f"[{_escape(text or target)}]({self.book.url(docname, anchor)})"

    def reference(self, name, content, markup):
        text, target = self._split_target(content)
        if name == "doc":
            target = target.removesuffix(".ipynb").removesuffix(".md")
            if target.startswith("/"):
                docname = target.lstrip("/")
            else:
                docname = posixpath.normpath(
                    posixpath.join(
                        posixpath.dirname(self.docname), target
                    )
                )
            if docname not in self.book.env.titles:
                self.fail(markup, f"unknown document {target!r}")
            url, title = (
                self.book.url(docname),
                self.book.title(docname),
            )
        else:
            found = self.book.labels.get(target.lower())
            if found is None:
                self.fail(markup, f"unknown label {target!r}")
            url, title = self.book.url(found[0], found[1]), found[2]
        return f"[{_escape(text or title)}]({url})"

    # -- markdown ----------------------------------------------------------------------------

    def translate(self, text, parser):
        """``text`` with each block's inline text replaced by its translation, if it has one."""
        catalogue = self.book.catalogue(self.docname)
        if catalogue is None:
            return text
        starts = [0]
        for line in text.splitlines(keepends=True):
            starts.append(starts[-1] + len(line))
        edits, begin = [], 0
        for token in parser.parse(text):
            if token.map is not None:
                begin = max(begin, starts[token.map[0]])
            if token.type != "inline" or not token.content.strip():
                continue
            translation = catalogue.get(token.content)
            if translation is None:
                continue
            pattern = re.compile(
                r"\s+".join(map(re.escape, token.content.split()))
            )
            found = pattern.search(text, begin)
            if found is None:
                continue
            edits.append((*found.span(), translation))
            begin = found.end()
        for start, end, translation in sorted(edits, reverse=True):
            text = text[:start] + translation + text[end:]
        return text

    def markdown(self, text, parser):
        """``text`` (MyST) as plain Jupyter Markdown (translated first in a translated build)."""
        text = self.translate(text, parser)
        tokens = parser.parse(text)
        starts = [0]
        for line in text.splitlines(keepends=True):
            starts.append(starts[-1] + len(line))
        edits, cursor = [], 0

        def locate(opening, content, closing):
            """Where the source spells this token, from ``cursor`` on: ``(begin, end)``.

            The token's content may have had its line breaks made spaces (a role
            or code span that wraps), so any run of white space matches any other.
            """
            nonlocal cursor
            pattern = (
                re.escape(opening)
                + r"\s*"
                + r"\s+".join(map(re.escape, content.split()))
                + r"\s*"
                + re.escape(closing)
            )
            found = re.compile(pattern).search(text, cursor)
            if found is None:
                return None
            cursor = found.end()
            return found.span()

        for token in tokens:
            if token.map is not None and token.level == 0:
                cursor = max(cursor, starts[token.map[0]])
            if token.type in (
                "colon_fence",
                "fence",
            ) and token.info.startswith("{"):
                begin, end = (
                    starts[token.map[0]],
                    starts[min(token.map[1], len(starts) - 1)],
                )
                edits.append(
                    (begin, end, self.directive(token, parser))
                )
                cursor = end
            elif token.type in (
                "myst_target",
                "myst_line_comment",
                "myst_block_break",
            ):
                begin, end = (
                    starts[token.map[0]],
                    starts[min(token.map[1], len(starts) - 1)],
                )
                edits.append((begin, end, ""))
                cursor = end
            elif token.type == "inline":
                for child in token.children or ():
                    if child.type == "code_inline":
                        locate(
                            child.markup, child.content, child.markup
                        )
                    elif child.type == "math_inline":
                        locate("$", child.content, "$")
                    elif child.type == "myst_role":
                        name = child.meta["name"]
                        ticks = "``" if "`" in child.content else "`"
                        found = locate(
                            f"{{{name}}}{ticks}", child.content, ticks
                        )
                        markup = (
                            f"{{{name}}}{ticks}{child.content}{ticks}"
                        )
                        if found is None:
                            self.fail(
                                markup,
                                "a role the generator could not place",
                            )
                        content = " ".join(child.content.split())
                        edits.append(
                            (
                                *found,
                                self.role(name, content, markup),
                            )
                        )
        for begin, end, replacement in sorted(edits, reverse=True):
            text = text[:begin] + replacement + text[end:]
        return text

    def directive(self, token, parser):
        first = token.info.strip()
        name, _, title = first[1:].partition("}")
        title = title.strip()
        fence = token.markup + first
        if name not in DIRECTIVES:
            self.fail(
                fence,
                f"unknown directive {{{name}}} (the reader notebooks know {', '.join(DIRECTIVES)})",
            )
        lines = token.content.splitlines()
        options = {}
        if lines and lines[0].strip() == "---":
            end = lines.index("---", 1)
            import yaml

            options, lines = (
                yaml.safe_load("\n".join(lines[1:end])) or {},
                lines[end + 1 :],
            )
        while (
            lines
            and lines[0].startswith(":")
            and lines[0].count(":") >= 2
        ):
            key, _, value = lines.pop(0)[1:].partition(":")
            options[key.strip()] = value.strip()
        body = "\n".join(lines).strip("\n")
        if name == "math":
            return f"$$\n{body}\n$$\n"
        body = self.markdown(body + "\n", parser).strip("\n")
        title = self.markdown(title, parser).strip() if title else ""
        classes = str(options.get("class", "")).split()
        if name == "dropdown" or "dropdown" in classes:
            summary = html.escape(title or name.capitalize())
            open_ = " open" if "open" in options else ""
            return f"<details{open_}>\n<summary>{summary}</summary>\n\n{body}\n\n</details>\n"
        heading = (
            title
            if name == "admonition"
            else (title or name.capitalize())
        )
        quoted = "\n".join(
            f"> {line}" if line else ">" for line in body.splitlines()
        )
        return f"> **{heading}**\n>\n{quoted}\n"


def reader_notebook(book, docname, parser=None):
    """The reader notebook of ``docname`` (an nbformat node)."""
    parser = parser or _parser()
    chapter = Chapter(book, docname)
    source = nbformat.read(
        str(book.env.doc2path(docname)), as_version=4
    )
    cells = []
    for index, cell in enumerate(source.cells):
        chapter.cell = index
        tags = cell.get("metadata", {}).get("tags", [])
        if "remove-cell" in tags:
            continue
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(
                chapter.markdown(cell.source, parser)
            )
            if cell.get("attachments"):
                new.attachments = cell.attachments
        else:
            new = nbformat.v4.new_raw_cell(cell.source)
        if "id" in cell:
            new.id = cell.id
        kept = [t for t in tags if not t.startswith("remove-")]
        if kept:
            new.metadata["tags"] = kept
        cells.append(new)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
    }
    return notebook


def write_all(book, *, html_dir=None):
    """Write every chapter's reader notebook into ``<build>/notebooks``; return the paths.

    With ``html_dir``, each page's downloadable source (``_sources/<doc>.ipynb``,
    what the page's download button serves) becomes its reader notebook too.
    """
    parser = _parser()
    folder = book.build_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for docname in book.chapters():
        notebook = reader_notebook(book, docname, parser)
        nbformat.validate(notebook)
        path = folder / f"{pathlib.PurePosixPath(docname).name}.ipynb"
        nbformat.write(notebook, path)
        written.append(path)
        if html_dir is not None:
            download = (
                pathlib.Path(html_dir) / "_sources" / f"{docname}.ipynb"
            )
            if download.parent.is_dir():
                nbformat.write(notebook, download)
    return written


def _build_finished(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    start = time.perf_counter()
    outdir = pathlib.Path(app.outdir)
    book = Book(app.env, outdir.parent, app.config.html_baseurl)
    written = write_all(book, html_dir=outdir)
    seconds = time.perf_counter() - start
    from sphinx.util import logging

    logging.getLogger(__name__).info(
        f"reader notebooks: {len(written)} written to "
        f"{outdir.parent / FOLDER} in {seconds:.1f} s"
    )


def setup(app):
    app.connect("build-finished", _build_finished)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }


def _from_environment(build_dir, html_dir):
    pickled = build_dir / ".doctrees" / "environment.pickle"
    with pickled.open("rb") as file:
        env = pickle.load(file)
    book = Book(env, build_dir, env.config.html_baseurl)
    return write_all(book, html_dir=html_dir)


def main(argv=None):
    """``make notebooks``: the reader notebooks from a finished build, without rebuilding it.

    The Chinese edition's too, when ``<build>/zh_CN`` holds its build: into
    ``<build>/zh_CN/notebooks``, then copied to ``<build>/notebooks/zh_CN`` and
    the Chinese pages' downloads (``<build>/html/zh_CN/_sources``).
    """
    import shutil

    argv = sys.argv[1:] if argv is None else argv
    build_dir = pathlib.Path(argv[0] if argv else "_build")
    pickled = build_dir / ".doctrees" / "environment.pickle"
    if not pickled.exists():
        raise SystemExit(
            f"{pickled} does not exist: run `make book` first"
        )
    start = time.perf_counter()
    written = _from_environment(build_dir, build_dir / "html")
    print(
        f"{len(written)} reader notebooks in {build_dir / FOLDER} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    for edition in sorted(
        build_dir.glob("*/.doctrees/environment.pickle")
    ):
        language = edition.parent.parent.name
        work = build_dir / language
        written = _from_environment(work, build_dir / "html" / language)
        target = build_dir / FOLDER / language
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(work / FOLDER, target)
        print(f"{len(written)} reader notebooks in {target}")


if __name__ == "__main__":
    main()
