"""The course's website (`make book`) in a real browser: every page, image, link, audio player and formula works.

The test builds the site from the committed notebooks into a temporary folder (as `make book` does, offline),
serves it on 127.0.0.1 and opens every page in headless Chromium (Debian's, at /usr/bin/chromium; never
`playwright install`). On each page it asserts: no request failed or answered an error (pages, pictures, styles,
scripts, fonts); every picture decoded; every link inside the site leads to a page that exists, and to the
anchor it names; every audio player has a source that decodes to a clip longer than zero seconds; MathJax rendered
every formula without an error. It saves a screenshot of each page in artifacts/book/ (not in git).
"""
from __future__ import annotations

import functools
import http.server
import os
import threading
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterator

import nbformat
import pytest

from ganlib import book
from ganlib.notebook_files import lesson_paths

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "artifacts" / "book"
CHROMIUM = Path("/usr/bin/chromium")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(f"{CHROMIUM} not found; install it with `apt-get install chromium`", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing; `pip install -r requirements.txt`")

AUDIO_DURATIONS_JS = """() => Promise.all([...document.querySelectorAll('audio')].map(audio => new Promise(done => {
    const report = () => done({src: (audio.currentSrc || '').slice(0, 40), duration: audio.duration,
                               error: audio.error ? audio.error.code : null});
    if (audio.readyState >= 1 || audio.error) return report();
    audio.addEventListener('loadedmetadata', report); audio.addEventListener('error', report);
    audio.preload = 'metadata'; audio.load(); setTimeout(report, 10000);
})))"""
MATH_JS = """async () => {
    if (!document.querySelector('.math')) return {formulas: 0};
    await window.MathJax.startup.promise;
    const formulas = [...document.querySelectorAll('.math')];
    return {formulas: formulas.length,
            unrendered: formulas.filter(f => !f.querySelector('mjx-container')).map(f => f.textContent.slice(0, 60)),
            errors: [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error'))};
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> book.BookBuild:
    """The site, built from the committed notebooks into a temporary folder."""
    folder = tmp_path_factory.mktemp("book")
    return book.build(out_dir=folder / "out", source_dir=folder / "source")


@pytest.fixture(scope="module")
def server(site) -> Iterator[str]:
    """The site served on a free local port; yields its base URL."""
    handler = functools.partial(QuietHandler, directory=str(site.html_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that does not print a line per request."""

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Headless Chromium."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


def test_the_site_has_a_page_per_lesson_in_order_and_the_guides(site):
    names = [page.relative_to(site.html_dir).as_posix() for page in site.pages]
    lessons = [f"notebooks/{path.stem}.html" for path in lesson_paths()]
    assert names == ["README.html", *lessons, "docs/instructor-guide.html", "CONTRIBUTING.html"]
    assert len(lessons) == 7
    print(f"site: {len(names)} pages, {site.size_bytes / 1e6:.1f} MB, built in {site.seconds:.0f} s")


def internal_targets(page, base: str) -> set[str]:
    """Absolute URLs of the links on the page that stay inside the site."""
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    return {href for href in hrefs if href.startswith(base)}


def link_works(target: str, cache: dict[str, set[str] | None]) -> bool:
    """Whether the file at target (a URL in the site, maybe with #fragment) exists and has the id the fragment names."""
    address, _, fragment = target.partition("#")
    if address not in cache:
        try:
            with urllib.request.urlopen(address, timeout=10) as response:
                cache[address] = set(re.findall(r'\bid="([^"]+)"', response.read().decode("utf-8", "replace")))
        except (urllib.error.URLError, OSError):
            cache[address] = None
    ids = cache[address]
    return ids is not None and (not fragment or urllib.parse.unquote(fragment) in ids)


def test_every_page_works_in_a_browser(site, server, browser):
    """Pictures decode, links lead somewhere, audio plays, formulas render, nothing fails to load."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems, anchors, counts = [], {}, {"images": 0, "audio": 0, "formulas": 0, "links": 0}
    for html in site.pages:
        name = html.relative_to(site.html_dir).as_posix()
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        failed = []
        page.on("requestfailed", lambda request, failed=failed: failed.append(f"{request.url[:80]} failed"))
        page.on("response", lambda r, failed=failed: r.status >= 400 and failed.append(f"{r.url[:80]}: {r.status}"))
        page.goto(server + name, wait_until="networkidle")
        problems += [f"{name}: {problem}" for problem in failed]
        broken = page.eval_on_selector_all("img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0)"
                                                  ".map(i => i.src.slice(0, 80))")
        problems += [f"{name}: picture did not decode: {src}" for src in broken]
        links = internal_targets(page, server)
        problems += [f"{name}: broken link {link}" for link in sorted(links) if not link_works(link, anchors)]
        players = page.evaluate(AUDIO_DURATIONS_JS)
        problems += [f"{name}: audio does not play: {player}" for player in players
                     if player["error"] is not None or not player["duration"] > 0]
        math = page.evaluate(MATH_JS)
        problems += [f"{name}: formula not rendered: {text}" for text in math.get("unrendered", [])]
        problems += [f"{name}: MathJax error: {error}" for error in math.get("errors", [])]
        page.screenshot(path=str(SCREENSHOTS / (name.replace("/", "_").replace(".html", ".png"))))
        counts["images"] += page.eval_on_selector_all("img", "imgs => imgs.length")
        counts["audio"], counts["formulas"] = counts["audio"] + len(players), counts["formulas"] + math["formulas"]
        counts["links"] += len(links)
        page.close()
    print(f"checked {counts}")
    assert not problems, "\n".join(problems[:40])
    assert counts["audio"] >= 30 and counts["formulas"] >= 100 and counts["images"] >= 50, counts


def picture_outputs(lesson: Path) -> tuple[int, int]:
    """(Outputs with a picture, widget outputs) in a committed notebook."""
    notebook = nbformat.read(lesson, as_version=4)
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    pictures = sum("image/png" in output.get("data", {}) for output in outputs)
    return pictures, sum(WIDGET_VIEW in output.get("data", {}) for output in outputs)


def test_every_output_picture_is_on_the_site_widgets_included(site):
    """A widget has no kernel on a website: its page shows the picture the widget output carries instead."""
    widgets = 0
    for lesson in lesson_paths():
        html = (site.html_dir / "notebooks" / f"{lesson.stem}.html").read_text()
        pictures, widget_outputs = picture_outputs(lesson)
        widgets += widget_outputs
        assert WIDGET_VIEW not in html and "jupyter-widgets" not in html, lesson.name
        assert html.count("<img") >= pictures, f"{lesson.name}: {pictures} pictures, {html.count('<img')} on the page"
    assert widgets >= 5
