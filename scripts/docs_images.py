"""The pictures in docs/images/, made by the code: a sweep's loss curves and TensorBoard's HParams and Time Series pages.

    python scripts/docs_images.py

Runs a small sweep in a temporary directory (in-process, as
``python -m rnnexp -m ...`` would), draws its loss curves with
rnnexp.sweep.plot, opens ``tensorboard --logdir`` on it and takes
screenshots of the HParams and Time Series pages in headless Chromium
(Debian's ``chromium``).
The TensorBoard server and the browser are processes of their own on
127.0.0.1, stopped by their pids. tests/test_tensorboard_browser.py drives
the page with the same helpers.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator, Optional

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
SWEEP = ["-m", "model=cell,rnn,embedding", "lr=0.05,0.1", "epochs=15"]
LOSS_CURVES = IMAGES / "sweep_loss_curves.png"
HPARAMS = IMAGES / "tensorboard_hparams.png"
TIME_SERIES = IMAGES / "tensorboard_time_series.png"
WINDOW = (1400, 900)  # CSS pixels of the page
DOCS_WINDOW = (2340, 540)  # the docs' screenshot: every ticked column and the six rows, no empty page below
TIME_SERIES_WINDOW = (1400, 760)  # the run list and the first row of cards, the loss curves
CHROMIUM = shutil.which("chromium")
# The flags of a quiet headless Chromium: no sandbox (containers), no GPU, no
# network of its own (updates, sync, QUIC), a profile of its own.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def tensorboard(logdir: Path, runs: list[str], timeout: float = 90) -> Iterator[str]:
    """``tensorboard --logdir logdir`` on a free loopback port, once it lists ``runs``: its URL. Stopped by its pid."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + timeout
            while True:  # until it answers and has loaded every run
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"TensorBoard did not list the runs {runs}:\n{log.read()}")
                try:
                    with urllib.request.urlopen(f"{url}/data/runs", timeout=10) as answer:
                        if sorted(json.load(answer)) == sorted(runs):
                            break
                except OSError:
                    pass  # not listening yet
                time.sleep(0.3)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _above_four(fd: int) -> int:
    """``fd`` moved to a descriptor number above 4 (the old one is closed)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 5)
    os.close(fd)
    return moved


class Chromium:
    """Headless Chromium driven through the DevTools protocol over a pipe (no library needed).

    ``--remote-debugging-pipe`` reads commands on file descriptor 3 and
    writes replies on 4, each a JSON message ended by a NUL byte. The page's
    tables live inside web components' shadow roots, which ``--dump-dom``
    leaves out; :meth:`evaluate` reads them with JavaScript.
    """

    def __init__(self, url: str, window: tuple[int, int] = WINDOW):
        if CHROMIUM is None:
            raise RuntimeError("no chromium on PATH (Debian: apt-get install chromium)")
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()
        # The ends Chromium keeps, moved above 4: bash closes them after copying them onto 3
        # and 4, which would close a copy just made if one of them were 3 or 4 already.
        commands_read, replies_write = (_above_four(fd) for fd in (commands_read, replies_write))
        self._profile = tempfile.mkdtemp(prefix="chromium-")
        flags = [
            *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", f"--window-size={window[0]},{window[1]}", "--remote-debugging-pipe",
        ]
        # bash puts the two pipe ends on descriptors 3 and 4, then becomes Chromium.
        redirect = f'exec "$0" "$@" 3<&{commands_read} 4>&{replies_write} {commands_read}<&- {replies_write}>&-'
        self.process = subprocess.Popen(
            ["bash", "-c", redirect, CHROMIUM, *flags, url],
            pass_fds=(commands_read, replies_write),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(replies_write)
        self._pending = b""
        self._last_id = 0
        try:
            page = next(t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
            self._session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
            # The page's own size, whatever the window around it: screenshots of the same size everywhere.
            width, height = window
            self.call(
                "Emulation.setDeviceMetricsOverride", self._session, width=width, height=height, deviceScaleFactor=1, mobile=False
            )
        except BaseException:
            self.close()
            raise

    def call(self, method: str, session: Optional[str] = None, **params) -> dict:
        """Send one DevTools command (to the page when ``session`` is given) and return its result."""
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params, **({"sessionId": session} if session else {})}
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._pending:
                chunk = os.read(self._replies, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"chromium ended (status {self.process.poll()}) before answering {method}")
                self._pending += chunk
            raw, self._pending = self._pending.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._last_id:  # events and other sessions' messages are skipped
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page."""
        return self.call("Runtime.evaluate", self._session, expression=expression, returnByValue=True)["result"].get("value")

    def screenshot(self, path: Path) -> None:
        png = self.call("Page.captureScreenshot", self._session, format="png")["data"]
        path.write_bytes(base64.b64decode(png))

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()  # by its pid
            self.process.wait()
        for fd in (self._commands, self._replies):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)


