"""Finding samples by text: function name, docstring or code (the Map page's search)."""

from __future__ import annotations

from pipeline.store import Workspace


def search_samples(ws: Workspace, text: str, limit: int = 50_000) -> list[str]:
    """Ids of the projected samples whose function name, docstring or code contains `text`
    (case-insensitive for ASCII, matched literally: `%` and `_` are not wildcards), in ingestion
    order, at most `limit`. Empty for empty text."""
    text = text.strip()
    if not text:
        return []
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return [
        str(r[0])
        for r in ws.db.execute(
            "SELECT s.id FROM samples s JOIN projection p ON p.sample_id = s.id "
            "WHERE s.func_name LIKE ?1 ESCAPE '\\' OR s.docstring LIKE ?1 ESCAPE '\\' "
            "OR s.code LIKE ?1 ESCAPE '\\' ORDER BY s.seq LIMIT ?2",
            (pattern, limit),
        )
    ]
