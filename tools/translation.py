"""Fill and check the Chinese edition's gettext catalogues (``locales/zh_CN``).

A translator works on one chapter's catalogue at a time::

    python -m tools.translation export book/four_steps > /tmp/four_steps.json
    # ... write Chinese into each entry's "msgstr" ...
    python -m tools.translation import book/four_steps /tmp/four_steps.json
    python -m tools.translation check              # every catalogue, every rule

The maintainers' side (``make catalogues``, ``make book``, ``make test``)::

    python -m tools.translation catalogues   # refresh from the English sources, then check
    python -m tools.translation outdated     # which catalogues miss messages of the sources
    python -m tools.translation build _build # the Chinese HTML into _build/html/zh_CN

``export`` lists the messages still untranslated or fuzzy (``--all`` lists every
message); ``import`` writes the translations back after checking each one, and
refuses the whole file, naming the message, when one breaks a rule. The rules
keep what the build and the checks read identical in both languages:

* every MyST role keeps its kind and target: ``{glue:text}`key:fmt```,
  ``{cite}`...```, ``{doc}`...``` and ``{ref}`...``` are copied unchanged; a
  ``{term}`` may change its text but names the English glossary term as its
  target (``{term}`模态 <Modality>```);
* inline code, inline math and link targets are copied unchanged;
* bold and links render as often as in the English and no ``*`` is left
  showing (markdown-it counts them);
* a display-math block comes out of ``export`` already filled with its LaTeX,
  which may stay as it is (words in ``\\text{...}`` may be translated);
* a translation holds Chinese characters unless its English is only names
  (capitalised words such as ``Keras``), numbers or markup: then it may equal
  the English.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import shutil
import sys
import tempfile
import time

from babel.messages import pofile
from markdown_it import MarkdownIt

ROOT = pathlib.Path(__file__).resolve().parents[1]
LANGUAGE = "zh_CN"
LOCALES = ROOT / "locales"
LOCALE = LOCALES / LANGUAGE / "LC_MESSAGES"
#: Sphinx's gettext settings for the book: one catalogue per page, named by the page
#: (``book/four_steps.po``), with no source locations or uuids that would change the
#: catalogues on every English edit.
GETTEXT = {"gettext_compact": False, "gettext_location": False, "gettext_uuid": False}

_ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
_EXPLICIT = re.compile(r"^(.*?)\s*<([^<>]+)>$", flags=re.DOTALL)
_CODE = re.compile(r"``[^`]+``|(?<![}`])`[^`]+`")
_MATH = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$[^$]+?\$", flags=re.DOTALL)
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORDY = re.compile(r"[A-Za-z]{3,}")
_PLAIN_WORD = re.compile(r"\b[a-z]{3,}\b")


def catalogue(name: str) -> pathlib.Path:
    """The catalogue of a page, from its name (``book/four_steps`` or ``four_steps``)."""
    name = name.removesuffix(".po")
    if "/" not in name:
        name = f"book/{name}"
    path = LOCALE / f"{name}.po"
    if not path.exists():
        known = sorted(
            p.relative_to(LOCALE).with_suffix("").as_posix() for p in LOCALE.rglob("*.po")
        )
        raise SystemExit(
            f"no catalogue {path} for page {name!r}; the catalogues are: {', '.join(known)}"
        )
    return path


def read(path: pathlib.Path):
    with path.open("rb") as handle:
        return pofile.read_po(handle, locale="zh_CN")


def write(path: pathlib.Path, catalog) -> None:
    with path.open("wb") as handle:
        pofile.write_po(handle, catalog, width=0, omit_header=False, include_previous=False)


def _roles(text: str) -> list[tuple[str, str]]:
    """The roles of a message as (kind, target): what must survive translation."""
    found = []
    for kind, body in _ROLE.findall(text):
        if kind == "term":
            explicit = _EXPLICIT.match(body)
            body = explicit.group(2) if explicit else body
            body = body.strip().lower()
        found.append((kind, body))
    return sorted(found)


def _fixed(pattern: re.Pattern, text: str) -> list[str]:
    return sorted(pattern.findall(_ROLE.sub("", text)))


_MARKDOWN = MarkdownIt("commonmark")


def _emphasis(text: str) -> dict[str, int]:
    """How many bold and link spans Markdown renders in a message, and stray markers.

    Counted from markdown-it's tokens, because a marker that looks right can fail
    to render: ``**临床验证。**来自`` shows its asterisks, since a closing ``**``
    after full-width punctuation needs a space or punctuation after it. Italics are
    not counted (Chinese marks a title with 《》 where English uses italics), but an
    asterisk left in the rendered text is.
    """
    counts = {"bold": 0, "link": 0, "stray *": 0}
    kinds = {"strong_open": "bold", "link_open": "link"}
    for block in _MARKDOWN.parse(text):
        for token in block.children or []:
            if token.type in kinds:
                counts[kinds[token.type]] += 1
            elif token.type == "text":
                counts["stray *"] += token.content.count("*")
    return counts


def is_math_block(msgid: str) -> bool:
    """Whether a message is a display-math block (Sphinx extracts its LaTeX between newlines)."""
    return msgid.startswith("\n") and msgid.endswith("\n")


def problems(msgid: str, msgstr: str) -> list[str]:
    """What a translation breaks, in words; an empty list when it keeps every rule."""
    found = []
    if is_math_block(msgid) and msgstr == msgid:
        return found
    if not msgstr.strip():
        return ["untranslated"]
    if _roles(msgid) != _roles(msgstr):
        found.append(f"roles differ: English {_roles(msgid)}, Chinese {_roles(msgstr)}")
    for label, pattern in (("inline code", _CODE), ("math", _MATH), ("link targets", _LINK)):
        if _fixed(pattern, msgid) != _fixed(pattern, msgstr):
            found.append(
                f"{label} differ: English {_fixed(pattern, msgid)}, Chinese {_fixed(pattern, msgstr)}"
            )
    if _emphasis(msgid) != _emphasis(msgstr):
        found.append(
            f"rendered emphasis differs: English {_emphasis(msgid)}, Chinese {_emphasis(msgstr)}"
        )
    prose = _MATH.sub("", _CODE.sub("", _ROLE.sub("", msgid)))
    only_names = not _PLAIN_WORD.search(prose)
    if _WORDY.search(prose) and not _CJK.search(msgstr) and not (only_names and msgstr == msgid):
        found.append("no Chinese characters in the translation")
    return found


def export(name: str, everything: bool) -> list[dict]:
    entries = []
    for message in read(catalogue(name)):
        if not message.id:
            continue
        if everything or not message.string or message.fuzzy:
            string = message.string or (message.id if is_math_block(message.id) else "")
            entries.append({"msgid": message.id, "msgstr": string})
    return entries


def import_(name: str, translations: pathlib.Path) -> int:
    path = catalogue(name)
    catalog = read(path)
    given = json.loads(translations.read_text(encoding="utf-8"))
    errors = []
    for index, entry in enumerate(given):
        message = catalog.get(entry["msgid"])
        if message is None:
            errors.append(f"entry {index}: msgid not in {path.name}: {entry['msgid'][:80]!r}")
            continue
        if not entry["msgstr"].strip():
            continue
        for problem in problems(entry["msgid"], entry["msgstr"]):
            errors.append(f"entry {index} ({entry['msgid'][:60]!r}): {problem}")
    if errors:
        print(f"{translations}: nothing written to {path}, fix these first:", file=sys.stderr)
        print("\n".join(errors), file=sys.stderr)
        return 1
    written = 0
    for entry in given:
        if entry["msgstr"].strip():
            message = catalog.get(entry["msgid"])
            message.string = entry["msgstr"]
            message.flags.discard("fuzzy")
            written += 1
    write(path, catalog)
    left = sum(1 for m in catalog if m.id and (not m.string or m.fuzzy))
    print(f"{path.relative_to(ROOT)}: {written} translations written, {left} messages still to do")
    return 0


def report() -> list[tuple[str, int, int, int, list[str]]]:
    """Per catalogue: (page, messages, untranslated, fuzzy, broken-rule descriptions)."""
    rows = []
    for path in sorted(LOCALE.rglob("*.po")):
        catalog = read(path)
        page = path.relative_to(LOCALE).with_suffix("").as_posix()
        messages = [m for m in catalog if m.id]
        untranslated = sum(1 for m in messages if not m.string)
        fuzzy = sum(1 for m in messages if m.fuzzy)
        broken = [
            f"{page}: {problem} in {m.id[:60]!r}"
            for m in messages
            if m.string
            for problem in problems(m.id, m.string)
        ]
        rows.append((page, len(messages), untranslated, fuzzy, broken))
    return rows


def _sphinx(builder: str, outdir: pathlib.Path, overrides: dict, strict: bool) -> int:
    """Build the book with jupyter-book's Sphinx set-up (``_config.yml``, ``_toc.yml``) and
    ``overrides`` on top; the doctrees and MyST-NB's executed notebooks go next to ``outdir``."""
    from jupyter_book.sphinx import build_sphinx

    config = {
        "external_toc_path": (ROOT / "_toc.yml").as_posix(),
        "latex_individualpages": False,
        **overrides,
    }
    result = build_sphinx(
        ROOT,
        outdir,
        noconfig=True,
        path_config=str(ROOT / "_config.yml"),
        confoverrides=config,
        builder=builder,
        warningiserror=strict,
        keep_going=strict,
        # The gettext build reads the chapters unexecuted: MyST-NB's warnings about the
        # glue keys that only execution defines mean nothing there.
        quiet=builder == "gettext",
        really_quiet=builder == "gettext",
    )
    return result if isinstance(result, int) else 1


