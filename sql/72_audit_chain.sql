-- The hash chain over the audit log, who may read the log, and which tables are tracked.
--
-- Rows are written without a hash, so concurrent writers never wait on each other. audit.seal()
-- (a pg_cron job, and before every verification or digest) links the rows of finished
-- transactions in id order: each gets the next position in audit.chain with
-- sha256(previous hash || canonical row). A row of a transaction still running when the
-- sealer looks is linked by a later run, after whatever was sealed meanwhile. Sealing only
-- appends to audit.chain: the log itself is never updated.


-- The bytes a row's hash covers: every column of the event, plus its position in the chain.
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
            || pg_catalog.to_jsonb(entry))::text,
        'UTF8')
$$;


create function audit.seal(max_rows integer default 50000)
returns bigint
language plpgsql
security definer
set search_path = ''
set jit = off
as $$
declare
    head audit.chain_head;
    entry audit.audit_log;
    -- Transactions below the horizon have all finished: no new row of theirs can appear.
    horizon bigint := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint;
    seq bigint;
    hash bytea;
    seqs bigint[] := '{}';
    ids bigint[] := '{}';
    stamps timestamptz[] := '{}';
    hashes bytea[] := '{}';
    records uuid[] := '{}';
begin
    -- One sealer at a time: the head row is the lock.
    select * into head from audit.chain_head for update;
    seq := head.last_seq;
    hash := head.last_hash;
    -- Rows of transactions from next_txid up to the horizon, not yet linked (a run that hit
    -- max_rows leaves some behind and keeps its bookmark).
    for entry in
        select l.*
        from audit.audit_log as l
        where l.txid >= head.next_txid
            and l.txid < horizon
            and not exists (
                select 1
                from audit.chain as c
                where c.log_id = l.id
                    and c.occurred_at = l.occurred_at
            )
        order by l.id
        limit max_rows
    loop
        seq := seq + 1;
        hash := extensions.digest(hash || audit.canonical(entry, seq), 'sha256');
        seqs := seqs || seq;
        ids := ids || entry.id;
        stamps := stamps || entry.occurred_at;
        hashes := hashes || hash;
        records := records || entry.record_id;
    end loop;

    insert into audit.chain (seq, log_id, occurred_at, row_hash, record_id)
    select *
    from rows from (pg_catalog.unnest(seqs), pg_catalog.unnest(ids), pg_catalog.unnest(stamps),
        pg_catalog.unnest(hashes), pg_catalog.unnest(records));

    update audit.chain_head
    set last_seq = seq,
        last_hash = hash,
        next_txid = case
            when pg_catalog.cardinality(ids) < max_rows then horizon
            else head.next_txid
        end,
        sealed_at = pg_catalog.now();
    return pg_catalog.cardinality(ids);
end
$$;

comment on function audit.seal(integer) is
    'Links unsealed rows of finished transactions into the hash chain; returns how many.';


-- Stable, so the walk and the head are read in one snapshot: a seal that commits while a long
-- chain is walked is not mistaken for rows removed at the end. Runs retired by the retention
-- job are stepped over, resuming from the hash they ended with.
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
set jit = off
as $$
declare
    link record;
    retired audit.retired_links;
    head audit.chain_head;
    expected_seq bigint := 1;
    hash bytea := '\x'::bytea;
