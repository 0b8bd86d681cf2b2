-- audit_chain_apart: written by hand (it moves data, which a schema diff cannot do). The
-- statements migra computes for the rest of this change follow in the next migration.
--
-- The hash chain leaves the audit log for a narrow side table, audit.chain, so that sealing
-- only appends and the log is never updated; audit.audit_log.txid becomes a number (bigint)
-- so that a BRIN index can find new events, and the chain's partial indexes go. The chain is
-- then rebuilt over the existing events in id order. Before anything moves, the old chain
-- must verify: a broken one stops the migration, so that rebuilding can never hide tampering.
-- The event audit.chain_rebuilt (recorded when there was a chain) keeps the old head (position and hash) so that digests
-- exported before the rebuild can still be related to it.

do $$
declare
    verdict record;
begin
    perform audit.seal(100000000);
    select * into verdict from audit.verify_chain();
    if not verdict.valid then
        raise exception 'the audit chain is broken at seq % (%): not rebuilding it',
            verdict.first_bad_seq, verdict.problem
            using hint = 'Investigate with audit.verify_chain() before migrating.';
    end if;
end
$$;

create temporary table previous_head on commit drop as
select h.last_seq, pg_catalog.encode(h.last_hash, 'hex') as last_hash
from audit.chain_head as h;

drop index if exists audit.audit_log_unsealed_idx;
drop index if exists audit.audit_log_chain_idx;
drop index if exists audit.audit_log_target_idx;

alter table audit.audit_log
    alter column txid drop default,
    alter column txid type bigint using txid::text::bigint,
    alter column txid set default pg_catalog.pg_current_xact_id()::text::bigint,
    drop column chain_seq,
    drop column prev_hash,
    drop column row_hash;

create index audit_log_record_idx
    on audit.audit_log (record_id)
    where record_id is not null;
create index audit_log_txid_brin
    on audit.audit_log using brin (txid) with (autosummarize = on);

create table audit.chain (
    seq bigint not null,
    log_id bigint not null,
    occurred_at timestamptz not null,
    row_hash bytea not null,
    primary key (seq, occurred_at),
    unique (log_id, occurred_at)
) partition by range (occurred_at);

create table audit_partitions.chain_default
    partition of audit.chain default;

-- A chain partition for every month the log has one.
do $$
declare
    part record;
begin
    for part in
        select pg_catalog.substr(c.relname, 11) as suffix
        from pg_catalog.pg_inherits as i
        join pg_catalog.pg_class as c on c.oid = i.inhrelid
        where i.inhparent = 'audit.audit_log'::regclass
            and c.relname ~ '^audit_log_[0-9]{4}_[0-9]{2}$'
    loop
        execute pg_catalog.format(
            'create table audit_partitions.%I partition of audit.chain for values from (%L) to (%L)',
            'chain_' || part.suffix,
            pg_catalog.to_date(part.suffix, 'YYYY_MM'),
            (pg_catalog.to_date(part.suffix, 'YYYY_MM') + interval '1 month')::date);
        execute pg_catalog.format('create trigger no_truncate before truncate on '
            || 'audit_partitions.%I for each statement execute function audit.refuse_truncate()',
            'chain_' || part.suffix);
    end loop;
end
$$;

create trigger no_truncate before truncate on audit_partitions.chain_default
    for each statement execute function audit.refuse_truncate();

create table audit.retired_links (
    first_seq bigint primary key,
    last_seq bigint not null,
    last_hash bytea not null,
    partition_month date not null,
    retired_at timestamptz not null default pg_catalog.now(),
    check (last_seq >= first_seq)
);

alter table audit.chain_head add column next_txid bigint not null default 0;

-- The chain and the record of retired runs are append-only like the log.
create trigger chain_append_only
    before update or delete on audit.chain
    for each row execute function audit.refuse_changes();
create trigger retired_links_append_only
    before update or delete on audit.retired_links
    for each statement execute function audit.refuse_changes();
create trigger chain_no_truncate
    before truncate on audit.chain
    for each statement execute function audit.refuse_truncate();
create trigger retired_links_no_truncate
    before truncate on audit.retired_links
    for each statement execute function audit.refuse_truncate();
alter trigger audit_log_default_no_truncate on audit_partitions.audit_log_default
    rename to no_truncate;

-- The functions the rebuild needs, as sql/72_audit_chain.sql defines them.
create or replace function audit.canonical(entry audit.audit_log, seq bigint)
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

create or replace function audit.seal(max_rows integer default 50000)
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
    end loop;

    insert into audit.chain (seq, log_id, occurred_at, row_hash)
    select *
    from rows from (pg_catalog.unnest(seqs), pg_catalog.unnest(ids), pg_catalog.unnest(stamps),
        pg_catalog.unnest(hashes));

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

-- Rebuild: an empty chain, then every event sealed again (they all belong to finished
-- transactions but this one, which has written none yet).
update audit.chain_head
set last_seq = 0,
    last_hash = '\x'::bytea,
    next_txid = 0,
    sealed_at = null;

select audit.seal(100000000);

select audit.record_event('audit.chain_rebuilt', 'audit.chain', null, 'SUCCESS',
    pg_catalog.jsonb_build_object(
        'previous_last_seq', p.last_seq,
        'previous_last_hash', p.last_hash,
        'reason', 'chain moved to audit.chain'))
from previous_head as p
where p.last_seq > 0;
