"""Export: the curated set filtered, previewed and downloaded (`build_export`, as the CLI)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import data
from pipeline.records import VERDICTS, ExportFilters, ExportFormat, Verdict
from pipeline.stages.export import FORMATS

ANY = "any"
RESULT_KEY = "export_result"  # (filters fingerprint, Export)

token = data.tokens()
f = data.funnel()
tasks, _ = data.facets()
languages = sorted((f.get("by_language") or {}).keys())
reviewers = data.reviewer_names()

st.title("Export", anchor=False)
st.caption(
    "The same export as `wavecurate export`: each instance's final verdict is its latest human "
    "review, else the judge's; reviewers' edits replace the generated text. The export is "
    "rebuilt whenever a filter, the format or the workspace changes, so the file downloaded is "
    "always the one counted and previewed here."
)

with st.container(border=True, key="export_form"):
    st.subheader("Filters", anchor=False)
    row1 = st.columns(3, gap="medium")
    sel_tasks = row1[0].multiselect("Tasks", tasks, placeholder="All tasks", key="ex_tasks")
    sel_langs = row1[1].multiselect(
        "Source languages", languages, placeholder="All languages", key="ex_langs"
    )
    sel_reviewers = row1[2].multiselect(
        "Deciding reviewer", reviewers, placeholder="Anyone", key="ex_reviewers"
    )
    row2 = st.columns(3, gap="medium", vertical_alignment="bottom")
    source = row2[0].segmented_control(
        "Verdict from", [ANY, "human", "judge"], default=ANY, required=True, key="ex_source"
    )
    verdicts = row2[1].pills(
        "Final verdicts",
        list(VERDICTS),
        selection_mode="multi",
        default=[Verdict.ACCEPT.value],
        key="ex_verdicts",
        help="Take rejected instances too, for example as negative examples.",
    )
    include_flagged = row2[2].toggle(
        "Include flagged",
        key="ex_flagged",
        help="Take instances flagged for benchmark overlap that no reviewer has cleared.",
    )
    fmt = st.segmented_control(
        "Format",
        list(FORMATS),
        default=ExportFormat.ALPACA.value,
        required=True,
        key="ex_format",
        help="alpaca: instruction/input/output (what WaveCoder trained on); messages: chat "
        "turns for SFT trainers; full: every field with provenance.",
    )

filters = ExportFilters(
    tasks=list(sel_tasks) or None,
    languages=list(sel_langs) or None,
    verdict_source=None if source == ANY else str(source),
    reviewers=list(sel_reviewers) or None,
    include_flagged=bool(include_flagged),
    verdicts=tuple(verdicts or (Verdict.ACCEPT.value,)),
)
fingerprint = repr((filters.as_dict(), fmt, token))
result: Any = st.session_state.get(RESULT_KEY)
if result is None or result[0] != fingerprint:
    with st.spinner("Building the export…"):
        export = data.export(ExportFormat(str(fmt)), filters)
    st.session_state[RESULT_KEY] = (fingerprint, export)
else:
    export = result[1]

with st.container(border=True):
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.metric("Instances", f"{export.count:,}", border=True)
        for task, n in sorted((export.manifest.get("counts", {}).get("by_task") or {}).items()):
            st.metric(task.replace("code_", "").capitalize(), f"{n:,}", border=True)
    with st.container(horizontal=True):
        st.download_button(
            "Download JSONL",
            export.jsonl,
            file_name=f"wavecurate-{fmt}.jsonl",
            mime="application/jsonl",
            type="primary",
            icon=":material/download:",
            disabled=export.count == 0,
            key="ex_download",
        )
        st.download_button(
            "Manifest",
            export.manifest_json,
            file_name=f"wavecurate-{fmt}.manifest.json",
            mime="application/json",
            icon=":material/data_object:",
            key="ex_manifest",
        )
        st.download_button(
            "Dataset card",
            export.card,
            file_name=f"wavecurate-{fmt}.card.md",
            mime="text/markdown",
            icon=":material/description:",
            key="ex_card",
        )

    if export.count == 0:
        st.info("No instance matches these filters.", icon=":material/filter_alt_off:")
    else:
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.subheader("Preview", anchor=False)
            view = st.segmented_control(
                "Show as",
                ["table", "JSONL"],
                default="table",
                required=True,
                key="ex_preview",
                label_visibility="collapsed",
            )
        lines = export.jsonl.splitlines()
        if view == "table":
            shown = min(50, export.count)
            st.caption(f"The first {shown} of {export.count:,} instances.")
            st.dataframe(
                data.export_preview(export.rows),
                hide_index=True,
                height=360,
                alt="The first instances of the export",
            )
        else:
            st.caption(f"The first {min(5, len(lines))} of {len(lines):,} lines.")
            st.code("\n".join(lines[:5]), language="json", wrap_lines=True, height=360)

with st.expander("Manifest and dataset card", icon=":material/description:"):
    st.json(export.manifest, expanded=1)
    st.code(export.card, language="markdown", wrap_lines=True)
