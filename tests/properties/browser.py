"""A headless Chromium driven through chromedriver's W3C WebDriver protocol, with the standard library.

The report test needs five WebDriver commands (new session, navigate, run a script, screenshot, quit);
speaking the protocol's JSON over HTTP directly keeps the test free of a client library. Chromium and
chromedriver come from the Debian packages ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them); ``unavailable()`` says why the test cannot run when they are missing.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
STARTUP_SECONDS = 30  # chromedriver answering /status; a cold Chromium start on a busy machine is slow


def _binary() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM) if p), None)


def unavailable() -> str | None:
    """Why no browser can be started here, or None."""
    if _binary() is None:
        return "no Chromium (apt-get install chromium chromium-driver)"
    if shutil.which("chromedriver") is None:
        return "no chromedriver (apt-get install chromium-driver)"
    return None


class Browser:
    """``with Browser() as b: b.open(url); b.run(script); b.screenshot(path)``."""

    def __init__(self, width: int = 1400, height: int = 1000):
        self.size = (width, height)

    def __enter__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.driver = subprocess.Popen(["chromedriver", f"--port={port}"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        try:
            self._wait_ready()
            args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    f"--window-size={self.size[0]},{self.size[1]}"]
            caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome",
                                                     "goog:chromeOptions": {"binary": _binary(), "args": args}}}}
            self.session = self._call("POST", "/session", caps)["sessionId"]
        except BaseException:
            self.driver.kill()
            self.driver.wait()
            raise
        return self

    def __exit__(self, *exc):
        try:
            self._call("DELETE", f"/session/{self.session}")
        finally:
            self.driver.terminate()
            try:
                self.driver.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.driver.kill()
                self.driver.wait()

    def open(self, url: str):
        self._call("POST", f"/session/{self.session}/url", {"url": url})

    def run(self, script: str, *args):
        """The value of ``script`` (a function body: ``return ...``) run in the page."""
        return self._call("POST", f"/session/{self.session}/execute/sync", {"script": script, "args": list(args)})

    def resize(self, width: int, height: int):
        self._call("POST", f"/session/{self.session}/window/rect", {"width": width, "height": height})

    def screenshot(self, path: str):
        data = self._call("GET", f"/session/{self.session}/screenshot")
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def _wait_ready(self):
        start = time.monotonic()
        while True:
            try:
                if self._call("GET", "/status").get("ready"):
                    return
            except (urllib.error.URLError, ConnectionError):
                pass
            if self.driver.poll() is not None:
                raise RuntimeError(f"chromedriver exited with status {self.driver.returncode}")
            if time.monotonic() - start > STARTUP_SECONDS:
                raise RuntimeError(f"chromedriver did not answer within {STARTUP_SECONDS} s")
            time.sleep(0.1)

    def _call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"WebDriver {method} {path}: {e.read().decode(errors='replace')[:500]}") from None
