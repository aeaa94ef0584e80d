"""wavecurate: the WaveCoder data pipeline, as plain stages over one workspace."""

from __future__ import annotations

from pipeline.version import __version__

__all__ = ["__version__"]
