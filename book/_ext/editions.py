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
* lets a translated message use the page's glued values: Sphinx parses each
  translation as a document of its own (``sphinx.transforms.i18n.
  publish_msgstr``), in which MyST-NB's glue roles look for the values in that
  small document's own notebook client, which has none, and warn "No key ...
  found in glue data for this document". In a translated build the lookup falls
  back to the values MyST-NB saved for the page being read
  (``jupyter_execute/<page>.glue.json``, written when the page was parsed,
  before Sphinx translates it), so ``{glue:text}`` shows the same value, with
  the same format, as on the English page;
* gives the theme's labels that its Chinese catalogues lack, or that its
  templates write in English, their Chinese: sphinx-book-theme's gaps from
  ``locales/theme/zh_CN/LC_MESSAGES/booktheme.po`` (added after the theme's own
  catalogue, so it only fills gaps), and the templates' fixed English names
  (``TEMPLATE_LABELS``) replaced in the written pages;
* translates the parts' captions of the table of contents ("Foundations",
  "Building it", ...): sphinx-external-toc inserts those toctrees with a
  transform that runs after Sphinx's own translation transform, so Sphinx
  extracts the captions into the root page's catalogue but never applies
  them. Once the page is read, the captions are looked up in that catalogue;
* sets the Sphinx tag ``zh_CN`` in the Chinese build, so a page can hold a
  paragraph only the Chinese edition shows (``{only} zh_CN``): the intro's note
  that code, comments and program output stay in English. Sphinx's gettext
  builder extracts messages inside every ``only`` block, so that paragraph is
  translated in the catalogue like any other, and the English pages never show it.
"""

from __future__ import annotations

import functools
import json
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
#: Names sphinx-book-theme's templates write in English whatever the language
#: (components/toggle-*-sidebar.html, sbt-sidebar-nav.html, layout.html), and their Chinese.
TEMPLATE_LABELS = {
    'title="Toggle primary sidebar"': 'title="显示或隐藏主侧边栏"',
    'title="Toggle secondary sidebar"': 'title="显示或隐藏次侧边栏"',
    '<nav class="bd-links bd-docs-nav" aria-label="Main">': (
        '<nav class="bd-links bd-docs-nav" aria-label="全书导航">'
    ),
    '<nav aria-label="Page">': '<nav aria-label="本页导航">',
}


def is_chinese(app: Sphinx) -> bool:
    return (app.config.language or "en") == CHINESE


def _config_inited(app: Sphinx, config) -> None:
    here = pathlib.Path(__file__).parent
    config.templates_path = [
        *config.templates_path,
        str(here / "templates"),
    ]
    config.html_static_path = [
        *config.html_static_path,
        str(here / "static"),
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
        _translated_glue()
        _theme_catalogue(app)


def _page_glue(env) -> dict:
    """The glued values MyST-NB saved for the page being read (empty when it glued none)."""
    outdir = pathlib.Path(env.app.outdir)
    path = (
        outdir.parent / "jupyter_execute" / f"{env.docname}.glue.json"
    )
    return (
        json.loads(path.read_text(encoding="utf-8"))
        if path.exists()
        else {}
    )


def _glue_with_page_fallback(retrieve):
    """MyST-NB's ``retrieve_glue_data``, falling back to the page's values (see the module)."""
    from myst_nb.core.variables import RetrievalError, VariableOutput

    @functools.wraps(retrieve)
    def retrieve_glue_data(document, key):
        try:
            return retrieve(document, key)
        except RetrievalError:
            env = getattr(document.settings, "env", None)
            glued = (
                _page_glue(env)
                if env is not None and env.docname
                else {}
            )
            if key not in glued:
                raise
            return VariableOutput(
                data=glued[key]["data"],
                metadata=glued[key].get("metadata", {}),
                nb_renderer=document.get("nb_renderer"),
                vtype="glue",
            )

    retrieve_glue_data.page_fallback = True
    return retrieve_glue_data


def _translated_glue() -> None:
    from myst_nb.ext.glue import directives, roles

    for module in (roles, directives):
        if not getattr(
            module.retrieve_glue_data, "page_fallback", False
        ):
            module.retrieve_glue_data = _glue_with_page_fallback(
                module.retrieve_glue_data
            )


def _theme_catalogue(app: Sphinx) -> None:
    """sphinx-book-theme's labels its zh_CN catalogue lacks, compiled and added after it."""
    from babel.messages import mofile, pofile

    for folder in app.config.locale_dirs:
        base = pathlib.Path(app.srcdir) / folder
        po = base / CHINESE / "LC_MESSAGES" / "booktheme.po"
        if not po.exists():
            continue
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = pofile.read_po(source, locale=CHINESE)
            with mo.open("wb") as target:
                mofile.write_mo(target, catalog)
        app.add_message_catalog("booktheme", str(base))


def _translate_captions(app: Sphinx, doctree) -> None:
    """The toctrees' captions in the page's catalogue (see the module docstring)."""
    if not is_chinese(app):
        return
    from sphinx import addnodes
    from sphinx.locale import init as init_locale
    from sphinx.util.i18n import docname_to_domain

    toctrees = [
        node
        for node in doctree.findall(addnodes.toctree)
        if node.get("rawcaption")
    ]
    if not toctrees:
        return
    dirs = [
        str(pathlib.Path(app.srcdir) / folder)
        for folder in app.config.locale_dirs
    ]
    domain = docname_to_domain(
        app.env.docname, app.config.gettext_compact
    )
    catalog, found = init_locale(dirs, app.config.language, domain)
    if not found:
        return
    for node in toctrees:
        node["caption"] = catalog.gettext(node["rawcaption"])


def _label_templates(app: Sphinx, exception: Exception | None) -> None:
    if (
        exception is not None
        or app.builder.format != "html"
        or not is_chinese(app)
    ):
        return
    for path in pathlib.Path(app.outdir).rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        fixed = text
        for english, chinese in TEMPLATE_LABELS.items():
            fixed = fixed.replace(english, chinese)
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")


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
    app.add_css_file("editions.css")
    app.connect("build-finished", _label_templates)
    app.connect("doctree-read", _translate_captions)
    app.connect("html-page-context", _page_context)
    return {
        "version": "1.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