def templates(folder: pathlib.Path) -> pathlib.Path:
    """Extract every prose message of the book into ``folder/gettext/<page>.pot``.

    The notebooks are not executed (``nb_execution_mode: off``): program output
    never enters a catalogue, and the extraction takes seconds.
    """
    outdir = pathlib.Path(folder) / "gettext"
    code = _sphinx("gettext", outdir, {"nb_execution_mode": "off", **GETTEXT}, strict=False)
    if code:
        raise SystemExit(f"Sphinx's gettext builder failed (exit status {code})")
    return outdir


def _ids(path: pathlib.Path) -> set[str]:
    return {m.id for m in read(path) if m.id}


def outdated(pot_dir: pathlib.Path, locale: pathlib.Path = LOCALE) -> list[str]:
    """The pages whose catalogue is older than their English source, each with what is wrong.

    A catalogue is outdated when a message of the page's template (``.pot``, extracted
    from the English now) is missing from it, or when it has no template (a page gone).
    """
    pot_dir = pathlib.Path(pot_dir)
    pots = {p.relative_to(pot_dir).with_suffix("").as_posix(): p for p in pot_dir.rglob("*.pot")}
    pos = {p.relative_to(locale).with_suffix("").as_posix(): p for p in locale.rglob("*.po")}
    found = []
    for page in sorted(set(pots) | set(pos)):
        if page not in pos:
            found.append(f"{page}: no catalogue (run `make catalogues`)")
        elif page not in pots:
            found.append(f"{page}: catalogue of a page the book no longer has")
        else:
            missing = _ids(pots[page]) - _ids(pos[page])
            if missing:
                first = sorted(missing)[0]
                found.append(
                    f"{page}: {len(missing)} English messages not in its catalogue "
                    f"(run `make catalogues`), e.g. {first[:70]!r}"
                )
    return found


