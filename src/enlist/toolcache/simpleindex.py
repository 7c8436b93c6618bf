"""Reading a PEP 503 project page ("simple" index) (L2, pure parsing).

A project page lists one `<a>` per file: `href` is the file's URL (relative to the page or absolute), with the
file's digest in the fragment (`#sha256=<hex>`); `data-yanked` marks a withdrawn file.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(frozen=True, slots=True)
class IndexFile:
    file_name: str
    url: str  # absolute, without the fragment
    sha256: str | None
    yanked: bool


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))


def parse_project_page(html: str, page_url: str) -> list[IndexFile]:
    parser = _Anchors()
    parser.feed(html)
    files: list[IndexFile] = []
    for attrs in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        absolute, _, fragment = urllib.parse.urljoin(page_url, href).partition("#")
        name = urllib.parse.unquote(urllib.parse.urlsplit(absolute).path.rsplit("/", 1)[-1])
        match = re.search(r"(?:^|&)sha256=([0-9a-fA-F]{64})(?:&|$)", fragment)
        files.append(
            IndexFile(
                file_name=name,
                url=absolute,
                sha256=match.group(1).lower() if match else None,
                yanked="data-yanked" in attrs,
            )
        )
    return files


def project_url(index_url: str, project: str) -> str:
    """The page of `project` (PEP 503 normalised name) under `index_url`."""
    return index_url.rstrip("/") + "/" + re.sub(r"[-_.]+", "-", project).lower() + "/"
