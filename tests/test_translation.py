"""The Chinese edition (issue 31): its catalogues, its build, its pages and reader notebooks.

The catalogues (``locales/zh_CN/LC_MESSAGES/<page>.po``) hold the translation of
every prose message Sphinx's gettext builder extracts from the English sources;
``tools/translation.py`` fills, checks and refreshes them and builds the Chinese
HTML into ``_build/html/zh_CN`` from the English build's jupyter-cache.

Three kinds of test here (completeness, freshness and the build's are marked
``book``, so ``make test-fast`` leaves them out):

* the catalogues against the English sources and the markup rules (no build);
* the Chinese build, from the session's English build (``chinese_build`` in
  conftest.py): warnings as errors, nothing executed, Chinese prose, the same
  glued numbers as the English page, links between the editions and to the
  glossary, the theme's own labels in Chinese, the Chinese reader notebooks;
* the reader notebooks' translation of a chapter's markdown, on a small catalogue.

The browser tests (tests/test_browser.py) visit the Chinese pages with the English.
"""

from __future__ import annotations

import html
import json
import pathlib
import re
import shutil
import subprocess
import sys
import types
import urllib.parse

import nbformat
import pytest
import yaml
from babel.messages import Catalog, pofile
from bs4 import BeautifulSoup

from tools import translation

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted(path.stem for path in (ROOT / "book").glob("*.ipynb"))
PAGES = sorted(
    [f"book/{path.stem}" for path in (ROOT / "book").glob("*.ipynb")]
    + [f"book/{path.stem}" for path in (ROOT / "book").glob("*.md")]
)
BASEURL = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["baseurl"].rstrip("/") + "/"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")
# A Chinese page's paragraphs: at least this share of their letters are Chinese characters
# (code, math, glued values and citations left out; English terms in parentheses stay in).
CHINESE_SHARE = 0.5
INTRO_NOTE = "This edition translates the prose only"


# ---------------------------------------------------------------------------------------------
# The catalogues


def test_there_is_a_catalogue_for_every_page():
    catalogues = {
        p.relative_to(translation.LOCALE).with_suffix("").as_posix()
        for p in translation.LOCALE.rglob("*.po")
    }
    assert catalogues == set(PAGES), (
        f"pages without a catalogue: {sorted(set(PAGES) - catalogues)}; "
        f"catalogues without a page: {sorted(catalogues - set(PAGES))} (run `make catalogues`)"
    )


@pytest.mark.book
@pytest.mark.parametrize("page", PAGES)
def test_every_message_is_translated_and_none_is_fuzzy(page):
    """The translation is complete: fails, naming what is left, until every message is done."""
    rows = {row[0]: row for row in translation.report()}
    _, total, untranslated, fuzzy, _ = rows[page]
    assert untranslated == 0 and fuzzy == 0, (
        f"{page}: {untranslated} of {total} messages untranslated and {fuzzy} fuzzy "
        f"(python -m tools.translation export {page})"
    )


def test_no_translation_breaks_a_markup_rule():
    broken = [line for row in translation.report() for line in row[4]]
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize(
    ("msgid", "msgstr", "problem"),
    [
        ("See {term}`Modality`.", "见{term}`模态 <Modality>`。", None),
        ("See {term}`Modality`.", "见{term}`模态 <Token>`。", "roles differ"),
        ("It scores {glue:text}`acc:.2f`.", "它的得分是{glue:text}`acc:.1f`。", "roles differ"),
        ("Call `fit()` here.", "在这里调用 `fit`。", "inline code differ"),
        ("With $x^2$ here.", "这里有 $x^3$。", "math differ"),
        ("A [link](https://a.example).", "一个[链接](https://b.example)。", "link targets differ"),
        ("The model learns.", "The model learns.", "no Chinese characters"),
        ("Keras", "Keras", None),
        ("The model learns.", "", "untranslated"),
    ],
)
def test_the_markup_rules(msgid, msgstr, problem):
    found = translation.problems(msgid, msgstr)
    if problem is None:
        assert found == []
    else:
        assert any(problem in line for line in found), found