def refresh() -> int:
    """``make catalogues``: the catalogues updated from the English sources, then checked.

    sphinx-intl merges each page's new template into its catalogue: a changed English
    message keeps its old translation marked fuzzy, a new one arrives untranslated, and
    messages the English no longer has are dropped (``--no-obsolete``).
    """
    from sphinx_intl import basic

    with tempfile.TemporaryDirectory(prefix="mmtutorial-pot-") as scratch:
        pot_dir = templates(pathlib.Path(scratch))
        basic.update(str(LOCALES), str(pot_dir), (LANGUAGE,), line_width=0, ignore_obsolete=True)
        pots = {p.relative_to(pot_dir).with_suffix("") for p in pot_dir.rglob("*.pot")}
        for po in sorted(LOCALE.rglob("*.po")):
            if po.relative_to(LOCALE).with_suffix("") not in pots:
                print(f"Removed {po.relative_to(ROOT)}: the book no longer has its page")
                po.unlink()
    return check()


def build(build_dir: pathlib.Path, *, strict: bool = True) -> int:
    """The Chinese HTML: ``<build_dir>/html/zh_CN`` beside the English ``<build_dir>/html``.

    It is built from the English build's jupyter-cache (``<build_dir>/.jupyter_cache``),
    so no chapter executes again: MyST-NB takes each chapter's outputs from the cache and
    Sphinx translates the prose from ``locales/zh_CN``. Its own doctrees, executed
    notebooks and reader notebooks live in ``<build_dir>/zh_CN``; the HTML and the reader
    notebooks are then copied to ``<build_dir>/html/zh_CN`` and ``<build_dir>/notebooks/zh_CN``.
    """
    import yaml

    build_dir = pathlib.Path(build_dir).resolve()
    work = build_dir / LANGUAGE
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    baseurl = config["html"]["baseurl"].rstrip("/") + "/"
    # The book's title, as the intro's first heading is translated (English until it is).
    intro = read(catalogue("intro"))
    title = next((m.string for m in intro if m.id == config["title"] and not m.fuzzy), "")
    overrides = {
        "html_title": title or config["title"],
        "language": LANGUAGE,
        # The catalogues of the pages, then the theme's labels its own catalogues lack.
        "locale_dirs": [str(LOCALES), str(LOCALES / "theme")],
        "gettext_compact": False,
        "nitpicky": True,
        "nb_execution_cache_path": str(build_dir / ".jupyter_cache"),
        # Canonical links and the reader notebooks' links point at the Chinese pages.
        "html_baseurl": f"{baseurl}{LANGUAGE}/",
        # The launch buttons open <branch>/zh_CN/book/<chapter>.ipynb (book.yml publishes it).
        "html_theme_options": {"path_to_docs": LANGUAGE, "search_bar_text": "搜索本书……"},
    }
    start = time.perf_counter()
    code = _sphinx("html", work / "html", overrides, strict=strict)
    if code:
        return code
    for folder, target in (
        ("html", build_dir / "html" / LANGUAGE),
        ("notebooks", build_dir / "notebooks" / LANGUAGE),
    ):
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(work / folder, target)
    print(
        f"The Chinese edition is at {build_dir / 'html' / LANGUAGE / 'index.html'} "
        f"({time.perf_counter() - start:.0f} s)"
    )
    return 0


