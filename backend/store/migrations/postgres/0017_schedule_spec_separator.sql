-- PostgreSQL twin of ../0017_schedule_spec_separator.sql: PostgreSQL never
-- stored a NUL-separated spec, so there is nothing to rewrite.
SELECT 1;
