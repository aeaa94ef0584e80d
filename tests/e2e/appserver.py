"""Serving the app for a browser: `wavecurate app` on a free port, and headless Chromium.

Shared by the browser tests (tests/e2e), the Map benchmark and scripts/screenshots.py.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("WAVECURATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


@contextmanager
def checked_tab(browser: Any, **options: Any) -> Iterator[Any]:
    """A tab in a new browser context (`options`: viewport, accept_downloads, ...); on leaving,
    fails the test when the page raised a JavaScript error."""
    context = browser.new_context(**options)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    context.close()
    assert not errors, errors


def free_port() -> int:
    """A TCP port nothing listens on now (loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wavecurate_command() -> list[str]:
    """How to run the `wavecurate` CLI of this interpreter ($WAVECURATE_CMD overrides it)."""
    if os.environ.get("WAVECURATE_CMD"):
        return shlex.split(os.environ["WAVECURATE_CMD"])
    script = Path(sys.executable).with_name("wavecurate")
    if script.exists():
        return [str(script)]
    found = shutil.which("wavecurate")
    return [found] if found else [sys.executable, "-c", "from pipeline.cli import main; main()"]


@contextmanager
def app_server(
    workspace: Path,
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 90.0,
) -> Iterator[str]:
    """Run `wavecurate app --workspace WORKSPACE --port P` until the block ends; yield its URL.

    The server is stopped (SIGTERM, then SIGKILL) however the block ends; its output goes to
    `<workspace>/../app-server-<port>.log` for post-mortems.
    """
    port = port or free_port()
    log_path = Path(workspace).resolve().parent / f"app-server-{port}.log"
    cmd = [*wavecurate_command(), "app", "--workspace", str(workspace), "--port", str(port)]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=full_env)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc, timeout, log_path)
            yield url
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"the app did not answer at {url} in {timeout:.0f}s:\n{log.read_text()}")


def launch_chromium(playwright: Any) -> Any:
    """Headless Chromium from the system (browser downloads are not needed)."""
    kwargs: dict[str, Any] = {"args": CHROMIUM_ARGS, "headless": True}
    if Path(CHROMIUM).exists():
        kwargs["executable_path"] = CHROMIUM
    return playwright.chromium.launch(**kwargs)


def wait_idle(page: Any, timeout: float = 30_000) -> None:
    """Wait until the app's script run has finished and nothing on the page is stale."""
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(150)  # a rerun triggered by the last render starts within a frame
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-stale=\"true\"]')", timeout=timeout
    )


def plot_point(page: Any, index: int = 0) -> tuple[float, float, str]:
    """Page coordinates and sample id of a selectable map point, from Plotly's own axes."""
    x, y, sample = page.evaluate(
        """(i) => {
            const gd = document.querySelector('.js-plotly-plot');
            const trace = gd._fullData.find((t) => t.type === 'scattergl');
            const L = gd._fullLayout, r = gd.getBoundingClientRect();
            return [r.left + L._size.l + L.xaxis.l2p(trace.x[i]),
                    r.top + L._size.t + L.yaxis.l2p(trace.y[i]),
                    trace.customdata[i]];
        }""",
        index,
    )
    return float(x), float(y), str(sample)


def lasso(page: Any, fractions: list[tuple[float, float]]) -> None:
    """Pick the map's lasso tool and drag through `fractions` of its plot area."""
    page.locator(".js-plotly-plot").first.hover()  # the toolbar shows on hover
    page.locator('.modebar-btn[data-val="lasso"]').first.click()
    layer = page.locator(".js-plotly-plot .nsewdrag").first
    layer.wait_for(state="visible", timeout=60_000)
    box = layer.bounding_box()
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in fractions]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in [*xy[1:], xy[0]]:
        page.mouse.move(x, y, steps=10)
    page.mouse.up()