def check() -> int:
    failed = 0
    print(f"{'page':32} {'messages':>8} {'untranslated':>12} {'fuzzy':>6} {'broken':>6}")
    for page, total, untranslated, fuzzy, broken in report():
        print(f"{page:32} {total:8} {untranslated:12} {fuzzy:6} {len(broken):6}")
        for line in broken:
            print("   ", line)
        failed += untranslated + fuzzy + len(broken)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.translation", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    out = commands.add_parser("export", help="print a page's messages to translate, as JSON")
    out.add_argument("page")
    out.add_argument("--all", action="store_true", help="every message, translated or not")
    into = commands.add_parser(
        "import", help="write translations from JSON into a page's catalogue"
    )
    into.add_argument("page")
    into.add_argument("json", type=pathlib.Path)
    commands.add_parser("check", help="count untranslated, fuzzy and broken messages")
    commands.add_parser(
        "catalogues", help="update every catalogue from the English sources, then check"
    )
    commands.add_parser(
        "outdated", help="name the catalogues that miss messages of the English sources"
    )
    pot = commands.add_parser(
        "templates", help="extract the English messages into FOLDER/gettext/<page>.pot"
    )
    pot.add_argument("folder", type=pathlib.Path)
    html = commands.add_parser("build", help="build the Chinese HTML into BUILD/html/zh_CN")
    html.add_argument("build_dir", type=pathlib.Path, help="the English build's folder (_build)")
    html.add_argument("--no-strict", action="store_true", help="do not turn warnings into errors")
    args = parser.parse_args(argv)
    if args.command == "export":
        json.dump(export(args.page, args.all), sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    if args.command == "import":
        return import_(args.page, args.json)
    if args.command == "catalogues":
        return refresh()
    if args.command == "outdated":
        with tempfile.TemporaryDirectory(prefix="mmtutorial-pot-") as scratch:
            found = outdated(templates(pathlib.Path(scratch)))
        print("\n".join(found) or "every catalogue holds every English message")
        return 1 if found else 0
    if args.command == "templates":
        print(templates(args.folder))
        return 0
    if args.command == "build":
        return build(args.build_dir, strict=not args.no_strict)
    return check()


if __name__ == "__main__":
    sys.exit(main())
