"""Publishing to an HTTP feed (L2) through the PyPI upload API: a multipart POST with `:action=file_upload`,
which pypiserver, devpi, Artifactory and Nexus accept.

Such servers take archives only and keep them flat, under their file names. Each package archive goes up as
it is (`replica-1.0.7-chk-amd64.tar.gz`; it carries its metadata as `enlist-package.json`), then, last, the
build's manifest as `<enlistment>-<version>-<config>.manifest.tar.gz` holding `manifest.json`: a build is
published once its manifest is. Consumers read packages with an `http` feed whose `url` is where the server
serves files (pypiserver: `<server>/packages/`) and `file = "{name}-{version}-<config>.tar.gz"`.

When the target knows that `url` (a feed of packages.toml with both `url` and `upload`), every file is first
looked up there: one the feed already holds with the same bytes is skipped, one with other bytes is a conflict
and nothing is uploaded (exit 2: a published version never changes). Without it, a file the server refuses as
existing (HTTP 409) is a conflict. A file is streamed from disk (requests_toolbelt's `MultipartEncoder`), never held
in memory whole. Transient failures (connection errors, timeouts, HTTP 5xx, 408, 429) are retried with backoff
(`ENLIST_HTTP_RETRIES`, `ENLIST_HTTP_BACKOFF`, `ENLIST_HTTP_TIMEOUT`). Credentials come
from `ENLIST_FEED_<NAME>_USERNAME` and `_PASSWORD` (or `_TOKEN`), the user part of the URL, or netrc; they are
never printed, and URLs are shown without them.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
import requests.auth
from requests_toolbelt.multipart.encoder import MultipartEncoder

from enlist import digest
from enlist.errors import FeedError, InputError
from enlist.release import archive
from enlist.release.folder import Published
from enlist.release.package import Drop, ManifestEntry, conflict_error
from enlist.toolcache.http import Credentials, HttpPolicy, redact, split_credentials

_TRANSIENT = {408, 429, 500, 502, 503, 504}


@dataclass(frozen=True, slots=True)
class UploadTarget:
    name: str  # the feed's name: credentials are looked up as ENLIST_FEED_<NAME>_...
    upload: str  # the upload API's URL
    files: str | None = None  # where the server serves uploaded files, to compare with what is there


def publish_http(drop: Drop, target: UploadTarget, *, policy: HttpPolicy | None = None) -> Published:
    client = _Uploader(target, policy or HttpPolicy.from_env())
    with tempfile.TemporaryDirectory(prefix="enlist-publish-") as scratch:
        uploads = [(drop.directory / p.file, p.name, p.version) for p in sorted(drop.index.packages)]
        for entry in sorted(drop.index.manifests):
            uploads.append((_manifest_archive(drop, entry, Path(scratch)), entry.enlistment, entry.version))
        new, present = client.plan([path for path, _, _ in uploads])
        for path, name, version in uploads:
            if path in new:
                client.upload(path, name, version)
    return Published(tuple(p.name for p in new), tuple(p.name for p in present))


def _manifest_archive(drop: Drop, entry: ManifestEntry, scratch: Path) -> Path:
    stem = Path(entry.file).name.removesuffix(".json")
    data = (drop.directory / entry.file).read_bytes()
    path = scratch / f"{stem}.tar.gz"
    archive.write(path, [archive.Member("manifest.json", data=data)], mtime=0)
    return path


class _Uploader:
    def __init__(self, target: UploadTarget, policy: HttpPolicy) -> None:
        self.target = target
        self.policy = policy
        self.url, self.credentials = split_credentials(target.upload, target.name)
        self.files = None
        if target.files is not None:
            files, _ = split_credentials(target.files, target.name)
            self.files = files.rstrip("/") + "/"
        self.session = requests.Session()

    def plan(self, paths: list[Path]) -> tuple[list[Path], list[Path]]:
        """The files to upload, and those the feed already holds with the same bytes; refuses conflicts."""
        if self.files is None:
            return paths, []
        new: list[Path] = []
        present: list[Path] = []
        conflicts: list[str] = []
        for path in paths:
            have = self._remote_digest(path.name)
            if have is None:
                new.append(path)
            elif have == _sha256(path):
                present.append(path)
            else:
                conflicts.append(path.name)
        if conflicts:
            raise conflict_error(f"'{self.target.name}'", conflicts, verb="uploaded")
        return new, present

    def upload(self, path: Path, name: str, version: str) -> None:
        fields = {
            ":action": "file_upload",
            "protocol_version": "1",
            "name": name,
            "version": version,
            "filetype": "sdist",
            "pyversion": "source",
            "sha256_digest": _sha256(path),
        }

        def attempt() -> requests.Response:
            # The body is streamed from the file (a package may be hundreds of MB); a consumed stream cannot be
            # sent again, so each attempt opens the file and builds its own encoder.
            with path.open("rb") as f:
                content = (path.name, f, "application/octet-stream")
                body = MultipartEncoder(fields=[*fields.items(), ("content", content)])  # the file last
                return self.session.post(
                    self.url,
                    data=body,
                    headers={"Content-Type": body.content_type},
                    auth=self._auth(self.url),
                    timeout=self.policy.timeout,
                )

        response = self._with_retries("POST", self.url, attempt)
        if response.status_code == 409:
            if self.files is not None and self._remote_digest(path.name) == _sha256(path):
                return  # an earlier attempt got through before its answer was lost
            raise InputError(
                f"the feed '{self.target.name}' already holds {path.name}",
                hint="a published version never changes: build again with a new --build-number (give the "
                "feed a `url` in packages.toml and enlist compares what is there instead)",
            )
        self._check(response, "POST", self.url)

    def _remote_digest(self, file_name: str) -> str | None:
        assert self.files is not None
        url = urllib.parse.urljoin(self.files, urllib.parse.quote(file_name))

        def attempt() -> requests.Response:
            return self.session.get(url, auth=self._auth(url), timeout=self.policy.timeout, stream=True)

        response = self._with_retries("GET", url, attempt)
        with response:
            if response.status_code == 404:
                return None
            self._check(response, "GET", url)
            h = hashlib.sha256()
            for chunk in response.raw.stream(1 << 16, decode_content=False):
                h.update(chunk)
            return h.hexdigest()

    def _auth(self, url: str) -> tuple[str, str] | _Bearer | None:
        c: Credentials = self.credentials
        if not c.applies_to(url):
            return None
        return _Bearer(c.token) if c.token is not None else c.basic

    def _with_retries(
        self, method: str, url: str, attempt: Callable[[], requests.Response]
    ) -> requests.Response:
        reason = ""
        for number in range(self.policy.retries + 1):
            if number:
                time.sleep(self.policy.backoff * 2 ** (number - 1))
            try:
                response = attempt()
            except requests.Timeout:
                reason = "timed out"
                continue
            except requests.ConnectionError:
                reason = "connection failed"
                continue
            except requests.RequestException as e:
                raise FeedError(f"{method} {redact(url)}: {type(e).__name__}", hint="check the feed URL") from e
            if response.status_code not in _TRANSIENT:
                return response
            reason = f"HTTP {response.status_code}"
            response.close()
        raise FeedError(
            f"{method} {redact(url)} failed: {reason} (after {self.policy.retries + 1} attempts)",
            hint="check the network and the feed; publishing again uploads only what is missing",
        )

    def _check(self, response: requests.Response, method: str, url: str) -> None:
        status = response.status_code
        if status < 400:
            return
        if status in (401, 403):
            prefix = self.credentials.env_prefix
            raise FeedError(
                f"{method} {redact(url)}: access denied (HTTP {status})",
                hint=f"give the feed's credentials in {prefix}_USERNAME and {prefix}_PASSWORD (or "
                f"{prefix}_TOKEN), in the URL's user part, or in netrc",
            )
        raise FeedError(f"{method} {redact(url)}: HTTP {status}", hint="check the feed and its upload URL")


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def _sha256(path: Path) -> str:
    return digest.of_file(path)
