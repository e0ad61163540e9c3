-- The object write paths never scan versions or parts sequentially (issue 5). Their statements find a key's
-- versions through the (bucket_id, key) indexes, but the planner prefers a sequential scan whenever the statistics
-- say the table is empty: after a bucket was emptied and autovacuum analyzed it, a refill ran every PUT's
-- weft_retire_current_version as two scans of the whole versions table (59 pages read per call instead of 4; 2.5x
-- the PostgreSQL CPU per PUT) until the next analyze, which a busy autovacuum can put off for minutes. A function's
-- own setting applies to everything it calls, for the length of the call.
alter function weft_put_inline_versions(jsonb, bytea) set enable_seqscan = off;
alter function weft_commit_version(bigint, jsonb) set enable_seqscan = off;
alter function weft_delete_object(bigint, text, boolean, text) set enable_seqscan = off;
alter function weft_delete_current_object(text, text, text, text) set enable_seqscan = off;
