"""The built book as a reader's browser shows it: headless Chromium on every page.

The HTML tests in tests/test_book.py read the files; these open them in a real
browser, because what a reader meets (scripts that throw, images that do not
load, math left as raw LaTeX, a search page that finds nothing) only shows up
once the page runs.

The browser is the system Chromium (Debian's `chromium` package, or the path in
the CHROMIUM environment variable), driven by Playwright; nothing here downloads
a browser. Without one the tests skip, except under CI (CI set), where a missing
browser fails them.

The pages are served to the browser from the build folder at a made-up origin
that Playwright answers from disk (the `.invalid` domain never resolves), so
they behave as on a web host. Every other request is refused and recorded: the
book must work offline, as CI and many readers are. One more test opens a page
straight from disk (file://), as the README tells readers to.

Every page is read at 1280x800, a common laptop screen: no code block or
text output may scroll sideways there. axe-core (the engine behind
Lighthouse's accessibility audit; npm's `axe-core`, pinned by
package-lock.json and installed by `make test`) audits every page in the light
and in the dark theme: no serious or critical violation may remain.

The Chinese edition (``_build/html/zh_CN``, built by the ``chinese_build``
fixture of conftest.py as ``make book`` builds it) is part of the build folder,
so every check visits its pages too.

Screenshots of the intro, the walkthrough, the Chinese intro and the search
results go to test-artifacts/.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import html
import os
import pathlib
import re
import shutil
import subprocess
import sys
import urllib.parse

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
ORIGIN = "https://mmtutorial-book.invalid"
VIEWPORT = {"width": 1280, "height": 800}
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
THEMES = ("light", "dark")
ENGLISH_NOTEBOOK_PAGES = sorted(
    f"book/{path.stem}.html" for path in (ROOT / "book").glob("*.ipynb")
)
# The Chinese edition's pages have the same names under zh_CN/.
NOTEBOOK_PAGES = ENGLISH_NOTEBOOK_PAGES + [f"zh_CN/{page}" for page in ENGLISH_NOTEBOOK_PAGES]
SCREENSHOTS = {
    "book/intro.html": "intro.png",
    "book/code_walkthrough.html": "code_walkthrough.png",
    "zh_CN/book/intro.html": "zh_CN_intro.png",
}
# What TensorFlow, absl and Python write when something goes wrong or is merely chatty.
NOISE = (
    "Traceback",
    "oneDNN",
    "cuInit",
    "cpu_feature_guard",
    "absl::",
    "WARNING:absl",
    "WARNING:tensorflow",
)
# A page has loaded when its images are decoded, MathJax has typeset and its fonts are in.
SETTLE = """async () => {
    for (const image of document.images) image.loading = "eager";
    await Promise.all(Array.from(document.images, (image) => image.decode().catch(() => null)));
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
    await document.fonts.ready;
    // Bootstrap's buttons change colour with a 0.15 s transition; a theme applied as the
    // page loads starts one, and a contrast audit during it reads a half-changed colour.
    const finite = document.getAnimations().filter(
        (animation) => animation.effect && animation.effect.getComputedTiming().iterations !== Infinity);
    await Promise.all(finite.map((animation) => animation.finished.catch(() => null)));
}"""
INSPECT = """() => ({
    brokenImages: Array.from(document.images)
        .filter((image) => image.naturalWidth === 0)
        .map((image) => image.getAttribute("src")),
    math: document.querySelectorAll("span.math, div.math").length,
    typeset: document.querySelectorAll("mjx-container").length,
    untypeset: Array.from(document.querySelectorAll("span.math, div.math"))
        .filter((element) => !element.querySelector("mjx-container"))
        .map((element) => element.textContent.trim().slice(0, 80)),
    mathErrors: Array.from(document.querySelectorAll("mjx-merror"), (element) => element.getAttribute("data-mjx-error") || element.textContent),
    errorOutputs: Array.from(document.querySelectorAll(".output.stderr, .output.traceback, .output.error"),
        (element) => element.textContent.trim().slice(0, 200)),
    text: document.body.textContent,
    launchLinks: Array.from(document.querySelectorAll("a[href]"))
        .filter((link) => link.closest(".dropdown-launch-buttons")
            || /(^|\\.)(colab\\.research\\.google\\.com|mybinder\\.org)$/.test(link.hostname))
        .map((link) => link.href),
})"""


# Code blocks (code cells, and code in the prose) and text outputs wider than their box.
OVERFLOW = """() => Array.from(document.querySelectorAll("div.highlight pre, .cell_output pre"))
    .filter((element) => element.scrollWidth > element.clientWidth + 1)
    .map((element) => ({
        kind: element.closest(".cell_output") ? "output" : "code",
        hidden: element.scrollWidth - element.clientWidth,
        line: element.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a), "").slice(0, 90),
    }))"""
# axe-core's serious and critical violations, one entry per rule with the elements it names.
AUDIT = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
    .filter((violation) => ["serious", "critical"].includes(violation.impact))
    .map((violation) => ({
        rule: violation.id,
        count: violation.nodes.length,
        first: violation.nodes[0].html.slice(0, 160),
        why: violation.nodes[0].failureSummary.slice(0, 200),
    }))"""


