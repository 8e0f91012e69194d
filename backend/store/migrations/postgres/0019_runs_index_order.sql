-- PostgreSQL twin of ../0019_runs_index_order.sql: the same two indexes in
-- ascending order. A B-tree scans either way, and PostgreSQL's fast path
-- for inserts (it remembers the rightmost leaf) also only helps keys that
-- grow, as created_at does.
DROP INDEX runs_project;
CREATE INDEX runs_project ON runs(project_id, created_at, id);
DROP INDEX runs_workflow;
CREATE INDEX runs_workflow ON runs(project_id, workflow_id, created_at, id);
