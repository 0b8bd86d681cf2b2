-- Legal holds, and the retention of the audit trail.
--
-- The audit log is kept for the period private.retention_rules gives audit.audit_log, counted
-- from the end of each month. audit.retire_expired_partitions() (a monthly pg_cron job) drops
-- whole expired months, of the log and of its chain together, and never a month that a legal
-- hold covers or that still holds unsealed events. It is the only way rows leave the log.
-- Holds on a member or a submission are placed here too; the erasure and retention of member
-- data honour them.


create type private.hold_scope as enum ('USER', 'SUBMISSION', 'AUDIT_RANGE');

comment on type private.hold_scope is
    'What a legal hold keeps: a member''s data, one submission, or the audit events of a '
    'time range.';


create table private.legal_holds (
    id uuid primary key default extensions.gen_random_uuid(),
    scope private.hold_scope not null,
    user_id uuid,
    submission_id uuid,
    audit_range tstzrange,
    reason text not null
        check (pg_catalog.length(pg_catalog.btrim(reason)) between 10 and 1000),
    placed_by uuid not null,
    placed_at timestamptz not null default pg_catalog.now(),
    ends_at timestamptz,
    lifted_at timestamptz,
    lifted_by uuid,
    check ((scope = 'USER') = (user_id is not null)),
    check ((scope = 'SUBMISSION') = (submission_id is not null)),
    check ((scope = 'AUDIT_RANGE') = (audit_range is not null)),
    check (not pg_catalog.isempty(audit_range)
        and not pg_catalog.lower_inf(audit_range)
        and not pg_catalog.upper_inf(audit_range)),
    check (ends_at > placed_at),
    check ((lifted_at is null) = (lifted_by is null))
);

comment on table private.legal_holds is
    'Legal holds: while one is in force (not lifted, not past ends_at) what it covers is '
    'neither erased nor removed by retention. Placed and lifted through '
    'public.place_legal_hold() and public.lift_legal_hold().';
comment on column private.legal_holds.reason is
    'Why the data must be kept (case reference, authority). May name people: classified as '
    'personal data, so the audit trail records only that it was set.';
comment on column private.legal_holds.ends_at is
    'When the hold lapses by itself; null keeps it until it is lifted.';

create index legal_holds_user_idx on private.legal_holds (user_id) where user_id is not null;
create index legal_holds_submission_idx
    on private.legal_holds (submission_id)
    where submission_id is not null;

alter table private.legal_holds enable row level security;
revoke all on private.legal_holds from public, anon, authenticated;
grant select on private.legal_holds to service_role;


-- Holds in force at a moment (now by default).
create function private.holds_in_force(at timestamptz default pg_catalog.now())
returns setof private.legal_holds
language sql
stable
security definer
set search_path = ''
as $$
    select h.*
    from private.legal_holds as h
    where h.placed_at <= at
        and (h.lifted_at is null or h.lifted_at > at)
        and (h.ends_at is null or h.ends_at > at)
$$;

comment on function private.holds_in_force(timestamptz) is
    'Legal holds in force at the given time: placed, not lifted and not lapsed.';


