-- The audit trail: every command accepted or refused, append-only.
create table if not exists allocation_audit
(
    sequence bigint generated always as identity primary key,
    at timestamptz not null,
    user_id text not null,
    roles text not null,
    action text not null,
    outcome text not null,
    status integer not null,
    request_id text,
    trace_id text,
    child_id text,
    team_id text,
    worker_id text,
    other_team_id text,
    other_worker_id text,
    rule text,
    figures text,
    reason text,
    override_reason text,
    detail text,
    -- A retry of the same command with the same outcome is the same decision.
    dedup_key text unique
);

create index if not exists allocation_audit_child on allocation_audit (child_id, sequence) where child_id is not null;
create index if not exists allocation_audit_worker on allocation_audit (worker_id, sequence) where worker_id is not null;
create index if not exists allocation_audit_other_worker on allocation_audit (other_worker_id, sequence) where other_worker_id is not null;
create index if not exists allocation_audit_team on allocation_audit (team_id, sequence) where team_id is not null;
create index if not exists allocation_audit_other_team on allocation_audit (other_team_id, sequence) where other_team_id is not null;
create index if not exists allocation_audit_at on allocation_audit (at);

-- Append-only: rows are never changed or removed, whoever connects.
create or replace function allocation_audit_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'allocation_audit is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
end;
$$;

drop trigger if exists allocation_audit_no_update_delete on allocation_audit;
create trigger allocation_audit_no_update_delete before update or delete on allocation_audit
    for each row execute function allocation_audit_append_only();

drop trigger if exists allocation_audit_no_truncate on allocation_audit;
create trigger allocation_audit_no_truncate before truncate on allocation_audit
    for each statement execute function allocation_audit_append_only();