def unavailable(reason):
    """Skip on a developer's machine; fail under CI, where the browser is part of the set-up."""
    if os.environ.get("CI"):
        pytest.fail(
            f"{reason} (CI is set, so a missing browser fails the suite instead of skipping it)",
            pytrace=False,
        )
    pytest.skip(reason)


def chromium_executable():
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed; `pip install -e '.[test]'` adds it")
    executable = chromium_executable()
    if executable is None:
        where = (
            f"CHROMIUM={os.environ['CHROMIUM']} is not executable"
            if os.environ.get("CHROMIUM")
            else "no `chromium` on PATH"
        )
        unavailable(
            f"the browser tests need a system Chromium and {where}: install Debian's package "
            "(`apt-get install chromium`) or set CHROMIUM=/path/to/chromium. They never download one "
            "(do not run `playwright install`)."
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable)
        yield chromium
        chromium.close()


@dataclasses.dataclass
class Visit:
    """What one page showed a fresh browser profile (a first-time reader)."""

    url: str
    errors: list = dataclasses.field(default_factory=list)
    refused: list = dataclasses.field(default_factory=list)
    seen: dict = dataclasses.field(default_factory=dict)


def serve_from(html, visit):
    def handle(route):
        url = route.request.url
        if url.startswith("file:"):
            route.continue_()  # a page opened from disk reads the build folder as it is
            return
        if not url.startswith(ORIGIN + "/"):
            visit.refused.append(url)
            route.abort("blockedbyclient")
            return
        relative = urllib.parse.unquote(urllib.parse.urlsplit(url).path).lstrip("/")
        path = (html / relative).resolve()
        if path.is_relative_to(html) and path.is_file():
            route.fulfill(path=path)
        else:
            route.fulfill(status=404, body=f"{relative} is not in the build")

    return handle


def open_page(browser, html, address, *, ready=None, theme=None):
    """Open `address` (relative to the build, or a file:// URL) in a new profile; return the page and its Visit.

    `theme` ("light" or "dark") is the reader's stored choice, as the theme's switch stores it.
    """
    url = address if address.startswith("file:") else f"{ORIGIN}/{address}"
    visit = Visit(url)
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    if theme is not None:
        context.add_init_script(f"localStorage.setItem('mode', '{theme}');")
    context.route("**/*", serve_from(html.resolve(), visit))
    page = context.new_page()
    page.on(
        "console",
        lambda message: visit.errors.append(message.text) if message.type == "error" else None,
    )
    page.on(
        "pageerror", lambda error: visit.errors.append(f"uncaught {error.name}: {error.message}")
    )
    page.goto(url, wait_until="load")
    if ready:
        ready(page)
    page.evaluate(SETTLE)
    visit.seen = page.evaluate(INSPECT)
    return page, visit


def is_redirect(path):
    return 'http-equiv="Refresh"' in path.read_text(errors="replace")[:2000]


def reader_pages(built_book):
    """Every reader-facing page of the build (not the redirects, not search, tested on its own)."""
    pages = sorted(
        path.relative_to(built_book).as_posix()
        for path in built_book.rglob("*.html")
        if "_static" not in path.relative_to(built_book).parts and not is_redirect(path)
    )
    for search in ("search.html", "zh_CN/search.html"):
        if search in pages:
            pages.remove(search)
    return pages


