"""Fences around untrusted text in prompts.

Raw code, examples and generated fields are data: each sits between `<<<BEGIN t>>>` and
`<<<END t>>>`, where the token t is made for the message. The token is pseudo-random rather than
drawn from `os.urandom` on purpose: it is a hash of the fenced texts themselves, so the same
prompt renders the same way on every run (the call cache and resume depend on that) while no text
can contain the token of its own fence (it would have to contain its own hash). If a text happened
to contain the token anyway, the next hash in the chain is used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

TOKEN_CHARS = 16


def fence_token(texts: Sequence[str], salt: str = "") -> str:
    """A token of 16 hex digits that occurs in none of `texts`."""
    digest = hashlib.sha256(salt.encode("utf-8"))
    for text in texts:
        digest.update(b"\x00")
        digest.update(text.encode("utf-8", "surrogatepass"))
    token = digest.hexdigest()[:TOKEN_CHARS]
    while any(token in text for text in texts):
        token = hashlib.sha256(token.encode()).hexdigest()[:TOKEN_CHARS]
    return token


def fenced(text: str, token: str) -> str:
    """`text` between the BEGIN and END lines of `token`."""
    return f"<<<BEGIN {token}>>>\n{text}\n<<<END {token}>>>"
