-- The audit trail's indexes, smaller. Two thirds of the trail's WAL was index maintenance, the largest part the
-- unique index on the whole dedup key (action, id, request id, outcome and user: about 80 bytes an entry).
-- A retry's entry is still skipped by a unique index, now on the key's 16-byte MD5 digest: the key itself stays in
-- the row. Two different keys sharing a digest (one entry then not recorded) is a chance of less than 1 in 10^20 in a
-- billion entries. Built from the rows already there, so entries written before this step are covered too.
create unique index if not exists allocation_audit_dedup on allocation_audit ((md5(dedup_key)::uuid));
alter table allocation_audit drop constraint if exists allocation_audit_dedup_key_key;

-- Entries are appended in time order, so a block-range index answers "from ... to ..." for a fraction of a B-tree's
-- size and upkeep (one summary a 128 pages, not an entry a row).
drop index if exists allocation_audit_at;
create index if not exists allocation_audit_at on allocation_audit using brin (at);
