"""A mkdocs hook: ``docs/changelog.md`` shows the repository's ``CHANGELOG.md``.

The marker `MARKER` in ``docs/changelog.md`` is replaced with ``CHANGELOG.md``
(beside ``mkdocs.yml``). Its links are written for the repository: a link to
``docs/PAGE.md`` becomes a link to that page of the site, and a link to any
other file of the repository (which the site does not hold) becomes its text
and path, so that ``mkdocs build --strict`` finds no broken link.

Registered in ``mkdocs.yml``::

    hooks:
      - docs/hooks/changelog.py
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["MARKER", "PAGE", "on_page_markdown", "site_links"]

MARKER = "<!-- changelog -->"
"""The line of ``docs/changelog.md`` that ``CHANGELOG.md`` replaces."""

PAGE = "changelog.md"
"""The page, relative to ``docs/``, that holds `MARKER`."""

_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)")


def site_links(markdown: str) -> str:
    """`markdown`'s repository links as links of the site (``docs/x.md`` -> ``x.md``).

    Examples:
        >>> site_links("[q](docs/quality.md#a) [b](bench/x.py) [w](https://x.org/a.md)")
        '[q](quality.md#a) b (`bench/x.py`) [w](https://x.org/a.md)'
    """

    def relink(match: re.Match[str]) -> str:
        target = match["target"]
        if re.match(r"^([a-z][a-z0-9+.-]*:|#|/)", target):  # a URL, an anchor, absolute
            return match[0]
        if target.startswith("docs/"):
            return f"[{match['text']}]({target.removeprefix('docs/')})"
        return f"{match['text']} (`{target}`)"

    return _LINK.sub(relink, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, **kwargs: Any) -> str:
    """Replace `MARKER` on `PAGE` with ``CHANGELOG.md`` (mkdocs' page hook).

    Raises:
        ValueError: when `PAGE` lacks `MARKER` (the changelog would be missing).
    """
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"docs/{PAGE} lacks the marker {MARKER}")
    changelog = Path(config["config_file_path"]).parent / "CHANGELOG.md"
    return markdown.replace(MARKER, site_links(changelog.read_text(encoding="utf-8")))
