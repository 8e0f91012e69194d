-- runs_project and runs_workflow were declared newest first (created_at
-- DESC, id DESC). Runs are created in time order, so every new run went
-- to the left edge of both B-trees, where SQLite splits pages without its
-- append optimisation: about twice the pages written per commit, half-full
-- pages. In ascending order a new run is an append; the newest-first
-- listing reads the same index backwards (TestListRunsPlansUseAnIndex).
DROP INDEX runs_project;
CREATE INDEX runs_project ON runs(project_id, created_at, id);
DROP INDEX runs_workflow;
CREATE INDEX runs_workflow ON runs(project_id, workflow_id, created_at, id);
