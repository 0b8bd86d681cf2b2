-- Where personal data about a member lives, and what erasure does to it.
--
-- private.personal_data_locations lists every table column that refers to a member (rows in
-- sql/data/23_personal_data_locations.sql), with what each erasure mode does there: delete
-- the rows, pseudonymise them (the SET list replaces personal values with tombstones, keeping
-- educational records for research), or keep them for a stated reason. Columns that refer to
-- members but hold nothing about them are excluded with a written reason. The pgTAP suite
-- walks the catalog and fails, naming the table, on any column that refers to a member and is
-- in neither list, so the registry cannot fall behind the schema. Erasure (and the export,
-- which reads the same list) is driven by it.
--
-- private.erase_subject() carries out an erasure, or a dry run of it, in the caller's
-- transaction and honours legal holds row by row: a hold on the member keeps everything; a
-- hold on a submission keeps that submission and the rows tied to it (hold_column).


create table private.personal_data_locations (
    schema_name text not null,
    table_name text not null,
    subject_column text not null,
    on_pseudonymise text not null
        check (on_pseudonymise in ('delete', 'pseudonymise', 'keep')),
    on_erase text not null
        check (on_erase in ('delete', 'pseudonymise', 'keep')),
    pseudonymise_set text,
    hold_column text,
    step integer not null,
    export_section text,
    reason text not null
        check (pg_catalog.length(reason) between 10 and 300),
    primary key (schema_name, table_name, subject_column),
    check ((pseudonymise_set is not null)
        = ('pseudonymise' in (on_pseudonymise, on_erase)))
);

comment on table private.personal_data_locations is
    'Every column that refers to a member, and what pseudonymisation and erasure do to its '
    'rows. pseudonymise_set is the SET list that replaces personal values; hold_column names '
    'the column holding a submission id, so rows of a held submission are kept; step orders '
    'the work (children before parents). Rows: sql/data/23_personal_data_locations.sql.';

create table private.personal_data_exclusions (
    schema_name text not null,
    table_name text not null,
    column_name text not null,
    reason text not null
        check (pg_catalog.length(reason) between 10 and 300),
    primary key (schema_name, table_name, column_name)
);

comment on table private.personal_data_exclusions is
    'Columns that refer to a member but are not part of erasure or export, with the reason.';

alter table private.personal_data_locations enable row level security;
alter table private.personal_data_exclusions enable row level security;
revoke all on private.personal_data_locations, private.personal_data_exclusions
    from public, anon, authenticated;
grant select on private.personal_data_locations, private.personal_data_exclusions
    to service_role;


-- Columns of the project's schemas that refer to a member: a foreign key to public.users or
-- auth.users, or a uuid column whose name says it holds a member (…user_id, owner_id,
-- reviewer_id, subject_id, actor_id, requester_id, …_by).
create view private.member_reference_columns
with (security_invoker = true)
as
select distinct
    n.nspname::text as schema_name,
    c.relname::text as table_name,
    a.attname::text as column_name
from pg_catalog.pg_attribute as a
join pg_catalog.pg_class as c on c.oid = a.attrelid
join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
where n.nspname in ('public', 'private', 'audit')
    and c.relkind in ('r', 'p')
    and not c.relispartition
    and a.attnum > 0
    and not a.attisdropped
    and (
        exists (
            select 1
            from pg_catalog.pg_constraint as k
            where k.conrelid = c.oid
                and k.contype = 'f'
                and a.attnum = any(k.conkey)
                and k.confrelid in ('public.users'::regclass, 'auth.users'::regclass)
        )
        or (a.atttypid = 'pg_catalog.uuid'::regtype
            and a.attname ~ '(^|_)(user|owner|reviewer|subject|actor|requester|member)_id$|_by$')
    );

comment on view private.member_reference_columns is
    'Columns of public, private and audit that refer to a member (foreign key to a users '
    'table, or a uuid named like one).';

