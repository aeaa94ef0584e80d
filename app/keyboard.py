"""The keyboard guard and the reviewer's cookie: one small script in the app's page.

Streamlit itself ignores a single-key shortcut (A, X, U, arrows) while focus is in a text field.
What it does not do, and this script adds:

- Esc leaves a text field (input or text area), so the next key is a shortcut again;
- Enter in a one-line text box (the reviewer's name, the reason) commits it and leaves it, so
  "looks fine", Enter, A records the reason "looks fine" with an accept (and not "looks finea");
- the reviewer's name is kept in a cookie, read back by `app/main.py` on the next visit.
"""

from __future__ import annotations

import json

import streamlit as st

from app import state

_SCRIPT = """
<script>
(() => {
  const name = %(name)s;
  if (name) {
    document.cookie = %(cookie)s + "=" + encodeURIComponent(name)
      + "; path=/; max-age=31536000; SameSite=Lax";
  }
  if (window.__wavecurateKeys) return;
  window.__wavecurateKeys = true;
  const SKIP = ["checkbox", "radio", "range", "button", "file", "reset", "submit", "color"];
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (!t || !t.tagName) return;
    const field = t.tagName === "TEXTAREA" || t.isContentEditable
      || (t.tagName === "INPUT" && !SKIP.includes(t.type));
    if (!field || e.isComposing) return;
    const oneLine = t.tagName === "INPUT" && t.closest('[data-testid="stTextInput"]');
    if (e.key === "Escape" || (e.key === "Enter" && oneLine)) {
      setTimeout(() => t.blur(), 0);  // after Streamlit has taken the value
    }
  }, true);
})();
</script>
"""


def _js(value: str) -> str:
    """`value` as a JavaScript string literal that cannot close the script element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def install(reviewer: str) -> None:
    """Render the guard (once per page run; the listener is added once per browser tab)."""
    with st.container(key="wavecurate_keys", height=1, border=False):
        st.html(
            _SCRIPT % {"name": _js(reviewer), "cookie": _js(state.COOKIE_REVIEWER)},
            unsafe_allow_javascript=True,
        )
