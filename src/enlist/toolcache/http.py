"""HTTP for feeds (L2): retries with backoff, resumable streaming downloads, credentials that never leak.

Only the slow path imports this module (it imports requests). Behaviour:
- transient failures (connection errors, timeouts, a body cut short, HTTP 5xx, 408, 429) are retried up to
  `HttpPolicy.retries` times, waiting `backoff * 2**attempt` seconds; a partial download is resumed with a
  `Range` request when the server supports it, and restarted otherwise;
- other 4xx answers fail at once: 404 says "not found", 401/403 says how to give credentials;
- bodies are streamed to disk without content decoding (the bytes on disk are the bytes the server holds);
- credentials come from the environment (`ENLIST_FEED_<NAME>_TOKEN`, or `..._USERNAME` and `..._PASSWORD`),
  from the user part of a configured index URL (pip style), or from netrc (requests reads `~/.netrc` or
  `$NETRC`). They are sent only to the feed's own origin: a redirect to another host or port gets none (requests
  drops the Authorization header; netrc applies by host name). URLs are shown with `redact()`: no user part, no
  query string.
Tuning (environment): `ENLIST_HTTP_TIMEOUT` (seconds, default 30), `ENLIST_HTTP_RETRIES` (default 4),
`ENLIST_HTTP_BACKOFF` (seconds, default 0.5).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests
import requests.auth
import urllib3

from enlist.errors import EnvironmentFault, FeedError
from enlist.toolcache.events import Transfer

CHUNK = 1 << 16  # what a killed download keeps, at most, beyond its last write
_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class HttpPolicy:
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 0.5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HttpPolicy:
        env = os.environ if env is None else env
        try:
            return cls(
                timeout=float(env.get("ENLIST_HTTP_TIMEOUT", cls.timeout)),
                retries=int(env.get("ENLIST_HTTP_RETRIES", cls.retries)),
                backoff=float(env.get("ENLIST_HTTP_BACKOFF", cls.backoff)),
            )
        except ValueError as e:
            raise EnvironmentFault(
                f"bad ENLIST_HTTP_* setting: {e}", hint="numbers of seconds and retries"
            ) from e


@dataclass(frozen=True, slots=True)
class Credentials:
    """How to authenticate to one origin (`scheme://host:port`); `repr` never shows the secrets."""

    origin: str
    basic: tuple[str, str] | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    env_prefix: str = "ENLIST_FEED_<NAME>"  # where the user can put them, for error hints

    def applies_to(self, url: str) -> bool:
        return origin_of(url) == self.origin


def origin_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def redact(url: str) -> str:
    """A URL fit to show: no user name or password, no query string (it may hold a token)."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(
        (parts.scheme, netloc, parts.path, "<redacted>" if parts.query else "", "")
    )


