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

Screenshots of the intro, the walkthrough and the search results go to
test-artifacts/.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import urllib.parse

import pytest

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
ORIGIN = "https://mmtutorial-book.invalid"
NOTEBOOK_PAGES = sorted(f"book/{path.stem}.html" for path in (ROOT / "book").glob("*.ipynb"))
SCREENSHOTS = {"book/intro.html": "intro.png", "book/code_walkthrough.html": "code_walkthrough.png"}
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


def open_page(browser, html, address, *, ready=None):
    """Open `address` (relative to the build, or a file:// URL) in a new profile; return the page and its Visit."""
    url = address if address.startswith("file:") else f"{ORIGIN}/{address}"
    visit = Visit(url)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
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


@pytest.fixture(scope="session")
def visits(browser, built_book):
    """Every reader-facing page of the build, opened once. Search is tested on its own."""
    ARTIFACTS.mkdir(exist_ok=True)
    pages = sorted(
        path.relative_to(built_book).as_posix()
        for path in built_book.rglob("*.html")
        if "_static" not in path.relative_to(built_book).parts and not is_redirect(path)
    )
    pages.remove("search.html")
    result = {}
    for address in pages:
        page, visit = open_page(browser, built_book, address)
        if address in SCREENSHOTS:
            page.screenshot(path=ARTIFACTS / SCREENSHOTS[address], full_page=True)
        page.context.close()
        result[address] = visit
    return result


def failures(visits, check):
    return {address: problem for address, visit in visits.items() if (problem := check(visit))}


def test_every_chapter_page_is_visited(visits):
    missing = {"book/intro.html", *NOTEBOOK_PAGES} - set(visits)
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


def test_search_finds_fusion(browser, built_book):
    ARTIFACTS.mkdir(exist_ok=True)

    def search_finished(page):
        page.wait_for_function(
            "() => document.querySelector('#search-results .search-summary')?.textContent.length > 0",
            timeout=30_000,
        )

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