-- The suite's check: columns that refer to a member and are neither located nor excluded.
create view private.unregistered_member_columns
with (security_invoker = true)
as
select r.*
from private.member_reference_columns as r
where not exists (
        select 1 from private.personal_data_locations as l
        where l.schema_name = r.schema_name and l.table_name = r.table_name
            and l.subject_column = r.column_name)
    and not exists (
        select 1 from private.personal_data_exclusions as e
        where e.schema_name = r.schema_name and e.table_name = r.table_name
            and e.column_name = r.column_name);

comment on view private.unregistered_member_columns is
    'Member-referring columns missing from both personal_data_locations and '
    'personal_data_exclusions: must be empty.';

revoke all on private.member_reference_columns, private.unregistered_member_columns
    from public, anon, authenticated;
grant select on private.member_reference_columns, private.unregistered_member_columns
    to service_role;


-- Erasure ---------------------------------------------------------------------------------------

-- One line per registry location: what was (or, on a dry run, would be) done to how many rows,
-- and why rows were kept. Modes: 'pseudonymise' or 'erase'. Runs in the caller's transaction;
-- the caller checks who may erase (the dsar-delete function, or public.erase_member()).
create function private.erase_subject(subject uuid, mode text, dry_run boolean default true)
returns table (
    schema_name text,
    table_name text,
    subject_column text,
    action text,
    affected bigint,
    kept bigint,
    kept_reason text
)
language plpgsql
security definer
set search_path = ''
set jit = off
as $$
declare
    location private.personal_data_locations;
    user_hold private.legal_holds;
    held uuid[];
    wanted text;
    target text;
    scope text;
    held_scope text;
    referenced boolean;
begin
    if mode not in ('pseudonymise', 'erase') then
        raise exception 'mode must be pseudonymise or erase, not %', mode
            using errcode = 'invalid_parameter_value';
    end if;
    if not exists (select 1 from public.users as u where u.id = subject) then
        raise exception 'member % not found', subject using errcode = 'no_data_found';
    end if;

    select * into user_hold
    from private.holds_in_force() as h
    where h.scope = 'USER' and h.user_id = subject
    order by h.placed_at
    limit 1;
    held := array(
        select h.submission_id
        from private.holds_in_force() as h
        join public.submissions as s on s.id = h.submission_id
        where h.scope = 'SUBMISSION' and s.owner_id = subject);

    for location in
        select l.*
        from private.personal_data_locations as l
        where l.schema_name in ('public', 'private', 'audit')
        order by l.step, l.schema_name, l.table_name, l.subject_column
    loop
        schema_name := location.schema_name;
        table_name := location.table_name;
        subject_column := location.subject_column;
        wanted := case mode when 'erase' then location.on_erase else location.on_pseudonymise end;
        target := pg_catalog.format('%I.%I', location.schema_name, location.table_name);
        scope := pg_catalog.format('%I = $1', location.subject_column);
        held_scope := case when location.hold_column is not null
            then pg_catalog.format('%I = any($2)', location.hold_column) end;

        -- A hold on the member keeps everything; a hold on a submission keeps its rows.
        execute pg_catalog.format('select pg_catalog.count(*) filter (where not %s), '
                || 'pg_catalog.count(*) filter (where %s) from %s where %s',
                coalesce(held_scope, 'false'), coalesce(held_scope, 'false'), target, scope)
        into affected, kept
        using subject, held;
        kept_reason := case when kept > 0 then pg_catalog.format(
            'legal hold on the submission (%s)', pg_catalog.array_to_string(held, ', ')) end;

        if user_hold.id is not null then
            kept := kept + affected;
            affected := 0;
            action := 'keep';
            kept_reason := pg_catalog.format('legal hold %s on the member', user_hold.id);
        elsif wanted = 'keep' then
            kept := kept + affected;
            affected := 0;
            action := 'keep';
            kept_reason := location.reason;
        else
            action := wanted;
            -- The member's own row goes only when nothing kept still points at it.
            if location.schema_name = 'public' and location.table_name = 'users'
                and wanted = 'delete'
            then
                referenced := pg_catalog.cardinality(held) > 0;
                if referenced then
                    action := 'pseudonymise';
                    kept_reason := 'pseudonymised, not deleted: held submissions refer to it';
                end if;
            end if;
            if not dry_run and affected > 0 then
                if action = 'delete' then
                    execute pg_catalog.format('delete from %s where %s%s', target, scope,
                        coalesce(' and not ' || held_scope, ''))
                    using subject, held;
                else
                    execute pg_catalog.format('update %s set %s where %s%s', target,
                        location.pseudonymise_set, scope, coalesce(' and not ' || held_scope, ''))
                    using subject, held;
                end if;
            end if;
        end if;
        return next;
    end loop;
