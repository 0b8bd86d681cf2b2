-- The audit trail: one append-only, partitioned log of row changes and privileged acts.
--
-- Rules it keeps:
-- * it never holds personal data: columns listed in private.data_classification, and any
--   bytea column (ciphertext, keys), appear only by name in changed_fields, never by value;
-- * the actor is taken from the verified JWT claims for users; without a user it is the
--   service, cron or the system, so a NULL auth.uid() never fails a write and never names
--   the wrong party; request context (ip, user agent, request id) is recorded, never trusted;
-- * no application role, the owner included, can UPDATE, DELETE or TRUNCATE a recorded event
--   (guard triggers in 71_audit_capture.sql); only the retention job removes whole expired
--   partitions, never one under a legal hold (74_audit_retention.sql);
-- * rows are linked into a hash chain kept in a narrow side table, audit.chain (audit.seal,
--   72_audit_chain.sql), and audit.verify_chain() finds an edited, deleted or reordered row.


create schema if not exists audit;
comment on schema audit is
    'Audit trail: append-only event log, its hash chain and the compliance views over it.';

revoke all on schema audit from public;
grant usage on schema audit to authenticated, service_role;

-- The monthly partitions live apart: they are created by a job as time passes (data more than
-- schema), and schema comparison tools need not walk them. Nobody but the owner uses it.
create schema if not exists audit_partitions;
comment on schema audit_partitions is
    'Monthly partitions of audit.audit_log, created by audit.ensure_partitions().';
revoke all on schema audit_partitions from public;


create type audit.actor_type as enum ('USER', 'SERVICE', 'CRON', 'SYSTEM');
comment on type audit.actor_type is
    'USER: a signed-in member (actor_id set); SERVICE: the service-role key; CRON: a pg_cron '
    'job; SYSTEM: anything else (migrations, maintenance as the owner).';

create type audit.outcome as enum ('SUCCESS', 'FAILURE', 'PARTIAL');


create table audit.audit_log (
    id bigint generated always as identity,
    occurred_at timestamptz not null default pg_catalog.clock_timestamp(),
    actor_id uuid,
    actor_type audit.actor_type not null,
    action text not null
        check (action ~ '^[a-z_]+(\.[a-z_]+)*$'),
    target_type text not null,
    target_id text,
    record_id uuid,
    outcome audit.outcome not null default 'SUCCESS',
    ip_address inet,
    user_agent text
        check (pg_catalog.length(user_agent) <= 512),
    session_id uuid,
    request_id text
        check (pg_catalog.length(request_id) <= 64),
    changed_fields text[],
    metadata jsonb not null default '{}'::jsonb,
    txid bigint not null default pg_catalog.pg_current_xact_id()::text::bigint,
    primary key (id, occurred_at)
) partition by range (occurred_at);

comment on table audit.audit_log is
    'Append-only audit events, partitioned by month. Row changes come from audit triggers '
    '(audit.enable_tracking), other acts from audit.record_event().';
comment on column audit.audit_log.action is
    'insert, update or delete for row changes; dotted names for acts, e.g. dsar.export.';
comment on column audit.audit_log.target_type is
    'The table (schema.table) for row changes, or the kind of object an act was about.';