begin
    rows_checked := 0;
    for link in
        select c.seq, c.log_id, c.row_hash, l as entry, l.id is not null as present
        from audit.chain as c
        left join audit.audit_log as l
            on l.id = c.log_id
            and l.occurred_at = c.occurred_at
        order by c.seq
    loop
        -- Step over retired runs that start where the chain is expected to continue.
        loop
            select * into retired from audit.retired_links as r where r.first_seq = expected_seq;
            exit when not found or link.seq = expected_seq;
            expected_seq := retired.last_seq + 1;
            hash := retired.last_hash;
        end loop;
        if link.seq <> expected_seq then
            return query select false, rows_checked, expected_seq, null::bigint,
                pg_catalog.format('link %s of the chain is missing (deleted)', expected_seq);
            return;
        end if;
        if not link.present then
            return query select false, rows_checked, link.seq, link.log_id,
                'the event this link seals was deleted'::text;
            return;
        end if;
        if link.row_hash is distinct from
            extensions.digest(hash || audit.canonical(link.entry, link.seq), 'sha256')
        then
            return query select false, rows_checked, link.seq, link.log_id,
                'row content changed, or rows swapped, after it was sealed'::text;
            return;
        end if;
        hash := link.row_hash;
        expected_seq := expected_seq + 1;
        rows_checked := rows_checked + 1;
    end loop;
    -- Retired runs at the very end (or a chain wholly retired).
    loop
        select * into retired from audit.retired_links as r where r.first_seq = expected_seq;
        exit when not found;
        expected_seq := retired.last_seq + 1;
        hash := retired.last_hash;
    end loop;
    select * into head from audit.chain_head;
    if head.last_seq <> expected_seq - 1 or head.last_hash is distinct from hash then
        return query select false, rows_checked, expected_seq, null::bigint,
            pg_catalog.format('the chain ends at %s but its head says %s: rows removed at the end',
                expected_seq - 1, head.last_seq);
        return;
    end if;
    return query select true, rows_checked, null::bigint, null::bigint, null::text;
end
$$;

comment on function audit.verify_chain() is
    'Walks the chain and reports the first deleted, moved or changed row, or valid = true.';


-- Every event about one row of a tracked table, oldest first: sealed ones through the chain's
-- index, the few not sealed yet from the end of the log (BRIN on txid). For admins with
-- audit:view at aal2 (checked here, as the function reads past RLS), and the service.
create function audit.record_history(target regclass, key text)
returns setof audit.audit_log
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    wanted uuid := audit.record_key(target, key);
    bookmark bigint := (select h.next_txid from audit.chain_head as h);
begin
    if pg_catalog.current_setting('role', true) is distinct from 'service_role'
        and not (private.authorize('audit:view') and private.session_allowed())
    then
        raise exception 'not allowed to read the audit trail'
            using errcode = 'insufficient_privilege',
                hint = 'Reading the audit trail takes audit:view (ADMIN) at aal2.';
    end if;
    return query
    select l.*
    from (
        select c.log_id, c.occurred_at
        from audit.chain as c
        where c.record_id = wanted
        union
        select u.id, u.occurred_at
        from audit.audit_log as u
        where u.txid >= bookmark
            and u.record_id = wanted
    ) as found
    join audit.audit_log as l on l.id = found.log_id and l.occurred_at = found.occurred_at
    order by l.id;
end
$$;

comment on function audit.record_history(regclass, text) is
    'Events about one row (table and primary key as text, compound keys joined with commas), '
    'oldest first. Caller: audit:view at aal2, or the service role.';


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
    select case
        when exists (select 1 from audit.chain as c where c.seq = digest_matches.seq) then exists (
            select 1
            from audit.chain as c
            where c.seq = digest_matches.seq
                and pg_catalog.encode(c.row_hash, 'hex') = expected_hash)
        -- A position the retention job retired: only the end of a retired run kept its hash.
        when exists (
            select 1
            from audit.retired_links as r
            where digest_matches.seq between r.first_seq and r.last_seq
        ) then (
            select pg_catalog.encode(r.last_hash, 'hex') = expected_hash
            from audit.retired_links as r
            where r.last_seq = digest_matches.seq)
        else false
    end
$$;

comment on function audit.digest_matches(bigint, text) is
    'True when the chain at seq still has the hash an exported digest recorded; false when it '
    'does not or seq was never sealed; null when seq was retired with an expired month.';


-- Reading the log: ADMIN and SUPERADMIN (audit:view) at aal2, through RLS. No client writes.
alter table audit.audit_log enable row level security;
alter table audit.chain enable row level security;
alter table audit.chain_head enable row level security;
alter table audit.retired_links enable row level security;
grant select on audit.audit_log to authenticated, service_role;
grant select on audit.chain, audit.chain_head, audit.retired_links to service_role;

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
revoke all on function audit.record_history(regclass, text) from public, anon;
grant execute on function audit.record_history(regclass, text) to authenticated, service_role;
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
select audit.enable_tracking('private.member_identifiers');
