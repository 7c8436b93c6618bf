"""Feeds: where package files come from (L2, slow path only: it leads to requests).

A `Feed` resolves a package to pins (`enlist lock`) and fetches a pinned file (`enlist restore`):
- `FolderFeed`: a directory or file share; `url` is a path (relative to the enlistment root) or a file:// URL;
- `HttpFeed`: an HTTP(S) server; files at `<url>/<path>`; lock downloads each file once to hash it (and keeps
  it);
- `PypiFeed`: a PEP 503 index (pip's configured index unless the feed gives `url`); lock takes each platform's
  best wheel and its sha256 from the project page; restore finds the file on that page again, checks the index
  still gives the pinned sha256, and downloads it from wherever the page points.
Every fetched byte is checked against the pin by the caller before it is stored.
"""

from __future__ import annotations

import hashlib
import threading
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from enlist import digest
from enlist.errors import ConfigError, FeedError, IntegrityError
from enlist.model.packages import (
    ANY_PLATFORM,
    FeedKind,
    FeedSpec,
    PackagesConfig,
    PackageSpec,
    Pin,
    version_key,
)
from enlist.packagesfile import expand_file, normalize_name, platform_specific
from enlist.toolcache import pipconfig, platforms
from enlist.toolcache.events import Transfer
from enlist.toolcache.http import HttpClient, redact, split_credentials
from enlist.toolcache.simpleindex import IndexFile, parse_project_page, project_url
from enlist.toolcache.store import Store


class Feed(Protocol):
    spec: FeedSpec

    def resolve(self, package: PackageSpec, wanted: Sequence[str], store: Store) -> list[Pin]:
        """Pins of `package` for the platforms `wanted` (one `any` pin when one file serves them all)."""
        ...

    def fetch(self, pin: Pin, part: Path, transfer: Transfer) -> str:
        """Write the pinned file into `part` (resuming what is there if possible); return its sha256."""
        ...

    def reach(self, pin: Pin) -> None:
        """Check that the feed serves `pin`'s file, cheaply (no download); FeedError if it does not."""
        ...


def _label(package: PackageSpec, platform: str) -> str:
    return f"{package.name} {package.version} ({platform})"


def _files(package: PackageSpec, wanted: Sequence[str]) -> list[tuple[str, str]]:
    assert package.file is not None
    if not platform_specific(package):
        return [(ANY_PLATFORM, expand_file(package.file, package, ANY_PLATFORM))]
    return [(p, expand_file(package.file, package, p)) for p in wanted]


class FolderFeed:
    def __init__(self, spec: FeedSpec, root: Path) -> None:
        self.spec = spec
        assert spec.url is not None
        url = spec.url
        if url.startswith("file:"):
            url = urllib.request.url2pathname(urllib.parse.urlsplit(url).path)
        self.base = root / url

    def _source(self, rel: str, what: str) -> Path:
        source = self.base / rel
        if not source.is_file():
            raise FeedError(
                f"feed '{self.spec.name}' has no file {rel} (for {what})",
                hint=f"check the version and the feed folder {self.base}",
            )
        return source

    def resolve(self, package: PackageSpec, wanted: Sequence[str], store: Store) -> list[Pin]:
        pins = []
        for platform, rel in _files(package, wanted):
            source = self._source(rel, _label(package, platform))
            pins.append(
                Pin(package.name, package.version, platform, self.spec.name, rel, digest.of_file(source))
            )
        return pins

    def reach(self, pin: Pin) -> None:
        self._source(pin.url, f"{pin.package} {pin.version}")

    def fetch(self, pin: Pin, part: Path, transfer: Transfer) -> str:
        source = self._source(pin.url, f"{pin.package} {pin.version}")
        transfer.total(source.stat().st_size)
        h = hashlib.sha256()
        done = 0
        with source.open("rb") as src, part.open("wb") as out:
            while chunk := src.read(digest.CHUNK):
                out.write(chunk)
                h.update(chunk)
                done += len(chunk)
                transfer.progress(done)
        return h.hexdigest()


class HttpFeed:
    def __init__(self, spec: FeedSpec, client: HttpClient) -> None:
        self.spec = spec
        assert spec.url is not None
        base, self.credentials = split_credentials(spec.url, spec.name)
        self.base = base.rstrip("/") + "/"
        self.client = client

    def url_of(self, rel: str) -> str:
        return urllib.parse.urljoin(self.base, urllib.parse.quote(rel))

    def resolve(self, package: PackageSpec, wanted: Sequence[str], store: Store) -> list[Pin]:
        pins = []
        for platform, rel in _files(package, wanted):
            part = store.temp_path("lock")
            try:
                with store.faults():
                    sha256 = self.client.download(self.url_of(rel), part, self.credentials)
                store.commit_blob(part, sha256, sha256, _label(package, platform))
            finally:
                part.unlink(missing_ok=True)
            pins.append(Pin(package.name, package.version, platform, self.spec.name, rel, sha256))
        return pins

    def fetch(self, pin: Pin, part: Path, transfer: Transfer) -> str:
        return self.client.download(self.url_of(pin.url), part, self.credentials, transfer)

    def reach(self, pin: Pin) -> None:
        self.client.probe(self.url_of(pin.url), self.credentials)


