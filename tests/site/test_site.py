"""The built site in a real browser: every page of ``_toc.yml`` as a reader gets it.

Playwright drives Debian's ``chromium`` (``apt-get install chromium``; Playwright's own
browser download is not used) against the site served on 127.0.0.1, with every
request that would leave the site blocked and recorded. ``make test`` runs this on
the site it built from the notebooks nbmake executed::

    python -m pytest tests/site --site _site-test/_build/html

Each page is loaded once, at 1280 px wide; the tests below read what was recorded.
Full-page screenshots go to ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "_build" / "screenshots"
WIDTH = 1280


def toc_pages() -> list[str]:
    """Every page of the book, in the order of ``_toc.yml`` (docnames, no suffix)."""
    pages: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("file", "root") and isinstance(value, str):
                    pages.append(os.path.splitext(value)[0])
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8")))
    return pages


PAGES = toc_pages()
NOTEBOOK_PAGES = [p for p in PAGES if (ROOT / f"{p}.ipynb").is_file()]
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))["repository"]


def find_chromium() -> str | None:
    """Debian's chromium, or $CNNLAB_CHROMIUM: an executable, or ``playwright`` for the
    browser that ``python -m playwright install chromium`` downloads (None here)."""
    wanted = os.environ.get("CNNLAB_CHROMIUM")
    if wanted == "playwright":
        return None
    for candidate in (wanted, "chromium", "chromium-browser"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    pytest.fail("The browser test needs Chromium: `apt-get install chromium` (Debian), or set "
                "CNNLAB_CHROMIUM to a Chromium executable (or to `playwright` after "
                "`python -m playwright install chromium`).", pytrace=False)


@pytest.fixture(scope="module")
def site(request) -> Path:
    path = request.config.getoption("--site")
    if not path:
        pytest.skip("no built site: `make test` builds one and passes --site")
    path = Path(path).resolve()
    if not (path / "index.html").is_file():
        pytest.fail(f"--site {path} has no index.html: build it first (make test does)",
                    pytrace=False)
    return path


@pytest.fixture(scope="module")
def base_url(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), headless=True)
        yield browser
        browser.close()


# What the page does in the browser, measured once MathJax has typeset it.
_MEASURE = """() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const column = article.getBoundingClientRect().width;
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, .highlight, script, style, mjx-container, .cell_input')
       .forEach(e => e.remove());
  const overflowing = [];
  for (const el of article.querySelectorAll('table, .cell_output, .cell_output pre, .output')) {
    const box = el.getBoundingClientRect().width;
    const clipped = el.tagName === 'PRE' && el.scrollWidth > el.clientWidth + 1;
    if (box > column + 1 || clipped) {
      overflowing.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')}: ` +
        `${Math.round(box)} px box, ${el.scrollWidth} px content, column ${Math.round(column)} px: ` +
        el.textContent.trim().slice(0, 60));
    }
  }
  // What a reader reads as prose: block code (code cells, their printed text, code
  // examples) and math removed, inline code kept (a role inside a code literal shows there).
  const prose = article.cloneNode(true);
  prose.querySelectorAll('pre, .highlight, script, style, mjx-container, .cell_input')
       .forEach(e => e.remove());
  return {
    title: document.title,
    text: clone.innerText,
    prose: prose.innerText,
    cellOutputs: [...article.querySelectorAll('.cell_output')].map(e => e.innerText),
    rawMath: [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container'))
               .map(e => e.textContent.slice(0, 60)),
    typeset: document.querySelectorAll('mjx-container').length,
    images: [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
    cellFigures: article.querySelectorAll('.cell_output img').length,
    sidebar: [...document.querySelectorAll('nav.bd-docs-nav a.reference.internal, .navbar-brand')]
               .map(a => a.href),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    overflowing: overflowing,
  };
}"""


# Markup that MyST did not parse: a role or directive a reader sees as raw text, e.g.
# ``{glue:text}`` written inside a code literal, or a fence that was never closed.
RAW_MARKUP = re.compile(r"\{(?:glue|cite|ref|numref|eq|doc|download|term|index)(?::[a-z-]+)?\}"
                        r"|\{[a-z][a-z-]*\}`|^\s*:::|```", re.MULTILINE)
# What a cell printed that a reader should never see: a traceback, or a warning line
# from the warnings module ("file.py:12: UserWarning: ...").
PRINTED_PROBLEM = re.compile(r"Traceback \(most recent call last\)|^.*\b\w*Warning: .*$",
                             re.MULTILINE)


def raw_markup(text: str) -> list[str]:
    """Each line of ``text`` that shows unparsed MyST markup."""
    return [line.strip()[:100] for line in text.splitlines() if RAW_MARKUP.search(line)]


def printed_problems(text: str) -> list[str]:
    """Each traceback or warning line in ``text`` (a cell's printed output)."""
    return [m.group(0).strip()[:120] for m in PRINTED_PROBLEM.finditer(text)]


def notebook_output_texts(nb: dict) -> list[str]:
    """Every output of a notebook as text: streams (stdout and stderr, which the pages
    drop), error tracebacks and plain-text results."""
    texts = []
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                texts.append("".join(out.get("text", "")))
            elif out.get("output_type") == "error":
                texts.append("Traceback (most recent call last)\n" + "\n".join(out.get("traceback", [])))
            else:
                plain = out.get("data", {}).get("text/plain", "")
                texts.append(plain if isinstance(plain, str) else "".join(plain))
    return texts


@pytest.fixture(scope="module")
def visit(browser, base_url):
    """Load a page once (cached): console and page errors, requests leaving the site,
    the measurements above, and a full-page screenshot."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    cache: dict[str, dict] = {}

    def load(page_name: str) -> dict:
        if page_name in cache:
            return cache[page_name]
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        record = {"console": [], "errors": [], "outside": [], "failed": []}
        page.on("console", lambda m: record["console"].append(f"{m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: record["errors"].append(str(e)))
        page.on("requestfailed", lambda r: record["failed"].append(f"{r.url} ({r.failure})")
                if urlparse(r.url).hostname == "127.0.0.1" else None)

        def guard(route):
            if urlparse(route.request.url).hostname in ("127.0.0.1", None) \
                    or route.request.url.startswith("data:"):
                route.continue_()
            else:
                record["outside"].append(route.request.url)
                route.abort()

        page.route("**/*", guard)
        response = page.goto(urljoin(base_url, f"{page_name}.html"), wait_until="networkidle")
        record["status"] = response.status if response else None
        page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.wait_for_load_state("networkidle")
        record.update(page.evaluate(_MEASURE))
        record["url"] = page.url
        page.screenshot(path=str(SCREENSHOTS / f"{page_name.replace('/', '--')}.png"),
                        full_page=True)
        page.close()
        cache[page_name] = record
        return record

    return load


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_errors(visit, page):
    r = visit(page)
    assert r["status"] == 200, f"{page}: HTTP {r['status']}"
    assert not r["errors"], f"{page}: page errors {r['errors']}"
    assert not r["console"], f"{page}: console messages {r['console']}"
    assert not r["failed"], f"{page}: requests that failed {r['failed']}"


@pytest.mark.parametrize("page", PAGES)
def test_no_request_leaves_the_site(visit, page):
    assert not visit(page)["outside"], f"{page} asked the network for {visit(page)['outside']}"


@pytest.mark.parametrize("page", PAGES)
def test_sidebar_lists_every_page(visit, base_url, page):
    linked = {urlparse(href).path.lstrip("/").removesuffix(".html") for href in visit(page)["sidebar"]}
    linked = {"book/intro" if p in ("", "index") else p for p in linked}
    missing = [p for p in PAGES if p not in linked]
    assert not missing, f"{page}: the sidebar lacks {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset(visit, page):
    r = visit(page)
    assert not r["rawMath"], f"{page}: math left as TeX {r['rawMath']}"
    leftovers = re.findall(r"\\\(|\\\[|\$[^$\s][^$\n]*\$", r["text"])
    assert not leftovers, f"{page}: TeX delimiters in the visible text: {leftovers[:5]}"


@pytest.mark.parametrize("page", PAGES)
def test_no_raw_markup_in_the_text(visit, page):
    raw = raw_markup(visit(page)["prose"])
    assert not raw, f"{page}: MyST markup shown as text (a role inside a code literal?):\n" \
        + "\n".join(raw)


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_cells_print_no_warning_or_traceback(visit, site, page):
    """Neither the page's cell outputs nor its notebook (the .ipynb download, whose
    stderr the page drops) show a warning or a traceback."""
    shown = [p for text in visit(page)["cellOutputs"] for p in printed_problems(text)]
    assert not shown, f"{page}: cell outputs show\n" + "\n".join(shown)
    source = site / "_sources" / f"{page}.ipynb"
    if source.is_file():
        nb = json.loads(source.read_text(encoding="utf8"))
        printed = [p for text in notebook_output_texts(nb) for p in printed_problems(text)]
        assert not printed, f"{page}.ipynb: cells print\n" + "\n".join(printed)


@pytest.mark.parametrize("page", PAGES)
def test_every_image_loads(visit, page):
    broken = [i["src"] for i in visit(page)["images"] if not i["ok"]]
    assert not broken, f"{page}: images that did not load {broken}"


@pytest.mark.parametrize("page", PAGES)
def test_nothing_is_wider_than_the_column(visit, page):
    wide = visit(page)["overflowing"]
    assert not wide, f"{page}: wider than the text column at {WIDTH} px:\n" + "\n".join(wide)


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_chapter_shows_a_figure_from_its_cells(visit, page):
    assert visit(page)["cellFigures"] > 0, f"{page}: no figure in the cells' outputs"


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_launch_buttons_open_this_notebook(visit, page):
    repo = urlparse(REPOSITORY["url"]).path.strip("/")
    branch = REPOSITORY.get("branch", "main")
    links = visit(page)["links"]
    colab = [h for h in links if "colab.research.google.com" in h]
    binder = [h for h in links if "mybinder.org" in h]
    assert colab == [f"https://colab.research.google.com/github/{repo}/blob/{branch}/{page}.ipynb"]
    assert len(binder) == 1 and binder[0].startswith(f"https://mybinder.org/v2/gh/{repo}/{branch}?")
    assert binder[0].endswith(f"{page}.ipynb"), binder[0]


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_notebook_downloads_as_ipynb(browser, visit, base_url, page):
    sources = [h for h in visit(page)["links"] if h.endswith(f"_sources/{page}.ipynb")]
    assert sources, f"{page}: no .ipynb download link"
    context = browser.new_context()
    try:
        response = context.request.get(sources[0])
        assert response.status == 200
        nb = response.json()
        assert nb["nbformat"] == 4 and any(c["cell_type"] == "code" for c in nb["cells"])
    finally:
        context.close()


# The checks themselves, on small pages (no built site needed; Chromium is).
_PLANTED = """<article class="bd-article">
<p>Under the profile <code class="docutils literal notranslate"><span class="pre">{glue:text}</span></code>resnet_profile`` this run reached 0.9.</p>
<p>As {cite}`he2016deep` shows.</p>
<div class="cell docutils container"><div class="cell_input docutils container">
<div class="highlight"><pre>glue("x", 1)  # {glue:text}`x` in a comment\n```</pre></div></div>
<div class="cell_output docutils container"><div class="output stream highlight-myst-ansi notranslate">
<div class="highlight"><pre>/x/quant.py:12: DeprecationWarning: torch.ao.quantization is deprecated
epoch 1</pre></div></div></div></div>
</article>"""
_CLEAN = """<article class="bd-article">
<p>Under the profile <code>quick</code> this run reached 0.9 (a set: <code>{1, 2}</code>).</p>
<div class="highlight-python notranslate"><div class="highlight"><pre>```python
{glue:text}`x`
:::</pre></div></div>
<div class="cell_output docutils container"><div class="output stream"><pre>epoch 1: warning-free</pre></div></div>
</article>"""


def _measure_html(browser, html: str) -> dict:
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    try:
        page.set_content(html)
        return page.evaluate(_MEASURE)
    finally:
        page.close()


def test_raw_markup_check_sees_roles_in_code_literals_not_in_code_blocks(browser):
    planted = raw_markup(_measure_html(browser, _PLANTED)["prose"])
    assert len(planted) == 2 and "{glue:text}" in planted[0] and "{cite}`" in planted[1], planted
    assert raw_markup(_measure_html(browser, _CLEAN)["prose"]) == []


def test_printed_problem_check_sees_warnings_and_tracebacks(browser):
    outputs = _measure_html(browser, _PLANTED)["cellOutputs"]
    assert [p for t in outputs for p in printed_problems(t)] == \
        ["/x/quant.py:12: DeprecationWarning: torch.ao.quantization is deprecated"]
    assert [p for t in _measure_html(browser, _CLEAN)["cellOutputs"] for p in printed_problems(t)] == []
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "name": "stderr", "text": ["a.py:1: FutureWarning: soon\n"]},
        {"output_type": "error", "ename": "ValueError", "evalue": "x", "traceback": ["ValueError: x"]},
        {"output_type": "stream", "name": "stdout", "text": "epoch 1 loss 0.3\n"}]}]}
    found = [p for t in notebook_output_texts(nb) for p in printed_problems(t)]
    assert found == ["a.py:1: FutureWarning: soon", "Traceback (most recent call last)"], found
