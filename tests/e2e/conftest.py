"""Browser fixtures: one `wavecurate app` server per module on a synthetic workspace, Chromium."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: synthetic.py

from appserver import app_server, checked_tab, launch_chromium
from synthetic import SyntheticWorkspace, build_workspace

VIEWPORT = {"width": 1440, "height": 1000}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> SyntheticWorkspace:
    return build_workspace(tmp_path_factory.mktemp("e2e") / "w", samples=1500, coreset=250)


@pytest.fixture(scope="module")
def app_url(built: SyntheticWorkspace) -> Iterator[str]:
    with app_server(built.root) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = launch_chromium(pw)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with checked_tab(browser, viewport=VIEWPORT) as tab:
        yield tab