def split_credentials(url: str, feed: str, env: Mapping[str, str] | None = None) -> tuple[str, Credentials]:
    """The URL without its user part, and the credentials for it (the environment first, then the URL)."""
    env = os.environ if env is None else env
    parts = urllib.parse.urlsplit(url)
    clean = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    prefix = "ENLIST_FEED_" + re.sub(r"[^A-Za-z0-9]", "_", feed).upper()
    origin = origin_of(clean)
    if env.get(prefix + "_TOKEN"):
        return clean, Credentials(origin, token=env[prefix + "_TOKEN"], env_prefix=prefix)
    if env.get(prefix + "_USERNAME"):
        basic = (env[prefix + "_USERNAME"], env.get(prefix + "_PASSWORD", ""))
        return clean, Credentials(origin, basic=basic, env_prefix=prefix)
    if parts.username is not None:
        basic = (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
        return clean, Credentials(origin, basic=basic, env_prefix=prefix)
    return clean, Credentials(origin, env_prefix=prefix)


class Retry(Exception):
    """A transient failure: worth another attempt."""


class HttpClient:
    def __init__(self, policy: HttpPolicy | None = None) -> None:
        self.policy = policy or HttpPolicy.from_env()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def get_text(
        self, url: str, credentials: Credentials | None = None, transfer: Transfer | None = None
    ) -> str:
        def attempt() -> str:
            response = self._get(url, credentials, {"Accept": "text/html"}, stream=False)
            return response.content.decode("utf-8", "replace")  # PEP 503 pages are UTF-8: no guessing

        return self._with_retries(url, attempt, transfer or Transfer())

    def download(
        self, url: str, part: Path, credentials: Credentials | None = None, transfer: Transfer | None = None
    ) -> str:
        """Stream `url` into `part`, resuming what is there; return the sha256 of the whole file."""
        transfer = transfer or Transfer()

        def attempt() -> str:
            return self._download_once(url, part, credentials, transfer)

        return self._with_retries(url, attempt, transfer)

    def probe(self, url: str, credentials: Credentials | None = None) -> None:
        """Whether `url` answers, from its headers alone, in one attempt: FeedError if it does not."""
        try:
            self._get(url, credentials, {}, stream=True).close()
        except Retry as e:
            raise FeedError(f"GET {redact(url)}: {e}", hint="check the network and the feed") from e

    def _with_retries(self, url: str, attempt: Callable[[], str], transfer: Transfer) -> str:
        reason = ""
        for number in range(self.policy.retries + 1):
            if number:
                delay = self.policy.backoff * 2 ** (number - 1)
                transfer.retry(f"GET {redact(url)}: {reason}; retrying in {delay:g}s")
                time.sleep(delay)
            try:
                return attempt()
            except Retry as e:
                reason = str(e)
        raise FeedError(
            f"GET {redact(url)} failed: {reason} (after {self.policy.retries + 1} attempts)",
            hint="check the network and the feed; ENLIST_HTTP_RETRIES and ENLIST_HTTP_TIMEOUT tune this",
        )

    def _get(
        self, url: str, credentials: Credentials | None, headers: dict[str, str], *, stream: bool
    ) -> requests.Response:
        auth: requests.auth.AuthBase | tuple[str, str] | None = None  # None: requests looks in netrc
        if credentials is not None and credentials.applies_to(url):
            auth = _Bearer(credentials.token) if credentials.token is not None else credentials.basic
        try:
            response = self._session().get(
                url, headers=headers, stream=stream, timeout=self.policy.timeout, auth=auth
            )
        except requests.Timeout as e:
            raise Retry("timed out") from e
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
            raise Retry("connection failed") from e
        except requests.TooManyRedirects as e:
            raise FeedError(
                f"GET {redact(url)}: too many redirects", hint="the feed redirects in a loop; check the feed"
            ) from e
        except requests.RequestException as e:
            raise FeedError(f"GET {redact(url)}: {type(e).__name__}", hint="check the feed URL") from e
        self._check_status(url, response, credentials)
        return response

    def _check_status(self, url: str, response: requests.Response, credentials: Credentials | None) -> None:
        status = response.status_code
        if status < 400 or status == 416:
            return
        response.close()
        if status in _TRANSIENT_STATUS:
            raise Retry(f"HTTP {status}")
        if status == 404:
            raise FeedError(
                f"GET {redact(url)}: not found (HTTP 404)",
                hint="the feed no longer has this file, or the feed URL is wrong",
            )
        if status in (401, 403):
            prefix = credentials.env_prefix if credentials else Credentials("").env_prefix
            raise FeedError(
                f"GET {redact(url)}: access denied (HTTP {status})",
                hint=f"give the feed's credentials in {prefix}_TOKEN, or {prefix}_USERNAME and "
                f"{prefix}_PASSWORD, or in netrc (a pypi feed: also in pip's index URL)",
            )
        raise FeedError(f"GET {redact(url)}: HTTP {status}", hint="check the feed")

    def _download_once(
        self, url: str, part: Path, credentials: Credentials | None, transfer: Transfer
    ) -> str:
        have = part.stat().st_size if part.exists() else 0
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        response = self._get(url, credentials, headers, stream=True)
        with response:
            if response.status_code == 416:  # our partial file is no prefix of theirs: start again
                part.unlink()
                raise Retry("range not satisfiable")
            resumed = response.status_code == 206
            if resumed and _range_start(response) != have:
                part.unlink()
                raise Retry("the server answered another range")
            h = hashlib.sha256()
            expected = _content_length(response)
            if expected is not None:
                transfer.total(expected + (have if resumed else 0))
            start = have if resumed else 0
            if resumed:
                _hash_prefix(part, h)
            received = 0
            with part.open("ab" if resumed else "wb") as out:
                try:
                    for chunk in response.raw.stream(CHUNK, decode_content=False):
                        out.write(chunk)
                        h.update(chunk)
                        received += len(chunk)
                        transfer.progress(start + received)
                except (
                    urllib3.exceptions.HTTPError,
                    requests.RequestException,
                    ConnectionError,
                    TimeoutError,
                ) as e:
                    raise Retry("the connection broke during the download") from e
            if expected is not None and received != expected:
                raise Retry(f"the body was cut short ({received} of {expected} bytes)")
        return h.hexdigest()


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def _range_start(response: requests.Response) -> int | None:
    m = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(m.group(1)) if m else None


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _hash_prefix(path: Path, h: hashlib._Hash) -> None:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
