-- PostgreSQL twin of ../0008_child_runs.sql.
ALTER TABLE runs ADD COLUMN parent_run_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN parent_node_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN item_index INTEGER NOT NULL DEFAULT -1;
ALTER TABLE runs ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN rerun_of TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN rerun_from TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_children ON runs(parent_run_id, parent_node_id, item_index) WHERE parent_run_id != '';
