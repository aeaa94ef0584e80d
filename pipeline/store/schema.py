"""The workspace schema as a list of forward migrations.

Migration N takes a workspace at schema version N-1 to version N. Never edit a released migration:
append a new one, so that a workspace made by an older wavecurate still opens.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the first release
    """
    CREATE TABLE samples (
        id          TEXT PRIMARY KEY,           -- Sample.id: origin + content
        source      TEXT NOT NULL,              -- stdlib | tree | codesearchnet
        language    TEXT NOT NULL,
        repo        TEXT NOT NULL DEFAULT '',
        path        TEXT NOT NULL DEFAULT '',
        func_name   TEXT NOT NULL DEFAULT '',
        line        INTEGER NOT NULL DEFAULT 0,
        docstring   TEXT NOT NULL,
        code        TEXT NOT NULL,
        code_nodoc  TEXT NOT NULL,
        url         TEXT NOT NULL DEFAULT '',
        partition   TEXT NOT NULL DEFAULT '',
        sha256      TEXT NOT NULL,              -- normalised_hash(code): exact-duplicate key
        dropped_by  TEXT,                       -- NULL: kept; else the first filter rule
        seq         INTEGER NOT NULL            -- ingestion order, stable across runs
    );
    CREATE INDEX samples_dropped ON samples(dropped_by);
    CREATE INDEX samples_seq ON samples(seq);

    -- vectors live in embeddings/<model_key>.npy; this maps text to row
    CREATE TABLE embeddings (
        model_key   TEXT NOT NULL,
        text_hash   TEXT NOT NULL,
        row         INTEGER NOT NULL,
        PRIMARY KEY (model_key, text_hash)
    );

    CREATE TABLE coreset (
        rank        INTEGER PRIMARY KEY,        -- 0-based pick order
        sample_id   TEXT NOT NULL UNIQUE REFERENCES samples(id),
        radius      REAL NOT NULL,              -- covering radius after this pick
        model_key   TEXT NOT NULL
    );

    CREATE TABLE projection (
        sample_id   TEXT PRIMARY KEY REFERENCES samples(id),
        x           REAL NOT NULL,
        y           REAL NOT NULL,
        model_key   TEXT NOT NULL
    );

    CREATE TABLE instances (
        id              TEXT PRIMARY KEY,       -- hash of sample, task, prompt
        sample_id       TEXT NOT NULL REFERENCES samples(id),
        task            TEXT NOT NULL,
        target_language TEXT NOT NULL DEFAULT '',
        instruction     TEXT NOT NULL DEFAULT '',
        input           TEXT NOT NULL DEFAULT '',
        output          TEXT NOT NULL DEFAULT '',
        status          TEXT NOT NULL,          -- InstanceStatus
        error           TEXT NOT NULL DEFAULT '',
        provider        TEXT NOT NULL,
        model           TEXT NOT NULL,
        prompt_version  TEXT NOT NULL,
        prompt_hash     TEXT NOT NULL,
        few_shot_ids    TEXT NOT NULL DEFAULT '[]',  -- JSON list of instance or example ids
        raw_prompt      TEXT NOT NULL DEFAULT '',
        raw_answer      TEXT NOT NULL DEFAULT '',
        call_key        TEXT,                   -- llm_calls.key
        created_at      TEXT NOT NULL
    );
    CREATE INDEX instances_sample ON instances(sample_id);
    CREATE INDEX instances_task ON instances(task, status);

    -- one row per judged instance; per-criterion answers in judgments
    CREATE TABLE judge_results (
        instance_id     TEXT PRIMARY KEY REFERENCES instances(id),
        verdict         TEXT,                   -- accept | reject; NULL when the judge failed
        status          TEXT NOT NULL,          -- ok | failed
        error           TEXT NOT NULL DEFAULT '',
        provider        TEXT NOT NULL,
        model           TEXT NOT NULL,
        prompt_version  TEXT NOT NULL,
        raw_prompt      TEXT NOT NULL DEFAULT '',
        raw_answer      TEXT NOT NULL DEFAULT '',
        call_key        TEXT,
        created_at      TEXT NOT NULL
    );
    CREATE TABLE judgments (
        instance_id TEXT NOT NULL REFERENCES instances(id),
        criterion   TEXT NOT NULL,
        passed      INTEGER NOT NULL,
        rationale   TEXT NOT NULL,
        PRIMARY KEY (instance_id, criterion)
    );

    -- append-only; the latest row per instance that is not undone decides
    CREATE TABLE reviews (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        instance_id TEXT NOT NULL REFERENCES instances(id),
        reviewer    TEXT NOT NULL,
        verdict     TEXT NOT NULL,              -- accept | reject | undo
        flips       TEXT NOT NULL DEFAULT '{}', -- JSON {criterion: passed}
        edits       TEXT NOT NULL DEFAULT '{}', -- JSON {field: new text}
        reason      TEXT NOT NULL DEFAULT '',
        undoes      INTEGER REFERENCES reviews(id),
        created_at  TEXT NOT NULL
    );
    CREATE INDEX reviews_instance ON reviews(instance_id, id);
    CREATE INDEX reviews_undoes ON reviews(undoes);

    -- a review counts unless it is an undo row or has been undone
    CREATE VIEW effective_reviews AS
        SELECT r.* FROM reviews r
        WHERE r.verdict != 'undo'
          AND NOT EXISTS (SELECT 1 FROM reviews u WHERE u.undoes = r.id);
    CREATE VIEW latest_reviews AS
        SELECT e.* FROM effective_reviews e
        WHERE e.id = (SELECT MAX(e2.id) FROM effective_reviews e2
                      WHERE e2.instance_id = e.instance_id);
    -- the final verdict of a generated instance: its latest human review, else the judge's
    CREATE VIEW final_verdicts AS
        SELECT i.id AS instance_id,
               COALESCE(l.verdict, j.verdict) AS verdict,
               CASE WHEN l.verdict IS NOT NULL THEN 'human'
                    WHEN j.verdict IS NOT NULL THEN 'judge' END AS verdict_source,
               j.verdict AS judge_verdict,
               l.verdict AS human_verdict,
               l.reviewer AS reviewer
        FROM instances i
        LEFT JOIN judge_results j ON j.instance_id = i.id
        LEFT JOIN latest_reviews l ON l.instance_id = i.id
        WHERE i.status = 'ok';

    CREATE TABLE flags (
        instance_id TEXT NOT NULL REFERENCES instances(id),
        benchmark   TEXT NOT NULL,
        item_id     TEXT NOT NULL,              -- the benchmark's task_id
        signal      TEXT NOT NULL,              -- ngram | embedding
        score       REAL NOT NULL,
        PRIMARY KEY (instance_id, benchmark, item_id, signal)
    );
    CREATE TABLE flag_clearances (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        instance_id TEXT NOT NULL REFERENCES instances(id),
        reviewer    TEXT NOT NULL,
        reason      TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    -- instances with a benchmark overlap that no reviewer has cleared
    CREATE VIEW flagged_instances AS
        SELECT DISTINCT f.instance_id FROM flags f
        WHERE NOT EXISTS (SELECT 1 FROM flag_clearances c WHERE c.instance_id = f.instance_id);

    -- content-addressed cache of every LLM call, and the resume log
    CREATE TABLE llm_calls (
        key             TEXT PRIMARY KEY,
        provider        TEXT NOT NULL,
        base_url        TEXT NOT NULL DEFAULT '',
        model           TEXT NOT NULL,
        role            TEXT NOT NULL,          -- generator | judge
        request         TEXT NOT NULL,          -- JSON
        response        TEXT,                   -- raw answer text
        stop_reason     TEXT NOT NULL DEFAULT '',  -- end_turn | max_tokens | refusal | skipped...
        status          TEXT NOT NULL,          -- ok | error | pending
        error           TEXT NOT NULL DEFAULT '',
        input_tokens    INTEGER NOT NULL DEFAULT 0,
        output_tokens   INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd        REAL NOT NULL DEFAULT 0,
        batch_id        TEXT,
        created_at      TEXT NOT NULL
    );
    CREATE TABLE batches (
        id          TEXT PRIMARY KEY,           -- the provider's batch id
        provider    TEXT NOT NULL,
        role        TEXT NOT NULL,
        status      TEXT NOT NULL,              -- in_progress | ended | collected
        custom_ids  TEXT NOT NULL,              -- JSON {custom_id: call key}
        created_at  TEXT NOT NULL
    );

    -- small JSON results keyed by name: coverage curves, leakage report
    CREATE TABLE metrics (
        name        TEXT PRIMARY KEY,
        value       TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );

    -- what each stage last ran with: config hash decides whether it must redo
    CREATE TABLE stage_state (
        stage       TEXT PRIMARY KEY,
        config_hash TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );

    CREATE TABLE runs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        stage       TEXT NOT NULL,
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        seconds     REAL,
        config_hash TEXT NOT NULL DEFAULT '',
        counts      TEXT NOT NULL DEFAULT '{}', -- JSON
        status      TEXT NOT NULL               -- running | done | failed | interrupted
    );
    """,
    # 2: records: one definition of "the latest effective review": per (instance, reviewer) in
    # reviewer_latest_reviews, and per instance the newest of those (latest_reviews)
    """
    DROP VIEW latest_reviews;
    CREATE VIEW reviewer_latest_reviews AS
        SELECT e.* FROM effective_reviews e
        WHERE e.id = (SELECT MAX(e2.id) FROM effective_reviews e2
                      WHERE e2.instance_id = e.instance_id AND e2.reviewer = e.reviewer);
    CREATE VIEW latest_reviews AS
        SELECT r.* FROM reviewer_latest_reviews r
        WHERE r.id = (SELECT MAX(r2.id) FROM reviewer_latest_reviews r2
                      WHERE r2.instance_id = r.instance_id);
    """,
    # 3: audit: calibration draws; reviews gain a batch id (bulk decisions) and an import key
    # (an imported line is written once); reviewer flags (a mark for a second look, not a verdict)
    """
    ALTER TABLE reviews ADD COLUMN batch_id TEXT;       -- shared by the rows of one bulk decision
    ALTER TABLE reviews ADD COLUMN import_key TEXT;     -- sha256 of an imported JSONL line's content
    CREATE INDEX reviews_batch ON reviews(batch_id);
    CREATE UNIQUE INDEX reviews_import_key ON reviews(import_key);

    -- a uniform random draw of accepted, unreviewed instances: the calibration sample
    CREATE TABLE calibration_draws (
        instance_id TEXT PRIMARY KEY REFERENCES instances(id),
        draw        INTEGER NOT NULL,           -- 1, 2, ...: one per `audit sample`
        seed        INTEGER NOT NULL,
        population  INTEGER NOT NULL,           -- the frame: eligible + already drawn, at draw time
        drawn_at    TEXT NOT NULL
    );

    -- append-only like reviews: a flag row, or an undo row naming the flag it cancels
    CREATE TABLE review_flags (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        instance_id TEXT NOT NULL REFERENCES instances(id),
        reviewer    TEXT NOT NULL,
        reason      TEXT NOT NULL DEFAULT '',
        batch_id    TEXT,
        undoes      INTEGER REFERENCES review_flags(id),
        created_at  TEXT NOT NULL
    );
    CREATE INDEX review_flags_instance ON review_flags(instance_id);
    CREATE INDEX review_flags_batch ON review_flags(batch_id);
    """,
    # 4: harden2: the process that runs a stage (pid, host, boot id), so that a later open can
    # tell a run whose process is gone (killed) from one still going
    """
    ALTER TABLE runs ADD COLUMN pid INTEGER;
    ALTER TABLE runs ADD COLUMN host TEXT;
    ALTER TABLE runs ADD COLUMN boot_id TEXT;
    """,
    # 5: verify2: execution evidence: the import lines of each sample's file, one execution
    # verdict per instance, and the final verdict gated on it (meta `verify_gate`, '1' or '0',
    # mirrors `[verify] gate`; absent means on)
    """
    ALTER TABLE samples ADD COLUMN imports TEXT NOT NULL DEFAULT '';

    CREATE TABLE executions (
        instance_id   TEXT PRIMARY KEY REFERENCES instances(id),
        verdict       TEXT NOT NULL,            -- pass | fail | inconclusive | not_applicable
        detail        TEXT NOT NULL,
        inputs        TEXT NOT NULL DEFAULT '[]',  -- JSON list of the calls tried, as shown
        agreed        INTEGER NOT NULL DEFAULT 0,
        failing_input TEXT,
        expected      TEXT,
        got           TEXT,
        mechanism     TEXT NOT NULL DEFAULT '',
        seconds       REAL NOT NULL DEFAULT 0,
        config_hash   TEXT NOT NULL,            -- the [verify] settings that decided it
        created_at    TEXT NOT NULL
    );
    CREATE INDEX executions_verdict ON executions(verdict);

    -- the final verdict: the latest human review, else reject when execution failed and the
    -- gate is on, else the judge's
    DROP VIEW final_verdicts;
    CREATE VIEW final_verdicts AS
        SELECT i.id AS instance_id,
               CASE WHEN l.verdict IS NOT NULL THEN l.verdict
                    WHEN x.verdict = 'fail' AND g.gate = '1' THEN 'reject'
                    ELSE j.verdict END AS verdict,
               CASE WHEN l.verdict IS NOT NULL THEN 'human'
                    WHEN x.verdict = 'fail' AND g.gate = '1' THEN 'execution'
                    WHEN j.verdict IS NOT NULL THEN 'judge' END AS verdict_source,
               j.verdict AS judge_verdict,
               l.verdict AS human_verdict,
               l.reviewer AS reviewer,
               x.verdict AS execution_verdict
        FROM instances i
        CROSS JOIN (SELECT COALESCE((SELECT value FROM meta WHERE key = 'verify_gate'), '1')
                    AS gate) g
        LEFT JOIN judge_results j ON j.instance_id = i.id
        LEFT JOIN latest_reviews l ON l.instance_id = i.id
        LEFT JOIN executions x ON x.instance_id = i.id
        WHERE i.status = 'ok';
    """,
    # 6: app: a reviewer's unsaved flips, edits and reason per instance (pipeline/store/drafts.py)
    """
    CREATE TABLE review_drafts (
        instance_id TEXT NOT NULL REFERENCES instances(id),
        reviewer    TEXT NOT NULL,
        flips       TEXT NOT NULL DEFAULT '{}',  -- JSON {criterion: passes}
        edits       TEXT NOT NULL DEFAULT '{}',  -- JSON {field: text}
        reason      TEXT NOT NULL DEFAULT '',
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (instance_id, reviewer)
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