@pytest.fixture(scope="session")
def english_templates(tmp_path_factory):
    """Every page's messages as the English sources hold them now (Sphinx's gettext builder)."""
    folder = tmp_path_factory.mktemp("pot")
    result = subprocess.run(
        [sys.executable, "-m", "tools.translation", "templates", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return folder / "gettext"


@pytest.mark.book
def test_every_catalogue_holds_every_message_of_its_english_page(english_templates):
    """An English edit not yet merged into the catalogues (`make catalogues`) fails here."""
    found = translation.outdated(english_templates)
    assert not found, "catalogues older than their English source:\n" + "\n".join(found)


@pytest.mark.book
def test_an_outdated_catalogue_is_named_with_its_chapter(english_templates, tmp_path):
    locale = tmp_path / "LC_MESSAGES"
    shutil.copytree(translation.LOCALE, locale)
    edited = locale / "book" / "four_steps.po"
    catalog = translation.read(edited)
    dropped = next(m.id for m in catalog if m.id)
    catalog.delete(dropped)
    with edited.open("wb") as handle:
        pofile.write_po(handle, catalog, width=0)
    (locale / "book" / "faq.po").unlink()
    found = translation.outdated(english_templates, locale)
    assert len(found) == 2, found
    assert found[0].startswith("book/faq: no catalogue"), found
    assert found[1].startswith("book/four_steps: 1 English messages not in its catalogue"), found


# ---------------------------------------------------------------------------------------------
# The reader notebooks' translation of a chapter's markdown


def _catalogue(tmp_path, messages):
    catalog = Catalog(locale="zh_CN")
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    folder = tmp_path / "zh_CN" / "LC_MESSAGES" / "book"
    folder.mkdir(parents=True)
    with (folder / "chapter.po").open("wb") as handle:
        pofile.write_po(handle, catalog)
    return tmp_path


def test_a_reader_notebook_takes_its_prose_from_the_catalogue(tmp_path):
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import reader_notebooks
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    locales = _catalogue(
        tmp_path,
        {
            "A heading": "一个标题",
            "Each {term}`modality <Modality>` gets its own encoder, written in `mt.encoders`.": (
                "每种{term}`模态 <Modality>`都有自己的编码器，写在 `mt.encoders` 里。"
            ),
            "a list item": "一个列表项",
            "cell": "单元格",
            "A note's body.": "注释的正文。",
            "Left as it was": "",
        },
    )
    env = types.SimpleNamespace(
        config=types.SimpleNamespace(language="zh_CN", locale_dirs=[str(locales)]),
        srcdir=str(ROOT),
        doc2path=lambda docname: ROOT / f"{docname}.ipynb",
        domaindata={
            "std": {"objects": {("term", "Modality"): ("book/glossary", "term-Modality")}},
            "cite": {"citations": []},
        },
    )
    env.domaindata["std"]["labels"] = {}
    book = reader_notebooks.Book(env, tmp_path, BASEURL + "zh_CN/")
    chapter = reader_notebooks.Chapter(book, "book/chapter")
    source = (
        "## A heading\n\nEach {term}`modality <Modality>` gets its own\nencoder, written in "
        "`mt.encoders`.\n\n- a list item\n- Left as it was\n\n| head |\n|---|\n| cell |\n\n"
        ":::{note}\nA note's body.\n:::\n"
    )
    text = chapter.markdown(source, reader_notebooks._parser())
    assert "## 一个标题" in text
    assert (
        f"每种[模态]({BASEURL}zh_CN/book/glossary.html#term-Modality)都有自己的编码器，"
        "写在 `mt.encoders` 里。" in text
    )
    assert "- 一个列表项\n- Left as it was" in text
    assert "| 单元格 |" in text
    assert "> 注释的正文。" in text


# ---------------------------------------------------------------------------------------------
# The Chinese build


def _page(folder, address):
    return BeautifulSoup((folder / address).read_text(encoding="utf-8"), "html.parser")


def _prose(soup):
    """The text of a page's paragraphs, without code, math, glued values or citations."""
    article = soup.select_one("article") or soup
    for element in article.select(
        "code, pre, .math, .cell_output, .pasted-text, .pasted-inline, a[href*='bibliography']"
    ):
        element.decompose()
    return " ".join(p.get_text(" ") for p in article.select("p"))


def _relative(folder, page, href):
    """The file and fragment a relative link on ``page`` leads to, inside ``folder``."""
    parts = urllib.parse.urlsplit(href)
    assert not parts.scheme, f"{page}: {href} is not a relative link"
    target = (folder / page).parent / urllib.parse.unquote(parts.path)
    return target.resolve(), parts.fragment


def _reader_pages(folder):
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*.html")
        if not {"_static", "zh_CN"} & set(p.relative_to(folder).parts[:-1])
        and 'http-equiv="Refresh"' not in p.read_text(errors="replace")[:2000]
    )


def test_the_chinese_edition_builds_with_warnings_as_errors(chinese_build):
    assert chinese_build.returncode == 0, chinese_build.log[-6000:]


def test_the_chinese_edition_executes_no_chapter_again(chinese_build, chinese_book):
    """Every chapter's outputs come from the English build's jupyter-cache."""
    assert "Executing notebook" not in chinese_build.log
    cached = set(re.findall(r"book/(\w+)\.ipynb: Using cached notebook", chinese_build.log))
    assert cached == set(CHAPTERS), (
        f"chapters not taken from the cache: {sorted(set(CHAPTERS) - cached)}"
    )
    for chapter in CHAPTERS:
        assert (chinese_book / "book" / f"{chapter}.html").is_file(), chapter


def test_every_chinese_page_is_marked_as_chinese(chinese_book):
    for address in _reader_pages(chinese_book):
        tag = _page(chinese_book, address).find("html")
        assert tag.get("lang") == "zh-CN", f"{address}: <html lang={tag.get('lang')!r}>"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_chinese_chapter_page_is_written_in_chinese(chinese_book, chapter):
    prose = _prose(_page(chinese_book, f"book/{chapter}.html"))
    cjk, latin = len(CJK.findall(prose)), len(LATIN.findall(prose))
    share = cjk / max(1, cjk + latin)
    assert share >= CHINESE_SHARE, (
        f"book/{chapter}: {share:.0%} of the letters of its paragraphs are Chinese "
        f"({cjk} Chinese characters, {latin} Latin letters); translate locales/zh_CN/"
        f"LC_MESSAGES/book/{chapter}.po"
    )


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_chinese_chapter_shows_the_glued_numbers_of_its_english_page(
    built_book, chinese_book, chapter
):
    def glued(folder):
        soup = _page(folder, f"book/{chapter}.html")
        return sorted(e.get_text() for e in soup.select(".pasted-text, .pasted-inline"))

    english = glued(built_book)
    assert glued(chinese_book) == english
    # Translators may reorder sentences, so the values are compared as a multiset.


def test_every_page_links_to_the_same_page_in_the_other_edition(built_book, chinese_book):
    for folder, other in ((built_book, chinese_book), (chinese_book, built_book)):
        pages = _reader_pages(folder)
        assert "book/intro.html" in pages
        for address in pages:
            links = _page(folder, address).select("a.btn-language-switch")
            assert len(links) == 1, f"{folder.name}/{address}: {len(links)} language links"
            link = links[0]
            target, _ = _relative(folder, address, link["href"])
            assert target == (other / address).resolve(), (
                f"{address}: the language link leads to {target}, not {other / address}"
            )
            assert target.is_file(), f"{address}: {link['href']} does not exist"
            language = "zh-CN" if folder == built_book else "en"
            assert link.get("lang") == link.get("hreflang") == language
            assert link.get_text(strip=True) == ("中文" if language == "zh-CN" else "English")


def test_glossary_links_of_the_chinese_pages_reach_the_chinese_glossary(chinese_book):
    glossary = chinese_book / "book" / "glossary.html"
    anchors = set(re.findall(r'id="([^"]+)"', glossary.read_text(encoding="utf-8")))
    links = 0
    for address in _reader_pages(chinese_book):
        for link in _page(chinese_book, address).select("a[href*='glossary.html#']"):
            target, fragment = _relative(chinese_book, address, link["href"])
            assert target == glossary.resolve(), f"{address}: {link['href']}"
            assert fragment in anchors, f"{address}: {link['href']} names no glossary entry"
            links += 1
    assert links > 50, f"only {links} glossary links in the Chinese edition"


def test_the_theme_speaks_chinese(chinese_book):
    page = (chinese_book / "book" / "code_walkthrough.html").read_text(encoding="utf-8")
    # pydata-sphinx-theme's search box, sphinx-book-theme's buttons, then the labels their
    # catalogues lack (locales/theme) and those their templates write in English (editions.py).
    for label in (
        "搜索",
        "下载此页面",
        "全屏模式",
        "颜色模式",
        "启动于 Colab",
        "显示或隐藏主侧边栏",
    ):
        assert label in page, f"the theme's label {label!r} is missing from the Chinese page"
    for english in ("Launch on", "Color mode", "Toggle primary sidebar", 'aria-label="Main"'):
        assert english not in page, f"the Chinese page still says {english!r}"


def test_the_parts_of_the_chinese_table_of_contents_have_chinese_names(chinese_book):
    """The sidebar's part captions ("Foundations", ...) come from _toc.yml and the intro's catalogue."""
    for address in ("book/intro.html", "book/concepts.html"):
        page = _page(chinese_book, address)
        captions = [node.get_text(strip=True) for node in page.select("p.caption .caption-text")]
        assert captions, f"{address}: no part captions in the sidebar"
        english = [caption for caption in captions if not CJK.search(caption)]
        assert not english, (
            f"{address}: the table of contents still names parts in English: {english}"
        )


def test_only_the_chinese_intro_says_that_code_stays_english(built_book, chinese_book):
    english = (built_book / "book" / "intro.html").read_text(encoding="utf-8")
    chinese = (chinese_book / "book" / "intro.html").read_text(encoding="utf-8")
    assert INTRO_NOTE not in english
    note = translation.read(translation.catalogue("intro"))
    translated = next(m.string for m in note if m.id.startswith(INTRO_NOTE))
    assert translated and translated in chinese


def test_every_chinese_chapter_has_a_chinese_reader_notebook(chinese_build, chinese_book):
    for chapter in CHAPTERS:
        path = chinese_build.notebooks / f"{chapter}.ipynb"
        assert path.is_file(), f"no Chinese reader notebook {path}"
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        # The page's download button serves the same notebook.
        download = chinese_book / "_sources" / "book" / f"{chapter}.ipynb"
        assert json.loads(download.read_text()) == json.loads(path.read_text()), chapter
        text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
        english_links = re.findall(re.escape(BASEURL) + r"book/[\w/.#-]*", text)
        assert not english_links, f"{chapter}: links to the English pages: {english_links[:3]}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_chinese_reader_notebook_shows_the_page_and_links_into_the_chinese_edition(
    chinese_build, chinese_book, chapter
):
    notebook = nbformat.read(chinese_build.notebooks / f"{chapter}.ipynb", as_version=4)
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    role = re.search(r"\{[A-Za-z][\w:.+-]*\}`", text)
    assert not role, f"{chapter}: MyST left in the reader notebook: {role.group()}"
    page = (chinese_book / "book" / f"{chapter}.html").read_text(encoding="utf-8")
    shown = re.sub(r"\\(.)", r"\1", text)
    for value in re.findall(r'<span class="pasted-text">(.*?)</span>', page, re.DOTALL):
        assert html.unescape(value) in shown, f"{chapter}: the page shows {value!r}"
    anchors = {}
    for link in re.findall(r"\]\((" + re.escape(BASEURL) + r"[^)\s]+)\)", text):
        assert link.startswith(f"{BASEURL}zh_CN/"), f"{chapter}: {link} is not a Chinese page"
        address, _, anchor = link.removeprefix(f"{BASEURL}zh_CN/").partition("#")
        assert (chinese_book / address).is_file(), f"{chapter}: {link} is not a page"
        if anchor:
            if address not in anchors:
                found = (chinese_book / address).read_text(encoding="utf-8")
                anchors[address] = set(re.findall(r'id="([^"]+)"', found))
            assert urllib.parse.unquote(anchor) in anchors[address], f"{link}: no such anchor"


def test_the_chinese_launch_buttons_open_the_chinese_notebooks(chinese_book):
    page = (chinese_book / "book" / "four_steps.html").read_text(encoding="utf-8")
    links = [
        urllib.parse.unquote(href)
        for href in re.findall(r'href="([^"]+)"', page)
        if "colab.research.google.com" in href or "mybinder.org" in href
    ]
    assert links, "the Chinese page has no launch buttons"
    for link in links:
        assert link.endswith("zh_CN/book/four_steps.ipynb"), link
