-- events_workflow served the workflow channel's replay, which reads only
-- workflow.* events, but it indexed every event that carries a workflow
-- id: every run.* and node.* event too, one more B-tree insert for each
-- of a run's events. It now holds only what the channel reads.
DROP INDEX events_workflow;
CREATE INDEX events_workflow ON events(workflow_id, seq) WHERE type LIKE 'workflow.%';