# The texts of the HParams table's column headers, read through every shadow root.
_TABLE = r"""(() => {
  const headers = [];
  const walk = (root) => {
    for (const element of root.querySelectorAll('*')) {
      if (element.classList.contains('table-header')) headers.push(element.textContent.trim());
      if (element.shadowRoot) walk(element.shadowRoot);
    }
  };
  walk(document);
  return headers;
})()"""


def hparams_columns(browser: Chromium, metrics: int = 5, timeout: float = 30) -> list[str]:
    """The HParams table's column headers once it shows ``metrics`` metric columns (after Trial ID and Show Metrics)."""
    deadline = time.monotonic() + timeout
    while True:
        headers = browser.evaluate(_TABLE) or []
        if sum("/" in h for h in headers) >= metrics:  # the metric columns are tags: result/loss, loss/train
            time.sleep(0.3)  # the rows render with the headers; let them land
            return browser.evaluate(_TABLE)
        if time.monotonic() > deadline:
            raise RuntimeError(f"the HParams table did not show its columns in time; headers: {headers}")
        time.sleep(0.2)


def screenshot_page(url: str, path: Path, window: tuple[int, int], timeout: float = 120) -> None:
    """A screenshot of the page at ``url`` by Chromium's command mode, after 15 s of the page's virtual time.

    Virtual time runs the page's timers and requests to their end before the
    shot, however slow the machine: Time Series fetches and draws its charts
    after the run list. The profile is a temporary one, removed afterwards.
    """
    if CHROMIUM is None:
        raise RuntimeError("no chromium on PATH (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        done = subprocess.run(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={window[0]},{window[1]}",
             "--hide-scrollbars", "--virtual-time-budget=15000", f"--screenshot={path}", url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
        )
    if done.returncode != 0 or not path.is_file():
        raise RuntimeError(f"chromium took no screenshot of {url} (status {done.returncode}):\n{done.stdout}")


def run_sweep(argv: list[str], cwd: Path) -> Path:
    """``python -m rnnexp ARGV`` in ``cwd``, in this process; the sweep directory."""
    from rnnexp.cli.main import main
    from rnnexp.testing import run_command

    done = run_command(main, argv, cwd)
    if done.status != 0:
        raise RuntimeError(f"python -m rnnexp {' '.join(argv)}: exit status {done.status}\n{done.stderr}")
    (sweep_dir,) = (cwd / "outputs" / "multirun").glob("*/*")
    return sweep_dir


def job_runs(sweep_dir: Path) -> list[str]:
    """The TensorBoard run names of a sweep's jobs, with ``--logdir`` at the sweep directory."""
    return sorted(p.name for p in sweep_dir.iterdir() if (p / ".hydra").is_dir())


def main() -> int:
    from rnnexp.sweep import Summary
    from rnnexp.sweep.plot import plot_loss_curves

    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        sweep_dir = run_sweep(SWEEP, Path(work))
        plot_loss_curves(Summary.read(sweep_dir), LOSS_CURVES)
        with tensorboard(sweep_dir, job_runs(sweep_dir)) as url:
            browser = Chromium(f"{url}/#hparams", DOCS_WINDOW)
            try:
                columns = hparams_columns(browser)
                browser.screenshot(HPARAMS)
            finally:
                browser.close()
            TIME_SERIES.unlink(missing_ok=True)
            screenshot_page(f"{url}/#timeseries", TIME_SERIES, TIME_SERIES_WINDOW)
    for path in (LOSS_CURVES, HPARAMS, TIME_SERIES):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1000} kB")
    print("HParams columns:", ", ".join(columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
