"""TensorBoard's HParams page in a real browser: the columns ticked when it opens are the ones a
user wants, which the server's answers alone do not show (the page ticks the first five
hyperparameters and the first five metrics of the experiment it is given); and Time Series opens
on the loss curve.

A small sweep runs in this process; TensorBoard and headless Chromium (Debian's chromium, which
.ci/run installs) are processes of their own on 127.0.0.1, stopped by their pids. The page is read
through the DevTools protocol with the helpers of scripts/docs_images.py, which takes the docs'
screenshot the same way."""

import os
import runpy
import time
from pathlib import Path

import pytest

from conftest import run_in_process, sweep_dir_of
from rnnexp.tracking.hparams import OVERRIDES
from rnnexp.tracking.summaries import METRICS

ROOT = Path(__file__).resolve().parent.parent
pages = runpy.run_path(str(ROOT / "scripts" / "docs_images.py"))

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    # Skipped on a machine without chromium, but never in CI, which installs it.
    pytest.mark.skipif(pages["CHROMIUM"] is None and os.environ.get("CI") != "true", reason="needs chromium (.ci/run installs it)"),
]

SWEEP = ["-m", "model=cell,rnn", "seed=0,1", "epochs=3", "device=cpu"]
# The titles of the Time Series cards drawn so far, top to bottom.
CARD_TITLES = "[...document.querySelectorAll('tb-truncated-path')].map(e => e.textContent.trim())"


def first_cards(browser, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while not (titles := browser.evaluate(CARD_TITLES)):
        assert time.monotonic() < deadline, "Time Series drew no card in time"
        time.sleep(0.2)
    return titles


def test_the_hparams_page_opens_on_the_swept_keys_and_the_final_metrics(tmp_path):
    done = run_in_process(SWEEP, tmp_path)
    assert done.status == 0, done.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    with pages["tensorboard"](sweep_dir, pages["job_runs"](sweep_dir)) as url:
        browser = pages["Chromium"](f"{url}/#hparams")
        try:
            columns = pages["hparams_columns"](browser)
        finally:
            browser.close()
        browser = pages["Chromium"](f"{url}/#timeseries")
        try:
            cards = first_cards(browser)
        finally:
            browser.close()
    # Time Series opens on the loss curve (it draws only the cards in view), not on the final metrics' dots.
    assert cards[0] == "loss/train" and not any(card.startswith("result/") for card in cards), cards
    # Trial ID and Show Metrics, five hyperparameters, five metrics.
    assert len(columns) == 12, columns
    hparams, metrics = columns[2:7], columns[7:]
    # The keys the sweep varied, then the words typed, then the others by name.
    assert hparams[:3] == ["model", "seed", OVERRIDES], columns
    assert metrics == list(METRICS[:5]), columns