comment on column audit.audit_log.record_id is
    'Stable id of the changed row, audit.record_key(table, key): md5 of '
    '''<schema>.<table>:<primary key>'' as a uuid: follows one row''s history, see '
    'audit.record_history().';
comment on column audit.audit_log.changed_fields is
    'Columns whose value changed (NULL-aware). Personal or secret columns appear only here.';
comment on column audit.audit_log.metadata is
    'For row changes, new values of columns that are neither personal nor secret; for acts, '
    'the caller''s details. Never personal data.';
comment on column audit.audit_log.txid is
    'Writing transaction (pg_current_xact_id as a number); audit.seal() links only rows of '
    'finished transactions, and finds the new ones by this column (BRIN-indexed).';

create table audit_partitions.audit_log_default
    partition of audit.audit_log default;

create index audit_log_occurred_brin
    on audit.audit_log using brin (occurred_at);
create index audit_log_actor_idx
    on audit.audit_log (actor_id, occurred_at)
    where actor_id is not null;
-- A member's processing history (dsar-export) also lists the acts about their account: few
-- rows, so this partial index costs other writes nothing.
create index audit_log_user_target_idx
    on audit.audit_log (target_id, occurred_at)
    where target_type = 'user';
-- No index on record_id here: one on a random key would be the dearest part of every audited
-- write. The sealer copies record_id into audit.chain, indexed there, off the write path.
-- Transaction ids grow with the table, so a BRIN index lets the sealer skip everything
-- already sealed while costing writers next to nothing.
create index audit_log_txid_brin
    on audit.audit_log using brin (txid) with (autosummarize = on);


-- The hash chain, apart from the log so that sealing only appends: one narrow row per sealed
-- event, partitioned like the log so that retention drops a month of both together.
create table audit.chain (
    seq bigint not null,
    log_id bigint not null,
    occurred_at timestamptz not null,
    row_hash bytea not null,
    record_id uuid,
    primary key (seq, occurred_at),
    unique (log_id, occurred_at)
) partition by range (occurred_at);

create index chain_record_idx
    on audit.chain (record_id)
    where record_id is not null;

comment on table audit.chain is
    'Hash chain over audit.audit_log: position seq holds sha256(hash at seq - 1 || canonical '
    'row of event log_id). Appended by audit.seal(); never updated. record_id (copied from the '
    'event, indexed) serves audit.record_history().';

create table audit_partitions.chain_default
    partition of audit.chain default;


-- The end of the chain: the last sealed position and its hash. One row. next_txid is the
-- sealer's bookmark: every event of a transaction older than it is sealed.
create table audit.chain_head (
    id boolean primary key default true check (id),
    last_seq bigint not null default 0,
    last_hash bytea not null default '\x'::bytea,
    next_txid bigint not null default 0,
    sealed_at timestamptz
);
insert into audit.chain_head default values;

comment on table audit.chain_head is
    'Last sealed chain position and hash; verify_chain() also checks the chain reaches it.';


-- Runs of the chain whose partitions the retention job dropped: verification steps over each
-- run and resumes from its last hash. Written only by audit.retire_expired_partitions().
create table audit.retired_links (
    first_seq bigint primary key,
    last_seq bigint not null,
    last_hash bytea not null,
    partition_month date not null,
    retired_at timestamptz not null default pg_catalog.now(),
    check (last_seq >= first_seq)
);

comment on table audit.retired_links is
    'Chain positions first_seq..last_seq removed with an expired month, and the hash the chain '
    'had at last_seq.';


-- Creates the monthly partitions of the log and of the chain, from the current month to
-- `months_ahead` months later, each with the guard against TRUNCATE.
create function audit.ensure_partitions(months_ahead integer default 3)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    month date := pg_catalog.date_trunc('month', pg_catalog.now())::date;
    created integer := 0;
    parent text;
    name text;
begin
    for i in 0..months_ahead loop
        foreach parent in array array['audit_log', 'chain'] loop
            name := parent || '_' || pg_catalog.to_char(month, 'YYYY_MM');
            if pg_catalog.to_regclass('audit_partitions.' || name) is null then
                -- A month whose rows already went to the default partition (a run was missed)
                -- cannot get its own partition; say so and go on with the later months.
                begin
                    execute pg_catalog.format(
                        'create table audit_partitions.%I partition of audit.%I '
                            || 'for values from (%L) to (%L)',
                        name, parent, month, (month + interval '1 month')::date);
                    if pg_catalog.to_regproc('audit.refuse_truncate') is not null then
                        execute pg_catalog.format('create trigger no_truncate before truncate '
                            || 'on audit_partitions.%I for each statement '
                            || 'execute function audit.refuse_truncate()',
                            name);
                    end if;
                    created := created + 1;
                exception when check_violation then
                    raise warning 'audit partition % not created: the default partition holds '
                        'rows of that month', name;
                    if pg_catalog.to_regproc('audit.record_event') is not null then
                        perform audit.record_event('audit.partition_blocked', 'audit.' || parent,
                            name, 'FAILURE');
                    end if;
                end;
            end if;
        end loop;
        month := (month + interval '1 month')::date;
    end loop;
    return created;
end
$$;

comment on function audit.ensure_partitions(integer) is
    'Creates missing monthly partitions of audit.audit_log and audit.chain up to months_ahead; '
    'returns how many; idempotent.';

select audit.ensure_partitions(3);
