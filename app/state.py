"""Session-state keys that more than one page reads or writes (one place, no string literals).

Keys used by one page only stay in that page.
"""

from __future__ import annotations

REVIEWER = "reviewer"  # the reviewer's name (sidebar text input)
WORKSPACE_PATH = "workspace_path"  # the workspace folder of this session
WORKSPACE = "_workspace"  # this session's open Workspace
REVIEW_IDS = "review_ids"  # a selection sent to the Review page: list of instance ids, or None
REVIEW_IDS_LABEL = "review_ids_label"  # what that selection is, for the Review page's caption
REVIEW_SOURCE = "review_source"  # the Review page's queue source (pipeline.review.QueueSource)
UNDO_STACK = "review_undo"  # this session's decisions, latest last: [{"id", "verdict", "who"}]

COOKIE_REVIEWER = "wavecurate_reviewer"  # the reviewer's name, kept by the browser
QUERY_REVIEWER = "reviewer"  # ?reviewer= kept in every link
QUERY_INSTANCE = "instance"  # ?instance= opens one instance on the Review page
