"""The version of wavecurate (a bottom module: anything may import it)."""

__version__ = "0.1.0"
