"""The book's two editions, English and Chinese, linked page to page.

The English book is built into ``_build/html`` and the Chinese edition
(``python -m tools.translation build``, from the gettext catalogues in
``locales/zh_CN``) into ``_build/html/zh_CN``, from the same sources, so every
page has the same name in both. This extension, loaded by both builds:

* puts a link to the same page in the other edition at the start of the
  article's header buttons, on every page: "中文" on the English pages,
  "English" on the Chinese ones. It is an ordinary link (it opens in the same
  tab), its text is in the language it leads to and says so (``lang`` and
  ``hreflang``, WCAG 3.1.2), and its title tells what it does in that language;
* adds ``<link rel="alternate" hreflang="...">`` for both editions to every
  page's head, so search engines and browsers know the pair;
* sets the Sphinx tag ``zh_CN`` in the Chinese build, so a page can hold a
  paragraph only the Chinese edition shows (``{only} zh_CN``): the intro's note
  that code, comments and program output stay in English. Sphinx's gettext
  builder extracts messages inside every ``only`` block, so that paragraph is
  translated in the catalogue like any other, and the English pages never show it.
"""

from __future__ import annotations

import pathlib

from sphinx.application import Sphinx

#: The Chinese edition: its Sphinx language, the folder it is published in (under the
#: English book) and its HTML language tag.
CHINESE = "zh_CN"
FOLDER = "zh_CN"
EDITIONS = {
    "en": {
        "hreflang": "en",
        "text": "English",
        "title": "Read this page in English",
    },
    CHINESE: {
        "hreflang": "zh-CN",
        "text": "中文",
        "title": "阅读本页的中文版",
    },
}
TEMPLATE = "language-switch.html"


def is_chinese(app: Sphinx) -> bool:
    return (app.config.language or "en") == CHINESE


def _config_inited(app: Sphinx, config) -> None:
    config.templates_path = [
        *config.templates_path,
        str(pathlib.Path(__file__).parent / "templates"),
    ]
    options = dict(config.html_theme_options or {})
    end = options.get(
        "article_header_end", ["article-header-buttons.html"]
    )
    end = [end] if isinstance(end, str) else list(end)
    if TEMPLATE not in end:
        options["article_header_end"] = [TEMPLATE, *end]
    config.html_theme_options = options
    if is_chinese(app):
        app.tags.add(CHINESE)


def other_edition_url(
    pagename: str, target_uri: str, chinese: bool
) -> str:
    """The relative URL, from page ``pagename``, of the same page in the other edition."""
    up = "../" * pagename.count("/")
    if chinese:
        return f"{up}../{target_uri}"
    return f"{up}{FOLDER}/{target_uri}"


def _page_context(
    app, pagename, templatename, context, doctree
) -> None:
    if app.builder.format != "html":
        return
    chinese = is_chinese(app)
    target = app.builder.get_target_uri(pagename)
    other = EDITIONS["en" if chinese else CHINESE]
    here = EDITIONS[CHINESE if chinese else "en"]
    url = other_edition_url(pagename, target, chinese)
    context["other_edition"] = {**other, "url": url}
    up = "../" * pagename.count("/")
    own = f"{up}{target}"
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{here["hreflang"]}" href="{own}" />'
        f'\n<link rel="alternate" hreflang="{other["hreflang"]}" href="{url}" />'
    )


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _config_inited)
    app.connect("html-page-context", _page_context)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
