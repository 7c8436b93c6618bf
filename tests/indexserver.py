"""A real package index for tests: pypiserver on 127.0.0.1 with a password for uploads (and, by default, for
everything), started and stopped by the test that uses it.

    with IndexServer(tmp_path / "index") as index:
        index.url                   # http://127.0.0.1:PORT/simple/  (the PEP 503 index)
        index.root                  # http://127.0.0.1:PORT/         (the upload API)
        index.files                 # http://127.0.0.1:PORT/packages/ (where uploaded files are served)
        index.folder                # the directory it serves (files dropped there appear on the index)
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import requests

USER, SECRET = "builder", "pyp1-s3cret-value"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class IndexServer:
    def __init__(self, base: Path, *, authenticate: str = "download,list,update") -> None:
        self.base = base
        self.folder = base / "packages"
        self.authenticate = authenticate
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def url(self) -> str:
        return f"{self.root}simple/"

    @property
    def files(self) -> str:
        return f"{self.root}packages/"

    @property
    def url_with_credentials(self) -> str:
        return f"http://{USER}:{SECRET}@127.0.0.1:{self.port}/simple/"

    def __enter__(self) -> IndexServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # passlib imports the deprecated crypt module
            warnings.simplefilter("ignore", DeprecationWarning)
            from passlib.apache import HtpasswdFile
        htpasswd = HtpasswdFile(str(self.base / "htpasswd"), new=True)
        htpasswd.set_password(USER, SECRET)
        htpasswd.save()
        command = [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(self.port)]
        command += ["--disable-fallback", "-a", self.authenticate, "-P", str(self.base / "htpasswd")]
        self._proc = subprocess.Popen(
            [*command, str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.url, timeout=1)
                return self
            except requests.ConnectionError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError("pypiserver did not start") from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=30)
            self._proc = None