class PypiFeed:
    def __init__(self, spec: FeedSpec, client: HttpClient) -> None:
        self.spec = spec
        self.client = client
        self.index, self.credentials = split_credentials(spec.url or pipconfig.index_url(), spec.name)
        self._pages: dict[str, list[IndexFile]] = {}
        self._lock = threading.Lock()

    def page(self, project: str) -> list[IndexFile]:
        with self._lock:
            if project not in self._pages:
                url = project_url(self.index, project)
                self._pages[project] = parse_project_page(self.client.get_text(url, self.credentials), url)
            return self._pages[project]

    def resolve(self, package: PackageSpec, wanted: Sequence[str], store: Store) -> list[Pin]:
        project = normalize_name(package.name)
        files = {f.file_name: f for f in self.page(project) if not f.yanked}
        wheels = [w for f in files if (w := platforms.parse_wheel_name(f)) and w.project == project]
        release = [w for w in wheels if w.version.lower() == package.version.lower()]
        if not release:
            versions = sorted({w.version for w in wheels}, key=version_key)[-8:]
            raise ConfigError(
                f"package '{package.name}': no wheel of version {package.version} on feed '{self.spec.name}'",
                location=package.location,
                hint=f"versions with wheels: {', '.join(versions) or 'none'}",
            )
        chosen: dict[str, IndexFile] = {}
        for platform in wanted:
            best = platforms.best_wheel(release, platform)
            if best is None:
                raise ConfigError(
                    f"package '{package.name}' {package.version}: no wheel for {platform} on feed "
                    f"'{self.spec.name}'",
                    location=package.location,
                    hint="list the platforms it has: platforms = [...] in its [[package]]",
                )
            chosen[platform] = files[best.file_name]
        names = {f.file_name for f in chosen.values()}
        if len(names) == 1 and all(platforms.serves_all(w) for w in release if w.file_name in names):
            chosen = {ANY_PLATFORM: next(iter(chosen.values()))}
        return [self._pin(package, platform, f) for platform, f in sorted(chosen.items())]

    def _pin(self, package: PackageSpec, platform: str, file: IndexFile) -> Pin:
        if file.sha256 is None:
            raise FeedError(
                f"feed '{self.spec.name}' gives no sha256 for {file.file_name}",
                hint="enlist pins the index's own hashes; use an index that serves #sha256= links",
            )
        rel = f"{normalize_name(package.name)}/{file.file_name}"
        return Pin(package.name, package.version, platform, self.spec.name, rel, file.sha256)

    def fetch(self, pin: Pin, part: Path, transfer: Transfer) -> str:
        project = pin.url.split("/", 1)[0]
        found = [f for f in self.page(project) if f.file_name == pin.file_name]
        if not found:
            raise FeedError(
                f"{redact(project_url(self.index, project))} no longer lists {pin.file_name}",
                hint="the file was removed from the index; pin another version and run `enlist lock`",
            )
        file = found[0]
        if file.sha256 is not None and file.sha256 != pin.sha256:
            raise IntegrityError(
                f"hash mismatch for {pin.package} {pin.version}: the lock pins sha256 {pin.sha256}, "
                f"the index now gives {file.sha256} for {pin.file_name}",
                hint="nothing was downloaded; if the change is intended, run `enlist lock --refresh`",
            )
        return self.client.download(file.url, part, self.credentials, transfer)

    def reach(self, pin: Pin) -> None:
        project = pin.url.split("/", 1)[0]
        if not any(f.file_name == pin.file_name for f in self.page(project)):
            raise FeedError(
                f"{redact(project_url(self.index, project))} no longer lists {pin.file_name}",
                hint="the file was removed from the index; pin another version and run `enlist lock`",
            )


class Feeds:
    """The feeds of an enlistment, opened on first use (only the ones a lock or restore needs)."""

    def __init__(self, config: PackagesConfig, root: Path, client: HttpClient | None = None) -> None:
        self.config = config
        self.root = root
        self._client = client
        self._open: dict[str, Feed] = {}
        self._lock = threading.Lock()

    def client(self) -> HttpClient:
        if self._client is None:
            self._client = HttpClient()
        return self._client

    def get(self, name: str) -> Feed:
        with self._lock:
            if name not in self._open:
                spec = self.config.feed(name)
                feed: Feed
                if spec.kind is FeedKind.FOLDER:
                    feed = FolderFeed(spec, self.root)
                elif spec.kind is FeedKind.HTTP:
                    feed = HttpFeed(spec, self.client())
                else:
                    feed = PypiFeed(spec, self.client())
                self._open[name] = feed
            return self._open[name]