def audit(page):
    """axe-core's serious and critical violations on the open page."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(AUDIT)


@pytest.fixture(scope="session")
def axe_available():
    if not AXE.is_file():
        unavailable(f"{AXE} is missing: `make test` installs it (npm ci, package-lock.json)")


def dark_theme_audits(browser, built_book):
    """axe-core's findings on every reader-facing page in the dark theme: address -> (theme, findings)."""
    result = {}
    for address in reader_pages(built_book):
        page, _ = open_page(browser, built_book, address, theme="dark")
        result[address] = (page.evaluate("document.documentElement.dataset.theme"), audit(page))
        page.context.close()
    return result


def dark_theme_audits_in_own_browser(built_book):
    """:func:`dark_theme_audits` in a Chromium of its own, driven from this thread.

    Playwright's API may not be shared between threads, but each thread may
    start its own; Chromium runs a page's scripts (axe-core's audit) on one
    core, so the dark theme's audits run beside the light theme's visits and
    the browser checks take about half as long on two cores.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_executable())
        try:
            return dark_theme_audits(chromium, built_book)
        finally:
            chromium.close()


_DARK = {}  # the dark theme's audits, started beside the light visits


@pytest.fixture(scope="session")
def visits(browser, built_book, chinese_book):
    """Every reader-facing page of the build, both editions, opened once in the light theme."""
    ARTIFACTS.mkdir(exist_ok=True)
    if AXE.is_file() and "future" not in _DARK:
        pool = concurrent.futures.ThreadPoolExecutor(1)
        _DARK["future"] = pool.submit(dark_theme_audits_in_own_browser, built_book)
        pool.shutdown(wait=False)
    result = {}
    for address in reader_pages(built_book):
        page, visit = open_page(browser, built_book, address, theme="light")
        if address in SCREENSHOTS:
            page.screenshot(path=ARTIFACTS / SCREENSHOTS[address], full_page=True)
        visit.seen["theme"] = page.evaluate("document.documentElement.dataset.theme")
        visit.seen["overflow"] = page.evaluate(OVERFLOW)
        visit.seen["axe"] = audit(page) if AXE.is_file() else None
        page.context.close()
        result[address] = visit
    return result


@pytest.fixture(scope="session")
def dark_audits(browser, built_book, chinese_book, axe_available):
    """axe-core's findings on every reader-facing page in the dark theme: address -> (theme, findings)."""
    if "future" in _DARK:  # started with the light visits
        return _DARK["future"].result()
    return dark_theme_audits(browser, built_book)


def failures(visits, check):
    return {address: problem for address, visit in visits.items() if (problem := check(visit))}


def test_every_chapter_page_is_visited(visits):
    missing = {"book/intro.html", "zh_CN/book/intro.html", *NOTEBOOK_PAGES} - set(visits)
    assert not missing, f"pages missing from the build: {sorted(missing)}"


def test_pages_raise_no_javascript_errors(visits):
    bad = failures(visits, lambda visit: visit.errors)
    assert not bad, f"JavaScript console errors: {bad}"


def test_pages_load_nothing_from_the_network(visits):
    bad = failures(visits, lambda visit: visit.refused)
    assert not bad, f"pages asked for files outside the build (they would not load offline): {bad}"


def test_every_image_loads(visits):
    bad = failures(visits, lambda visit: visit.seen["brokenImages"])
    assert not bad, f"images that did not load (naturalWidth 0): {bad}"


def test_math_is_typeset_wherever_a_page_has_math(visits):
    bad = failures(visits, lambda visit: visit.seen["untypeset"] or visit.seen["mathErrors"])
    assert not bad, f"math left as raw LaTeX, or TeX errors, by page: {bad}"


def test_walkthrough_math_is_typeset_by_the_local_mathjax(visits):
    seen = visits["book/code_walkthrough.html"].seen
    assert seen["math"] > 0, (
        "the walkthrough has math (for example $7 \\times 3 = 21$), but no math element was found"
    )
    assert seen["typeset"] >= seen["math"], (
        f"MathJax typeset {seen['typeset']} of {seen['math']} math elements"
    )


