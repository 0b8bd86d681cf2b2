-- The hash chain over the audit log, who may read the log, and which tables are tracked.
--
-- Rows are written without a hash, so concurrent writers never wait on each other. audit.seal()
-- (a pg_cron job, and before every verification or digest) links the rows of finished
-- transactions in id order: each gets the next chain_seq, the previous row's hash, and
-- sha256(previous hash || canonical row). A row of a transaction still running when the
-- sealer looks is linked by a later run, after whatever was sealed meanwhile.


-- The bytes a row's hash covers: every column but the hash columns, plus its position.
-- Timestamps are rendered in UTC whatever the session's time zone, so a row hashes the same
-- for the sealer and for any verifier.
create function audit.canonical(entry audit.audit_log, seq bigint)
returns bytea
language sql
immutable
set search_path = ''
set timezone = 'UTC'
as $$
    select pg_catalog.convert_to(
        (pg_catalog.jsonb_build_object('chain_seq', seq)
            || (pg_catalog.to_jsonb(entry) - 'chain_seq' - 'prev_hash' - 'row_hash'))::text,
        'UTF8')
$$;


create function audit.seal(max_rows integer default 50000)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    head audit.chain_head;
    entry audit.audit_log;
    horizon xid8 := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot());
    seq bigint;
    hash bytea;
    sealed bigint := 0;
begin
    -- One sealer at a time: the head row is the lock.
    select * into head from audit.chain_head for update;
    seq := head.last_seq;
    hash := head.last_hash;
    for entry in
        select *
        from audit.audit_log as l
        where l.chain_seq is null
            and l.txid < horizon
        order by l.id
        limit max_rows
    loop
        seq := seq + 1;
        update audit.audit_log as l
        set chain_seq = seq,
            prev_hash = hash,
            row_hash = extensions.digest(hash || audit.canonical(entry, seq), 'sha256')
        where l.id = entry.id
            and l.occurred_at = entry.occurred_at
        returning l.row_hash into hash;
        sealed := sealed + 1;
    end loop;
    update audit.chain_head
    set last_seq = seq,
        last_hash = hash,
        sealed_at = pg_catalog.now();
    return sealed;
end
$$;

comment on function audit.seal(integer) is
    'Links unsealed rows of finished transactions into the hash chain; returns how many.';


-- Stable, so the walk and the head are read in one snapshot: a seal that commits while a long
-- chain is walked is not mistaken for rows removed at the end.
create function audit.verify_chain()
returns table (
    valid boolean,
    rows_checked bigint,
    first_bad_seq bigint,
    first_bad_id bigint,
    problem text
)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    entry audit.audit_log;
    head audit.chain_head;
    expected_seq bigint := 0;
    hash bytea := '\x'::bytea;
begin
    rows_checked := 0;
    for entry in
        select * from audit.audit_log as l where l.chain_seq is not null order by l.chain_seq
    loop
        expected_seq := expected_seq + 1;
        if entry.chain_seq <> expected_seq then
            return query select false, rows_checked, expected_seq, null::bigint,
                pg_catalog.format('row %s of the chain is missing (deleted)', expected_seq);
            return;
        end if;
        if entry.prev_hash is distinct from hash then
            return query select false, rows_checked, entry.chain_seq, entry.id,
                'link broken: the row before it was changed, removed or moved'::text;
            return;
        end if;
        if entry.row_hash is distinct from
            extensions.digest(hash || audit.canonical(entry, entry.chain_seq), 'sha256')
        then
            return query select false, rows_checked, entry.chain_seq, entry.id,
                'row content changed after it was recorded'::text;
            return;
        end if;
        hash := entry.row_hash;
        rows_checked := rows_checked + 1;
    end loop;
    select * into head from audit.chain_head;
    if head.last_seq <> expected_seq or head.last_hash is distinct from hash then
        return query select false, rows_checked, expected_seq + 1, null::bigint,
            pg_catalog.format('the chain ends at %s but its head says %s: rows removed at the end',
                expected_seq, head.last_seq);
        return;
    end if;
    return query select true, rows_checked, null::bigint, null::bigint, null::text;
end
$$;

comment on function audit.verify_chain() is
    'Walks the chain and reports the first deleted, moved or changed row, or valid = true.';


-- A digest to keep outside the database: if it no longer matches, history was rewritten.
create function audit.chain_digest()
returns table (last_seq bigint, last_hash text, sealed_at timestamptz)
language sql
stable
security definer
set search_path = ''
as $$
    select h.last_seq, pg_catalog.encode(h.last_hash, 'hex'), h.sealed_at
    from audit.chain_head as h
$$;

create function audit.digest_matches(seq bigint, expected_hash text)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
    select exists (
        select 1
        from audit.audit_log as l
        where l.chain_seq = seq
            and pg_catalog.encode(l.row_hash, 'hex') = expected_hash
    )
$$;

comment on function audit.digest_matches(bigint, text) is
    'True when the sealed row at seq still has the hash an exported digest recorded.';


-- Reading the log: ADMIN and SUPERADMIN (audit:view) at aal2, through RLS. No client writes.
alter table audit.audit_log enable row level security;
alter table audit.chain_head enable row level security;
grant select on audit.audit_log to authenticated, service_role;
grant select on audit.chain_head to service_role;

create policy "active sessions only, privileged ones at aal2"
    on audit.audit_log
    as restrictive
    for all
    to authenticated
    using ((select private.session_allowed()))
    with check ((select private.session_allowed()));

create policy "admins read the audit trail"
    on audit.audit_log
    for select
    to authenticated
    using ((select private.authorize('audit:view')));

revoke all on function audit.canonical(audit.audit_log, bigint) from public;
revoke all on function audit.seal(integer) from public, anon, authenticated;
revoke all on function audit.verify_chain() from public, anon, authenticated;
revoke all on function audit.chain_digest() from public, anon, authenticated;
revoke all on function audit.digest_matches(bigint, text) from public, anon, authenticated;
grant execute on function audit.seal(integer), audit.verify_chain(), audit.chain_digest(),
    audit.digest_matches(bigint, text) to service_role;


-- Tables whose changes are recorded.
select audit.enable_tracking('public.users');
select audit.enable_tracking('public.submissions');
select audit.enable_tracking('public.submission_attachments');
select audit.enable_tracking('public.points_ledger');
select audit.enable_tracking('public.earned_badges');
select audit.enable_tracking('private.role_changes');
select audit.enable_tracking('private.status_changes');
