-- trigger_schedules.spec joined the cron expression and the time zone
-- with a NUL byte, which PostgreSQL's text cannot hold; it is a newline
-- now. Rewriting the stored specs keeps every schedule's next slot (a spec
-- that differs from the trigger's starts over from now). The bytes are
-- handled as a BLOB: SQLite's text functions stop at a NUL.
UPDATE trigger_schedules
   SET spec = CAST(substr(CAST(spec AS BLOB), 1, instr(CAST(spec AS BLOB), X'00') - 1) || X'0A' ||
                   substr(CAST(spec AS BLOB), instr(CAST(spec AS BLOB), X'00') + 1) AS TEXT)
 WHERE instr(CAST(spec AS BLOB), X'00') > 0;
