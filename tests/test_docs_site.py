"""The docs site as a reader gets it: built strictly, every link and picture there, opened in a browser.

The site is built once (``mkdocs build --strict``). Every page's links to other
pages (and their anchors), pictures, stylesheets and scripts must exist in the
built site, and none is fetched from the network. Then a real browser (headless
Chromium, where the system has one) opens the home page and the first-hour
page: every picture on them must load and decode, and each page's screenshot is
written (under ``MUSEGEN_SITE_SHOTS`` when set, to look at).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class _Page(HTMLParser):
    """The links, pictures and element ids of one built page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []  # pictures, and what a page loads: stylesheets, scripts
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        if tag in ("img", "script") and found.get("src"):
            self.images.append(str(found["src"]))
        if tag == "link" and found.get("rel") == "stylesheet" and found.get("href"):
            self.images.append(str(found["href"]))


def _read(page: Path) -> _Page:
    parsed = _Page()
    parsed.feed(page.read_text(encoding="utf-8"))
    return parsed


def _target(page: Path, url: str) -> tuple[Path, str] | None:
    """The built file a relative URL of `page` names, and its anchor; None for other sites."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("mailto:"):
        return None
    if not parts.path:
        return page, parts.fragment
    target = (page.parent / unquote(parts.path)).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, parts.fragment


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return folder


def test_every_link_anchor_and_picture_of_every_page_is_there(site: Path) -> None:
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")  # its links: any depth
    assert site / "index.html" in pages and site / "first-hour" / "index.html" in pages
    parsed = {page.resolve(): _read(page) for page in pages}
    broken = []
    for page, found in parsed.items():
        for url, kind in [(u, "link") for u in found.links] + [
            (u, "file it loads") for u in found.images
        ]:
            target = _target(page, url)
            if target is None:
                continue
            path, anchor = target
            if not path.is_file():
                broken.append(f"{page.relative_to(site.resolve())}: {kind} {url} (no such file)")
            elif anchor and path.suffix == ".html" and kind == "link":
                ids = parsed[path].ids if path in parsed else _read(path).ids
                if anchor not in ids:
                    broken.append(f"{page.relative_to(site.resolve())}: {url} (no #{anchor})")
    assert broken == [], "\n".join(broken)


def test_the_site_fetches_nothing_from_the_network(site: Path) -> None:
    """Fonts and scripts come with the site: it reads offline and tells no one it was read."""
    fetched = set()
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fetched |= set(
            re.findall(r'<(?:link|script|img)[^>]+(?:href|src)="(https?://[^"]+)"', text)
        )
    assert fetched == set()


def _browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


_CHECK = """<script>
window.addEventListener("load", () => {
  const missing = [];
  for (const img of document.images) {
    if (!img.complete || img.naturalWidth === 0) missing.push(img.getAttribute("src"));
  }
  const out = document.createElement("pre");
  out.id = "musegen-check";
  out.textContent = "MISSING:" + JSON.stringify(missing);
  document.body.appendChild(out);
});
</script>"""


def _chromium(*options: str, profile: Path) -> subprocess.CompletedProcess[str]:
    command = [str(_browser()), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               f"--user-data-dir={profile}", "--virtual-time-budget=5000", *options]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(_browser() is None, reason="no headless Chromium (apt install chromium)")
@pytest.mark.parametrize("page", ["index.html", "first-hour/index.html"])
def test_a_browser_shows_the_page_with_every_picture(site: Path, page: str, tmp_path) -> None:
    built = site / page
    checked = built.with_name("checked.html")  # beside it: the same relative paths
    checked.write_text(
        built.read_text(encoding="utf-8").replace("</body>", _CHECK + "</body>"), encoding="utf-8"
    )
    try:
        dom = _chromium("--dump-dom", checked.as_uri(), profile=tmp_path / "profile").stdout
    finally:
        checked.unlink()
    said = re.search(r"MISSING:(\[.*?\])</pre>", dom)
    assert said is not None, dom[-2000:]  # the page loaded and its script ran
    assert said.group(1) == "[]"
    pictures = _read(built).images
    assert any(p.endswith(".png") for p in pictures), "each of these pages shows a picture"
    shots = Path(os.environ.get("MUSEGEN_SITE_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / (page.replace("/index.html", "").replace(".html", "") + ".png")
    options = ("--hide-scrollbars", "--window-size=1280,4000", f"--screenshot={shot}")
    opened = _chromium(*options, built.as_uri(), profile=tmp_path / "profile")
    assert shot.is_file() and shot.stat().st_size > 20_000, opened.stderr[-2000:]