def test_no_error_output_or_log_noise_reaches_a_reader(visits):
    def problems(visit):
        noise = [word for word in NOISE if word in visit.seen["text"]]
        return visit.seen["errorOutputs"] + [f"page text contains {word!r}" for word in noise]

    bad = failures(visits, problems)
    assert not bad, f"error output or library log noise on the page: {bad}"


@pytest.mark.parametrize("address", NOTEBOOK_PAGES)
def test_launch_buttons_open_the_pages_own_notebook(visits, address):
    notebook = address.removesuffix(".html") + ".ipynb"
    assert address in visits, f"{notebook} has no page in the build; is it in _toc.yml?"
    links = visits[address].seen["launchLinks"]
    assert links, (
        f"{address} has no launch buttons (Colab, Binder); set `repository.url` and `launch_buttons` "
        "in _config.yml so readers can run the chapter"
    )
    wrong = [link for link in links if not urllib.parse.unquote(link).endswith("/" + notebook)]
    assert not wrong, f"{address}: launch links that do not open {notebook}: {wrong}"
    # They open the reader notebook: the branch the book workflow publishes them on.
    branch = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["branch"]
    elsewhere = [link for link in links if f"/{branch}/" not in link and f"/{branch}?" not in link]
    assert not elsewhere, f"{address}: launch links not on the {branch!r} branch: {elsewhere}"


# The chapter whose reader notebook the browser opens: it glues numbers, cites and has solutions.
READER_CHAPTER = "background"
BIBLIOGRAPHY = (
    yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["baseurl"].rstrip("/")
    + "/book/bibliography.html#"
)


def test_a_reader_notebook_shows_numbers_links_and_collapsed_solutions(
    browser, built_book, tmp_path
):
    """The reader notebook as JupyterLab draws it (nbconvert's lab template), in Chromium."""
    notebook = built_book.parent / "notebooks" / f"{READER_CHAPTER}.ipynb"
    assert notebook.is_file(), f"the build wrote no reader notebook {notebook.name}"
    converted = subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", "--template", "lab"]
        + ["--output-dir", str(tmp_path), str(notebook)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert converted.returncode == 0, converted.stderr[-3000:]
    chapter_page = (built_book / "book" / f"{READER_CHAPTER}.html").read_text()
    glued = [html.unescape(v) for v in re.findall(r'class="pasted-text">([^<]+)<', chapter_page)]
    assert glued, f"the {READER_CHAPTER} page shows no glued value"
    anchors = set(
        re.findall(r'id="([^"]+)"', (built_book / "book" / "bibliography.html").read_text())
    )

    page, _ = open_page(browser, tmp_path, (tmp_path / f"{READER_CHAPTER}.html").as_uri())
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "reader_notebook.png", full_page=True)
    shown = page.inner_text("body")
    citations = page.evaluate(
        """(prefix) => Array.from(document.querySelectorAll("a[href]"))
            .filter((a) => a.href.startsWith(prefix) && a.getClientRects().length > 0)
            .map((a) => ({href: a.href, text: a.innerText}))""",
        BIBLIOGRAPHY,
    )
    solutions = page.evaluate(
        """() => Array.from(document.querySelectorAll("details"), (d) => ({
            open: d.open,
            summary: d.querySelector("summary")?.innerText,
            hidden: Array.from(d.children).filter((c) => c.tagName !== "SUMMARY")
                .every((c) => !c.checkVisibility()),
        }))"""
    )
    page.locator("details summary").first.click()
    opened = page.evaluate(
        """() => document.querySelector("details").open
            && document.querySelector("details > :not(summary)").checkVisibility()"""
    )
    page.context.close()

    assert glued[0] in shown, f"the page shows {glued[0]!r}; the notebook does not"
    assert "{glue" not in shown and "{cite}" not in shown and ":::" not in shown
    assert citations, f"no visible link to {BIBLIOGRAPHY}..."
    assert all(c["href"].split("#", 1)[1] in anchors for c in citations), citations
    assert all(re.search(r"\b(19|20)\d\d\b", c["text"]) for c in citations), citations
    assert solutions, "the reader notebook holds no <details> (solutions)"
    assert all(not s["open"] and s["summary"] and s["hidden"] for s in solutions), solutions
    assert opened, "clicking the solutions' summary did not open them"


