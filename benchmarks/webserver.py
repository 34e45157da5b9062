"""The real web server for load benchmarks: gunicorn on a free local port, and a browser-like client.

`gunicorn()` starts `config.wsgi` with this process's environment (the production settings that
scripts/bench.sh exports), waits until it answers, and stops it (only that process) on the way out.
Its access log records how long each request took inside a worker, which is the server time
without the wait for a free worker. `Browser` keeps its own cookies, like one signed-in person.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

from django.conf import settings
from django.urls import reverse

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ACCESS_FORMAT = "%(m)s %(s)s %(D)s %(U)s"  # method, status, microseconds in the worker, path


@dataclass(frozen=True)
class Timed:
    method: str
    status: int
    ms: float
    path: str


@dataclass(frozen=True)
class Server:
    base: str
    workers: int
    access_log: Path

    def timings(self) -> list[Timed]:
        """Every request the workers answered so far, as gunicorn timed it."""
        rows = []
        for line in self.access_log.read_text().splitlines():
            method, status, micros, path = line.split(" ", 3)
            rows.append(Timed(method, int(status), int(micros) / 1000, path))
        return rows


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(base + reverse("accounts:sign-in"), timeout=5) as response:  # noqa: S310 (our own server)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within 90 seconds")


@contextmanager
def gunicorn(*, workers: int) -> Iterator[Server]:
    """`workers` sync workers on 127.0.0.1 (a free port), with this process's environment."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings")}
    with tempfile.TemporaryDirectory(prefix="mesoclinic-bench-") as folder:
        access, errors = Path(folder) / "access.log", Path(folder) / "error.log"
        command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
        command += ["--worker-class", "sync", "--timeout", "120", "--log-level", "warning", "--error-logfile", str(errors)]
        command += ["--access-logfile", str(access), "--access-logformat", ACCESS_FORMAT]
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            _wait_until_up(base, process, errors)
            yield Server(base, workers, access)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is the answer being measured, not a page to fetch


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    ms: float  # as the client saw it: the loopback network and the wait for a free worker included


class Browser:
    """One person's browser: its own cookie jar (session, CSRF cookie); follows no redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect())

    def request(self, path: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Reply:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})  # noqa: S310 (our own server)
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=120) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
            error.close()
        return Reply(status, text, (time.perf_counter() - started) * 1000)

    def sign_in(self, username: str, password: str) -> None:
        """Through the real sign-in form: its CSRF token, then the POST (answered with a redirect)."""
        path = reverse("accounts:sign-in")
        token = csrf_token(self.request(path).body)
        reply = self.request(path, {"csrfmiddlewaretoken": token, "username": username, "password": password})
        if reply.status != 302:
            raise SystemExit(f"sign-in answered {reply.status}")

    def session_key(self) -> str:
        return next((cookie.value or "" for cookie in self.cookies if cookie.name == settings.SESSION_COOKIE_NAME), "")


def csrf_token(page: str) -> str:
    found = CSRF.search(page)
    if found is None:
        raise SystemExit("no CSRF token on the page")
    return found.group(1)
