"""Small Streamlit building blocks shared by more than one page."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import streamlit as st


def decimals_table(frame: pd.DataFrame, columns: Iterable[str], alt: str) -> None:
    """`frame` as a table without its index, `columns` (names in `frame`) shown to three
    decimals; `alt` is the text a screen reader announces."""
    st.dataframe(
        frame,
        hide_index=True,
        column_config={c: st.column_config.NumberColumn(c, format="%.3f") for c in columns},
        alt=alt,
    )
