-- Control flow: child runs (started by a workflow or forEach node of a
-- parent run; item_index is the forEach item, -1 for a workflow node),
-- their nesting depth, and re-runs (rerun_of: the run this one re-runs,
-- rerun_from: the node it starts from). Child runs have no job of their
-- own (job_id 0): they execute inside their parent's job.
ALTER TABLE runs ADD COLUMN parent_run_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN parent_node_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN item_index INTEGER NOT NULL DEFAULT -1;
ALTER TABLE runs ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN rerun_of TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN rerun_from TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_children ON runs(parent_run_id, parent_node_id, item_index) WHERE parent_run_id != '';
