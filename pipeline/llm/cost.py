"""Prices: the cost of a call from its token counts and the config's price table."""

from __future__ import annotations

from collections.abc import Mapping

# Multipliers on the input price (Anthropic's prompt caching) and on the whole call (batches).
CACHE_READ_FACTOR = 0.1
CACHE_WRITE_FACTOR = 1.25
BATCH_FACTOR = 0.5


def price_for(model: str, prices: Mapping[str, Mapping[str, float]]) -> tuple[float, float]:
    """(input, output) USD per million tokens: the exact model, else the longest prefix, else 0.

    A dated model id (`claude-sonnet-4-5-20250929`) takes the price of `claude-sonnet-4-5`.
    """
    if model in prices:
        entry = prices[model]
    else:
        matches = [k for k in prices if model.startswith(k)]
        if not matches:
            return 0.0, 0.0
        entry = prices[max(matches, key=len)]
    return float(entry.get("input", 0.0)), float(entry.get("output", 0.0))


def call_cost(
    model: str,
    prices: Mapping[str, Mapping[str, float]],
    *,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    batch: bool = False,
) -> float:
    """USD for one call. `input_tokens` excludes the cache reads and writes (as the API counts)."""
    p_in, p_out = price_for(model, prices)
    usd = (
        input_tokens * p_in
        + cache_read_tokens * p_in * CACHE_READ_FACTOR
        + cache_write_tokens * p_in * CACHE_WRITE_FACTOR
        + output_tokens * p_out
    ) / 1_000_000
    return usd * BATCH_FACTOR if batch else usd


def estimate_tokens(text: str) -> int:
    """A rough token count for estimates (about 3.5 characters a token for code and English)."""
    return max(1, round(len(text) / 3.5))
