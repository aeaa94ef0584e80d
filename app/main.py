"""The wavecurate app: `st.navigation` router plus the sidebar (workspace, reviewer's name).

Run `wavecurate app --workspace DIR`, or `streamlit run app/main.py -- --workspace DIR`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # `streamlit run app/main.py` from a checkout
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from app import data, keyboard, state  # noqa: E402
from app.text import plain  # noqa: E402

st.set_page_config(page_title="wavecurate", page_icon=":material/waves:", layout="wide")

ws_root = data.workspace().root
data.prewarm_map()
if not st.session_state.get(state.REVIEWER):
    # the name survives a reload and a deep link: ?reviewer= (kept in every link), else the
    # browser's cookie, else $WAVECURATE_REVIEWER
    cookie = st.context.cookies.get(state.COOKIE_REVIEWER)
    known = (
        st.query_params.get(state.QUERY_REVIEWER)
        or (cookie if isinstance(cookie, str) else "")  # (not a str under AppTest)
        or os.environ.get(data.ENV_REVIEWER, "")
    ).strip()
    if known or state.REVIEWER not in st.session_state:
        st.session_state[state.REVIEWER] = known

page = st.navigation(
    [
        st.Page(
            "views/overview.py",
            title="Overview",
            icon=":material/dashboard:",
            default=True,
            help="The funnel from ingested samples to the exportable set, cost, tokens and "
            "stage timings, and the benchmark-leakage report.",
        ),
        st.Page(
            "views/map.py",
            title="Map",
            icon=":material/scatter_plot:",
            help="The 2-D projection of the pool with the coreset highlighted. Select samples "
            "with a box or lasso, open one, and send a selection to review.",
        ),
        st.Page(
            "views/review.py",
            title="Review",
            icon=":material/rate_review:",
            help="One instance at a time beside its source and the judge's rationales: "
            "accept (A), reject (X), flip a criterion, edit a field, undo.",
        ),
        st.Page(
            "views/agreement.py",
            title="Agreement",
            icon=":material/handshake:",
            help="Human vs judge confusion matrices and Cohen's kappa, per criterion and "
            "per reviewer, and human vs human on instances reviewed twice.",
        ),
        st.Page(
            "views/export.py",
            title="Export",
            icon=":material/download:",
            help="Filter the curated set, pick a format, preview it and download the JSONL "
            "with its manifest and dataset card.",
        ),
    ]
)

with st.sidebar:
    st.text_input(
        "Reviewer",
        key=data.REVIEWER_KEY,
        placeholder="Your name",
        icon=":material/person:",
        help="Every review you record carries this name.",
    )
    with st.container(border=True):
        st.caption("Workspace")
        st.markdown(f"**{plain(ws_root.name)}**")
        st.caption(plain(str(ws_root)))

me = data.reviewer()
if me and st.query_params.get(state.QUERY_REVIEWER) != me:
    st.query_params[state.QUERY_REVIEWER] = me
elif not me and state.QUERY_REVIEWER in st.query_params:
    del st.query_params[state.QUERY_REVIEWER]
keyboard.install(me)
page.run()