-- Places a hold. Caller: legal_hold:manage (ADMIN and above) at aal2. Exactly one of
-- target_id (USER, SUBMISSION) or audit_from/audit_to (AUDIT_RANGE) is given.
create function public.place_legal_hold(
    scope private.hold_scope,
    reason text,
    target_id uuid default null,
    audit_from timestamptz default null,
    audit_to timestamptz default null,
    ends_at timestamptz default null
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
    hold_id uuid;
begin
    if caller is null
        or not private.authorize('legal_hold:manage')
        or coalesce(auth.jwt() ->> 'aal', '') <> 'aal2'
    then
        raise exception 'not allowed to place legal holds'
            using errcode = 'insufficient_privilege',
                hint = 'Legal holds are placed by an ADMIN or SUPERADMIN signed in with MFA.';
    end if;
    if scope = 'AUDIT_RANGE' then
        if target_id is not null or audit_from is null or audit_to is null
            or audit_to <= audit_from
        then
            raise exception 'an audit hold needs audit_from before audit_to and no target_id'
                using errcode = 'invalid_parameter_value';
        end if;
    elsif target_id is null or audit_from is not null or audit_to is not null then
        raise exception 'a % hold needs target_id and no audit range', pg_catalog.lower(
                scope::text)
            using errcode = 'invalid_parameter_value';
    end if;
    if scope = 'USER'
        and not exists (select 1 from public.users as u where u.id = target_id)
    then
        raise exception 'member % not found', target_id using errcode = 'no_data_found';
    end if;
    if scope = 'SUBMISSION'
        and not exists (select 1 from public.submissions as s where s.id = target_id)
    then
        raise exception 'submission % not found', target_id using errcode = 'no_data_found';
    end if;
    if pg_catalog.length(pg_catalog.btrim(coalesce(reason, ''))) not between 10 and 1000 then
        raise exception 'a legal hold needs a reason of 10 to 1000 characters'
            using errcode = 'invalid_parameter_value';
    end if;
    if ends_at is not null and ends_at <= pg_catalog.now() then
        raise exception 'ends_at must be in the future' using errcode = 'invalid_parameter_value';
    end if;

    insert into private.legal_holds (scope, user_id, submission_id, audit_range, reason,
        placed_by, ends_at)
    values (
        place_legal_hold.scope,
        case when place_legal_hold.scope = 'USER' then target_id end,
        case when place_legal_hold.scope = 'SUBMISSION' then target_id end,
        case when place_legal_hold.scope = 'AUDIT_RANGE'
            then pg_catalog.tstzrange(audit_from, audit_to) end,
        pg_catalog.btrim(reason),
        caller,
        place_legal_hold.ends_at
    )
    returning id into hold_id;
    return hold_id;
end
$$;

comment on function public.place_legal_hold(private.hold_scope, text, uuid, timestamptz,
    timestamptz, timestamptz) is
    'Places a legal hold on a member, a submission or an audit time range; returns its id. '
    'Caller: legal_hold:manage at aal2. Recorded in the audit trail (private.legal_holds is '
    'tracked).';


create function public.lift_legal_hold(hold_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
begin
    if caller is null
        or not private.authorize('legal_hold:manage')
        or coalesce(auth.jwt() ->> 'aal', '') <> 'aal2'
    then
        raise exception 'not allowed to lift legal holds'
            using errcode = 'insufficient_privilege',
                hint = 'Legal holds are lifted by an ADMIN or SUPERADMIN signed in with MFA.';
    end if;
    update private.legal_holds as h
    set lifted_at = pg_catalog.now(),
        lifted_by = caller
    where h.id = hold_id
        and h.lifted_at is null;
    if not found then
        raise exception 'no legal hold % in force', hold_id using errcode = 'no_data_found';
    end if;
    return true;
end
$$;

comment on function public.lift_legal_hold(uuid) is
    'Lifts a legal hold in force. Caller: legal_hold:manage at aal2. Recorded in the audit '
    'trail.';


-- Whether a legal hold in force covers a submission (directly, or through its owner).
create function private.submission_held(submission uuid, owner uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
    select exists (
        select 1
        from private.legal_holds as h
        where ((h.scope = 'SUBMISSION' and h.submission_id = submission)
                or (h.scope = 'USER' and h.user_id = owner))
            and h.lifted_at is null
            and (h.ends_at is null or h.ends_at > pg_catalog.now())
    )
$$;


-- What a hold covers stays as it is: a held submission's content, its files, and a held
-- member's profile cannot be changed away or deleted, by anyone (LGH01).
create function private.refuse_held_changes()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    held boolean;
begin
    -- One branch per table: a record's fields are looked up only when the branch runs.
    if tg_table_name = 'submissions' then
        held := private.submission_held(old.id, old.owner_id);
    elsif tg_table_name = 'submission_attachments' then
        held := private.submission_held(old.submission_id, old.owner_id);
    else
        held := private.submission_held(null, old.id);
    end if;
    if held then
        raise exception '% is under a legal hold: % refused', case tg_table_name
                when 'users' then 'this member' when 'submissions' then 'this submission'
                else 'this file' end, pg_catalog.lower(tg_op)
            using errcode = 'LGH01',
                hint = 'A legal hold keeps what it covers until an administrator lifts it.';
    end if;
    return case tg_op when 'DELETE' then old else new end;
end
$$;

create trigger submissions_legal_hold
    before update of title, payload, review_note, activity_code or delete
    on public.submissions
    for each row execute function private.refuse_held_changes();

create trigger submission_attachments_legal_hold
    before update or delete on public.submission_attachments
    for each row execute function private.refuse_held_changes();

create trigger users_legal_hold
    before delete on public.users
    for each row execute function private.refuse_held_changes();


-- Drops the months of the audit trail that have outlived the retention period, returning one
-- row per expired month with what was done and why. A month is kept while a legal hold on an
-- audit range overlapping it is in force, or while it holds events not yet sealed. Before a
-- month goes, the runs of the chain it held are recorded in audit.retired_links so that
-- verification steps over them. The drop itself is recorded as an event.
create function audit.retire_expired_partitions(
    dry_run boolean default false,
    as_of timestamptz default null
)
returns table (month date, events bigint, action text, reason text)
language plpgsql
security definer
set search_path = ''
as $$
declare
    keep_for interval;
    part record;
    hold private.legal_holds;
    unsealed boolean;
    moment timestamptz := coalesce(as_of, pg_catalog.now());
begin
    if as_of is not null and not dry_run then
        raise exception 'as_of is for dry runs only: retention never runs ahead of time'
            using errcode = 'invalid_parameter_value';
    end if;
    select r.retention
    into keep_for
    from private.retention_rules as r
    where r.schema_name = 'audit'
        and r.table_name = 'audit_log';
    if keep_for is null then
        raise exception 'no retention period for audit.audit_log in private.retention_rules'
            using errcode = 'object_not_in_prerequisite_state';
    end if;

    for part in
        select
            c.relname as log_name,
            'chain' || pg_catalog.substr(c.relname, 10) as chain_name,
            pg_catalog.to_date(pg_catalog.substr(c.relname, 11), 'YYYY_MM') as starts
        from pg_catalog.pg_inherits as i
        join pg_catalog.pg_class as c on c.oid = i.inhrelid
        where i.inhparent = 'audit.audit_log'::regclass
            and c.relname ~ '^audit_log_[0-9]{4}_[0-9]{2}$'
        order by c.relname
    loop
        continue when (part.starts + interval '1 month') > moment - keep_for;
        month := part.starts;
        execute pg_catalog.format('select pg_catalog.count(*) from audit_partitions.%I',
            part.log_name)
        into events;

        select * into hold
        from private.holds_in_force(moment) as h
        where h.scope = 'AUDIT_RANGE'
            and h.audit_range && pg_catalog.tstzrange(part.starts,
                (part.starts + interval '1 month')::date)
        order by h.placed_at
        limit 1;
        if found then
            action := 'kept';
            reason := pg_catalog.format('legal hold %s%s', hold.id,
                case when hold.ends_at is null then ' (until lifted)'
                    else pg_catalog.format(' (until %s)', hold.ends_at) end);
            return next;
            continue;
        end if;

        execute pg_catalog.format(
            'select exists (select 1 from audit_partitions.%I as l where not exists ('
                || 'select 1 from audit.chain as c '
                || 'where c.log_id = l.id and c.occurred_at = l.occurred_at))',
            part.log_name)
        into unsealed;
        if unsealed then
            action := 'kept';
            reason := 'holds events not yet sealed into the hash chain';
            return next;
            continue;
        end if;

        reason := pg_catalog.format('older than the retention period (%s)', keep_for);
        if dry_run then
            action := 'would drop';
            return next;
            continue;
        end if;

        -- Each unbroken run of positions the month held, with the hash at its end.
        if pg_catalog.to_regclass('audit_partitions.' || part.chain_name) is not null then
            execute pg_catalog.format($sql$
                insert into audit.retired_links (first_seq, last_seq, last_hash, partition_month)
                select pg_catalog.min(r.seq), pg_catalog.max(r.seq),
                    (pg_catalog.array_agg(r.row_hash order by r.seq desc))[1], $1
                from (
                    select c.seq, c.row_hash,
                        c.seq - pg_catalog.row_number() over (order by c.seq) as run
                    from audit_partitions.%I as c
                ) as r
                group by r.run
                $sql$, part.chain_name)
            using part.starts;
            execute pg_catalog.format('drop table audit_partitions.%I', part.chain_name);
        end if;
        execute pg_catalog.format('drop table audit_partitions.%I', part.log_name);
        perform audit.record_event('audit.partition_retired', 'audit.audit_log',
            pg_catalog.to_char(part.starts, 'YYYY-MM'), 'SUCCESS',
            pg_catalog.jsonb_build_object('events', events, 'retention', keep_for::text));
        action := 'dropped';
        return next;
    end loop;
end
$$;

comment on function audit.retire_expired_partitions(boolean, timestamptz) is
    'Drops the audit months older than the retention period, except those under a legal hold '
    'or with unsealed events; returns what it did to each expired month and why. dry_run '
    'reports without dropping; with as_of it reports what would happen at that time.';


revoke all on function private.holds_in_force(timestamptz) from public, anon, authenticated;
revoke all on function private.submission_held(uuid, uuid) from public, anon, authenticated;
revoke all on function private.refuse_held_changes() from public, anon, authenticated;
grant execute on function private.holds_in_force(timestamptz) to service_role;
revoke all on function public.place_legal_hold(private.hold_scope, text, uuid, timestamptz,
    timestamptz, timestamptz) from public, anon;
grant execute on function public.place_legal_hold(private.hold_scope, text, uuid, timestamptz,
    timestamptz, timestamptz) to authenticated;
revoke all on function public.lift_legal_hold(uuid) from public, anon;
grant execute on function public.lift_legal_hold(uuid) to authenticated;
revoke all on function audit.retire_expired_partitions(boolean, timestamptz)
    from public, anon, authenticated, service_role;

select audit.enable_tracking('private.legal_holds');
