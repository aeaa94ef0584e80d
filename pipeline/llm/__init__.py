"""LLM providers (offline, anthropic), the call cache and resume log, answer parsing."""