end
$$;

comment on function private.erase_subject(uuid, text, boolean) is
    'Pseudonymises or erases a member''s data as private.personal_data_locations says, '
    'honouring legal holds; dry_run (the default) only counts. One row per location.';


-- The subject's tokens stop working at once: their sessions end (the functions check
-- auth.sessions) and, while the profile exists, it is marked deleted (every policy checks it).
create function private.end_sessions(subject uuid)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    ended integer;
begin
    delete from auth.sessions as s where s.user_id = subject;
    get diagnostics ended = row_count;
    update public.users as u
    set deleted_at = coalesce(u.deleted_at, pg_catalog.now())
    where u.id = subject;
    return ended;
end
$$;


-- Files to remove from Storage after an erasure commits. Written in the erasure's own
-- transaction, so no file is forgotten; the dsar-delete function removes them through the
-- storage interface and records each attempt, and failed ones are retried later.
create table private.storage_deletions (
    id bigint generated always as identity primary key,
    bucket text not null,
    path text not null,
    subject_key text not null,
    queued_at timestamptz not null default pg_catalog.now(),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default pg_catalog.now(),
    last_error text
        check (pg_catalog.length(last_error) <= 500),
    done_at timestamptz,
    unique (bucket, path)
);

comment on table private.storage_deletions is
    'Storage objects an erasure removed from the database and that must leave Storage too; '
    'done_at is set once the storage interface confirms. subject_key is the pseudonymous id.';

create index storage_deletions_due_idx
    on private.storage_deletions (next_attempt_at)
    where done_at is null;
-- Retention removes finished entries oldest first, in batches, without scanning the queue.
create index storage_deletions_done_idx
    on private.storage_deletions (done_at)
    where done_at is not null;

alter table private.storage_deletions enable row level security;
revoke all on private.storage_deletions from public, anon, authenticated, service_role;
grant select, update on private.storage_deletions to service_role;


-- The pseudonymous id an erased subject keeps in the audit trail and the deletion queue.
create function private.subject_key(subject uuid)
returns text
language sql
stable
security definer
set search_path = ''
as $$
    select 'subject:' || pg_catalog.substr(private.analytics_key_of(subject), 1, 32)
$$;


-- Carries out (or, dry_run, only reports) the erasure of a member in the database: the rows as
-- the registry says, the files queued for Storage, their sessions ended, the deletion event in
-- the audit trail under a pseudonymous id, and the request (if given) completed. The caller's
-- rights are checked by the caller: the service role (the dsar-delete function) or
-- public.erasure_dry_run(). Returns one row per registry location.
create function private.carry_out_erasure(
    subject uuid,
    mode text,
    dry_run boolean,
    request_id uuid default null,
    actor uuid default null
)
returns table (
    schema_name text,
    table_name text,
    subject_column text,
    action text,
    affected bigint,
    kept bigint,
    kept_reason text
)
language plpgsql
security definer
set search_path = ''
as $$
declare
    key text := private.subject_key(subject);
    queued integer := 0;
    outcome jsonb;
    counts jsonb;
    completed jsonb;