def search_finished(page):
    page.wait_for_function(
        "() => document.querySelector('#search-results .search-summary')?.textContent.length > 0",
        timeout=30_000,
    )


def test_search_finds_fusion(browser, built_book):
    ARTIFACTS.mkdir(exist_ok=True)
    page, visit = open_page(browser, built_book, "search.html?q=fusion", ready=search_finished)
    results = page.locator("#search-results ul.search > li")
    count = results.count()
    found = [results.nth(index).inner_text() for index in range(count)]
    summary = page.locator("#search-results .search-summary").inner_text()
    page.screenshot(path=ARTIFACTS / "search_fusion.png", full_page=True)
    page.context.close()
    assert count > 0, f"searching for 'fusion' found nothing: {summary!r}"
    assert any("fusion" in text.lower() for text in found), f"no result mentions fusion: {found}"
    assert not visit.errors, f"JavaScript console errors on the search page: {visit.errors}"
    assert not visit.refused, f"the search page asked for files outside the build: {visit.refused}"


def test_the_chinese_search_finds_a_chinese_word(browser, built_book, chinese_book):
    """Sphinx indexes the Chinese pages' words with jieba; without it only Latin words are found."""
    word = "正文"  # in the intro's note that code stays English, translated in every branch
    page, visit = open_page(
        browser,
        built_book,
        f"zh_CN/search.html?q={urllib.parse.quote(word)}",
        ready=search_finished,
    )
    results = page.locator("#search-results ul.search > li")
    found = [results.nth(index).inner_text() for index in range(results.count())]
    page.context.close()
    assert found, f"searching the Chinese edition for {word!r} found nothing"
    assert not visit.errors, f"JavaScript console errors on the Chinese search page: {visit.errors}"


def test_index_sends_the_reader_to_the_intro(browser, built_book):
    page, visit = open_page(
        browser,
        built_book,
        "index.html",
        ready=lambda page: page.wait_for_url("**/book/intro.html"),
    )
    page.context.close()
    assert not visit.errors, f"JavaScript console errors: {visit.errors}"


def test_walkthrough_opened_from_disk_typesets_math(browser, built_book):
    """A reader who opens the file straight from disk, with no network, still sees typeset math."""
    address = (built_book / "book" / "code_walkthrough.html").resolve().as_uri()
    page, visit = open_page(browser, built_book, address)
    page.context.close()
    assert visit.seen["math"] > 0 and not visit.seen["untypeset"], (
        f"math left untypeset: {visit.seen['untypeset']}"
    )
    assert not visit.errors, f"JavaScript console errors: {visit.errors}"
    assert not visit.refused, f"the page asked for files outside the build: {visit.refused}"


def test_no_code_block_or_output_scrolls_sideways_at_1280_by_800(visits):
    bad = failures(visits, lambda visit: visit.seen["overflow"])
    count = sum(len(found) for found in bad.values())
    assert not bad, (
        f"{count} code blocks or outputs are wider than the text column at "
        f"{VIEWPORT['width']}x{VIEWPORT['height']} (format the chapters with `make format`; "
        f"keep printed lines short): {bad}"
    )


def test_no_serious_or_critical_accessibility_violation_in_the_light_theme(visits, axe_available):
    themes = {visit.seen["theme"] for visit in visits.values()}
    assert themes == {"light"}, f"the pages were not in the light theme: {themes}"
    bad = failures(visits, lambda visit: visit.seen["axe"])
    assert not bad, f"axe-core's serious or critical violations (light theme): {bad}"


def test_no_serious_or_critical_accessibility_violation_in_the_dark_theme(dark_audits):
    themes = {theme for theme, _ in dark_audits.values()}
    assert themes == {"dark"}, f"the pages were not in the dark theme: {themes}"
    bad = {address: found for address, (_, found) in dark_audits.items() if found}
    assert not bad, f"axe-core's serious or critical violations (dark theme): {bad}"