begin
    if dry_run then
        return query select * from private.erase_subject(subject, mode, true);
        return;
    end if;
    if request_id is not null and not exists (
        select 1 from public.dsar_requests as r
        where r.id = request_id and r.subject_id = subject and r.kind = 'deletion'
            and r.status in ('received', 'in_progress'))
    then
        raise exception 'request % is not an open deletion request for this member', request_id
            using errcode = 'LGD02';
    end if;

    -- Files of attachments about to go (those of held submissions stay).
    insert into private.storage_deletions (bucket, path, subject_key)
    select a.storage_bucket, a.storage_path, key
    from public.submission_attachments as a
    where a.owner_id = subject
        and not exists (
            select 1 from private.holds_in_force() as h
            where (h.scope = 'SUBMISSION' and h.submission_id = a.submission_id)
                or (h.scope = 'USER' and h.user_id = subject))
    on conflict (bucket, path) do nothing;
    get diagnostics queued = row_count;

    perform private.end_sessions(subject);
    select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(e))
    into outcome
    from private.erase_subject(subject, mode, false) as e;

    select pg_catalog.jsonb_object_agg(o ->> 'table_name' || '.' || (o ->> 'subject_column'),
        pg_catalog.jsonb_build_object('action', o -> 'action', 'rows', o -> 'affected',
            'kept', o -> 'kept'))
    into counts
    from pg_catalog.jsonb_array_elements(outcome) as o
    where (o ->> 'affected')::bigint > 0 or (o ->> 'kept')::bigint > 0;

    -- The request named, or else every open deletion request of the subject, is answered.
    with answered as (
        update public.dsar_requests as r
        set status = 'completed',
            status_reason = pg_catalog.format('%s carried out', mode),
            handled_by = coalesce(actor, r.handled_by),
            completed_at = pg_catalog.now()
        where r.subject_id = subject
            and r.kind = 'deletion'
            and r.status in ('received', 'in_progress')
            and (carry_out_erasure.request_id is null or r.id = carry_out_erasure.request_id)
        returning r.id
    )
    select pg_catalog.jsonb_agg(a.id order by a.id) into completed from answered as a;
    perform audit.record_event('dsar.delete', 'user', key, 'SUCCESS',
        pg_catalog.jsonb_build_object('mode', mode, 'files_queued', queued,
            'requests_completed', coalesce(completed, '[]'::jsonb),
            'locations', coalesce(counts, '{}'::jsonb)),
        actor);
    return query
    select r.*
    from pg_catalog.jsonb_to_recordset(outcome) as r(schema_name text, table_name text,
        subject_column text, action text, affected bigint, kept bigint, kept_reason text);
end
$$;

comment on function private.carry_out_erasure(uuid, text, boolean, uuid, uuid) is
    'Erasure in the database (rows, file queue, sessions, audit event under a pseudonymous '
    'id, request completed), or its dry run. For the dsar-delete function (service role).';


-- What an erasure would do, for a request handler deciding on it. Caller: dsar:manage at aal2.
create function public.erasure_dry_run(subject uuid, mode text default 'pseudonymise')
returns table (
    schema_name text,
    table_name text,
    subject_column text,
    action text,
    affected bigint,
    kept bigint,
    kept_reason text
)
language plpgsql
security definer
set search_path = ''
as $$
begin
    if auth.uid() is null
        or not private.session_allowed()
        or not private.authorize('dsar:manage')
        or coalesce(auth.jwt() ->> 'aal', '') <> 'aal2'
    then
        raise exception 'not allowed to plan an erasure'
            using errcode = 'insufficient_privilege',
                hint = 'Erasure is handled by an ADMIN or SUPERADMIN signed in with MFA.';
    end if;
    return query select * from private.erase_subject(subject, mode, true);
end
$$;

comment on function public.erasure_dry_run(uuid, text) is
    'Counts, per registry location, what pseudonymising or erasing a member would delete, '
    'pseudonymise and keep (and why). Changes nothing. Caller: dsar:manage at aal2.';


revoke all on function private.erase_subject(uuid, text, boolean)
    from public, anon, authenticated, service_role;
revoke all on function private.end_sessions(uuid) from public, anon, authenticated, service_role;
revoke all on function private.subject_key(uuid) from public, anon, authenticated, service_role;
revoke all on function private.carry_out_erasure(uuid, text, boolean, uuid, uuid)
    from public, anon, authenticated;
grant execute on function private.carry_out_erasure(uuid, text, boolean, uuid, uuid)
    to service_role;
revoke all on function public.erasure_dry_run(uuid, text) from public, anon;
grant execute on function public.erasure_dry_run(uuid, text) to authenticated;
