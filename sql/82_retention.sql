-- Retention: how long each kind of data is kept, run by pg_cron in committed batches.
--
-- Policies are data (private.retention_policies, rows in sql/data/24_retention_policies.sql),
-- each counting from the event that ends the need for the data: a member's last activity or
-- the closing of their account, never the account's creation, so an active teacher of many
-- years is never touched. private.run_retention() takes each due policy in batches that each
-- commit (rows picked with SKIP LOCKED, so concurrent writers never wait more than a moment),
-- honours legal holds through the erasure engine, logs every run with its counts in
-- private.retention_runs, and raises a security alert when a run fails. A watchdog alerts when
-- a policy's last success is older than it should be. Re-running is always safe: each batch
-- picks what is still due. The audit trail's own retention is audit.retire_expired_partitions().


-- Security alerts raised by unattended jobs. The monitoring work reads and notifies them.
create table private.security_alerts (
    id bigint generated always as identity primary key,
    raised_at timestamptz not null default pg_catalog.now(),
    kind text not null
        check (kind ~ '^[a-z_]+(\.[a-z_]+)*$'),
    severity text not null
        check (severity in ('low', 'medium', 'high', 'critical')),
    summary text not null
        check (pg_catalog.length(summary) between 1 and 300),
    details jsonb not null default '{}'::jsonb,
    acknowledged_at timestamptz,
    -- What the alert is about, e.g. 'failed_logins:user:<id>': while an alert with the same
    -- cause is open, raising it again adds nothing (private.raise_alert).
    cause text
        check (pg_catalog.length(cause) <= 200)
);

comment on table private.security_alerts is
    'Alerts for people to look at (failed or stale jobs and the like). details holds no '
    'personal data.';

create index security_alerts_open_idx
    on private.security_alerts (kind, raised_at)
    where acknowledged_at is null;
create unique index security_alerts_open_cause_idx
    on private.security_alerts (cause)
    where acknowledged_at is null and cause is not null;

alter table private.security_alerts enable row level security;
revoke all on private.security_alerts from public, anon, authenticated;
grant select, update (acknowledged_at) on private.security_alerts to service_role;


create table private.retention_policies (
    policy text primary key
        check (policy ~ '^[a-z][a-z0-9-]{2,40}$'),
    description text not null,
    period interval not null
        check (period > interval '0'),
    basis text not null,
    method text not null
        check (method in ('SOFT_DELETE', 'HARD_DELETE', 'ANONYMISE')),
    batch_size integer not null default 500
        check (batch_size between 1 and 10000),
    expected_every interval not null default interval '26 hours',
    enabled boolean not null default true
);

comment on table private.retention_policies is
    'Retention policies run by private.run_retention(): period counted from basis, method, '
    'batch size, and how often a success is expected (the watchdog''s threshold).';

alter table private.retention_policies enable row level security;
revoke all on private.retention_policies from public, anon, authenticated;
grant select on private.retention_policies to service_role;


create table private.retention_runs (
    id bigint generated always as identity primary key,
    policy text not null,
    dry_run boolean not null,
    started_at timestamptz not null default pg_catalog.clock_timestamp(),
    finished_at timestamptz,
    status text not null default 'RUNNING'
        check (status in ('RUNNING', 'SUCCESS', 'FAILED')),
    batches integer not null default 0,
    affected bigint not null default 0,
    kept bigint not null default 0,
    error text
        check (pg_catalog.length(error) <= 500)
);

comment on table private.retention_runs is
    'One row per policy per run: counts of rows deleted or anonymised (affected) and kept '
    '(legal holds), duration and outcome. A run killed mid-way stays RUNNING.';

create index retention_runs_policy_idx on private.retention_runs (policy, started_at);

alter table private.retention_runs enable row level security;
revoke all on private.retention_runs from public, anon, authenticated;
grant select on private.retention_runs to service_role;


-- Members due under a policy, up to `limit_rows`, locked for this batch; rows other sessions
-- hold are skipped and picked up by a later batch.
create function private.retention_due_members(policy_name text, limit_rows integer)
returns setof uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    rule private.retention_policies;
begin
    select * into rule from private.retention_policies as p where p.policy = policy_name;
    if policy_name = 'inactive-members' then
        -- Last activity: sign-in, submission, review or points, whichever is latest.
        return query
        select u.id
        from public.users as u
        join auth.users as a on a.id = u.id
        where u.deleted_at is null
            and u.handle !~ '^erased_'
            and greatest(u.created_at, a.last_sign_in_at,
                (select pg_catalog.max(s.updated_at) from public.submissions as s
                 where s.owner_id = u.id or s.reviewer_id = u.id),
                (select pg_catalog.max(l.created_at) from public.points_ledger as l
                 where l.user_id = u.id)) < pg_catalog.now() - rule.period
            and not exists (select 1 from private.holds_in_force() as h
                            where h.scope = 'USER' and h.user_id = u.id)
        order by u.id
        limit limit_rows
        for update of u skip locked;
    elsif policy_name = 'closed-accounts' then
        return query
        select u.id
        from public.users as u
        where u.deleted_at < pg_catalog.now() - rule.period
            and u.handle !~ '^erased_'
            and not exists (select 1 from private.holds_in_force() as h
                            where h.scope = 'USER' and h.user_id = u.id)
            and not exists (
                select 1 from private.holds_in_force() as h
                join public.submissions as s on s.id = h.submission_id
                where h.scope = 'SUBMISSION' and s.owner_id = u.id)
        order by u.id
        limit limit_rows
        for update of u skip locked;
    else
        raise exception 'policy % does not act on members', policy_name
            using errcode = 'invalid_parameter_value';
    end if;
end
$$;


-- One batch of a policy: returns (affected, kept). On a dry run counts the due rows only.
create function private.retention_batch(policy_name text, batch integer, dry_run boolean)
returns table (affected bigint, kept bigint)
language plpgsql
security definer
set search_path = ''
as $$
declare
    rule private.retention_policies;
    member uuid;
    outcome record;
    target text;
    key_column text;
    ended text;
begin
    select * into rule from private.retention_policies as p where p.policy = policy_name;
    if not found then
        raise exception 'no retention policy %', policy_name using errcode = 'no_data_found';
    end if;
    affected := 0;
    kept := 0;

    if policy_name in ('inactive-members', 'closed-accounts') then
        for member in select * from private.retention_due_members(policy_name, batch) loop
            if dry_run then
                affected := affected + 1;
                continue;
            end if;
            perform pg_catalog.set_config('leaps.job', 'retention', true);
            for outcome in
                select * from private.carry_out_erasure(member,
                    case rule.method when 'ANONYMISE' then 'pseudonymise' else 'erase' end, false)
            loop
                kept := kept + outcome.kept;
            end loop;
            -- The sign-in account goes with the profile; a kept tombstone keeps a closed one.
            if exists (select 1 from public.users as u where u.id = member) then
                update auth.users as a
                set email = null, phone = null, raw_user_meta_data = '{}'::jsonb,
                    banned_until = 'infinity'
                where a.id = member;
            else
                delete from auth.users as a where a.id = member;
            end if;
            affected := affected + 1;
        end loop;
    elsif policy_name in ('finished-requests', 'lifted-holds', 'finished-file-removals',
        'rate-limit-counters', 'finished-notifications', 'sign-in-attempts', 'cron-history')
    then
        -- Rows whose end (the ended column or expression) is older than the period, by key.
        select t.relation, t.key, t.ended
        into target, key_column, ended
        from (values
            ('finished-requests', 'public.dsar_requests', 'id', 'completed_at'),
            ('lifted-holds', 'private.legal_holds', 'id', 'least(lifted_at, ends_at)'),
            ('finished-file-removals', 'private.storage_deletions', 'id', 'done_at'),
            ('rate-limit-counters', 'private.rate_limit_counters', 'id', 'window_start'),
            ('sign-in-attempts', 'private.sign_in_attempts', 'id', 'attempted_at'),
            ('finished-notifications', 'private.notification_outbox', 'id',
                '(case when status in (''delivered'', ''dead'', ''skipped'') '
                    || 'then coalesce(delivered_at, created_at) end)'),
            -- pg_cron lives only in the stack's main database.
            ('cron-history', 'cron.job_run_details', 'runid', 'end_time')
        ) as t (policy, relation, key, ended)
        where t.policy = policy_name;
        if pg_catalog.to_regclass(target) is null then
            return next;
            return;
        end if;
        if dry_run then
            execute pg_catalog.format('select pg_catalog.count(*) from (select 1 from %s '
                || 'where %s < pg_catalog.now() - $1 limit $2) as d', target, ended)
            into affected using rule.period, batch;
        else
            execute pg_catalog.format('delete from %1$s where %2$I in (select %2$I from %1$s '
                || 'where %3$s < pg_catalog.now() - $1 limit $2 for update skip locked)',
                target, key_column, ended)
            using rule.period, batch;
            get diagnostics affected = row_count;
        end if;
    else
        raise exception 'retention policy % has no implementation', policy_name
            using errcode = 'feature_not_supported';
    end if;
    return next;
end
$$;

comment on function private.retention_batch(text, integer, boolean) is
    'One committed-sized batch of a retention policy; returns rows affected and kept (legal '
    'holds). Dry runs count only.';


-- A run of one policy, step by step: start it, take batches (each its own transaction), and
-- finish it. Both the nightly procedure and `npm run retention` drive runs with these, so a
-- run is logged the same way whoever runs it.
create function private.retention_start_run(policy_name text, dry_run boolean)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    run_id bigint;
begin
    if not exists (select 1 from private.retention_policies as p where p.policy = policy_name)
    then
        raise exception 'no retention policy %', policy_name
            using errcode = 'no_data_found',
                hint = 'The policies are listed in private.retention_policies.';
    end if;
    insert into private.retention_runs (policy, dry_run)
    values (policy_name, dry_run)
    returning id into run_id;
    return run_id;
end
$$;

-- One batch of a run (a dry run counts everything due at once). Returns the batch's counts and
-- whether the policy has nothing more due; a failure is recorded on the run, which it closes
-- as FAILED with a security alert, and is reported in `failure` rather than raised, so that
-- the record survives.
create function private.retention_step(
    run_id bigint,
    out affected bigint,
    out kept bigint,
    out finished boolean,
    out failure text
)
language plpgsql
security definer
set search_path = ''
as $$
declare
    run private.retention_runs;
    rule private.retention_policies;
begin
    select * into run from private.retention_runs as r where r.id = run_id for update;
    if run.status is distinct from 'RUNNING' then
        raise exception 'retention run % is not running', run_id
            using errcode = 'invalid_parameter_value';
    end if;
    select * into rule from private.retention_policies as p where p.policy = run.policy;
    begin
        select b.affected, b.kept into affected, kept
        from private.retention_batch(rule.policy,
            case when run.dry_run then 2147483647 else rule.batch_size end, run.dry_run) as b;
    exception when others then
        failure := pg_catalog.left(sqlerrm, 500);
        update private.retention_runs as r
        set status = 'FAILED', finished_at = pg_catalog.clock_timestamp(), error = failure
        where r.id = run_id;
        insert into private.security_alerts (kind, severity, summary, details)
        values ('retention.failed', 'high',
            pg_catalog.format('retention policy %s failed', rule.policy),
            pg_catalog.jsonb_build_object('policy', rule.policy, 'run_id', run_id,
                'sqlstate', sqlstate));
        affected := 0;
        kept := 0;
        finished := true;
        return;
    end;
    finished := run.dry_run or affected < rule.batch_size;
    update private.retention_runs as r
    set batches = r.batches + 1,
        affected = r.affected + retention_step.affected,
        kept = r.kept + retention_step.kept,
        status = case when finished then 'SUCCESS' else r.status end,
        finished_at = case when finished then pg_catalog.clock_timestamp() end
    where r.id = run_id;
end
$$;


-- Runs the enabled policies (or one), each in batches that commit: the nightly job. A
-- procedure without SECURITY DEFINER or SET clauses, so that it may commit; it runs as its
-- caller, the owner (pg_cron connects as postgres).
create procedure private.run_retention(
    only_policy text default null,
    dry_run boolean default false,
    max_batches integer default 1000000
)
language plpgsql
as $$
declare
    rule private.retention_policies;
    run_id bigint;
    step record;
    batch_count integer;
begin
    if only_policy is not null then
        if not exists (select 1 from private.retention_policies as p
                       where p.policy = only_policy)
        then
            raise exception 'no retention policy %', only_policy
                using errcode = 'no_data_found',
                    hint = 'The policies are listed in private.retention_policies.';
        end if;
    end if;
    for rule in
        select * from private.retention_policies as p
        where p.enabled and (only_policy is null or p.policy = only_policy)
        order by p.policy
    loop
        run_id := private.retention_start_run(rule.policy, dry_run);
        commit;
        batch_count := 0;
        loop
            select * into step from private.retention_step(run_id);
            commit;
            batch_count := batch_count + 1;
            exit when step.finished or batch_count >= max_batches;
        end loop;
        if step.failure is not null then
            raise warning 'retention %: failed (%)', rule.policy, step.failure;
        end if;
    end loop;
end
$$;

comment on procedure private.run_retention(text, boolean, integer) is
    'Runs the enabled retention policies (or only_policy) in committed batches, logging each '
    'run in private.retention_runs and raising a security alert on failure. dry_run counts '
    'what is due without changing anything.';


-- Alerts on each enabled policy whose last successful real run is older than it should be
-- (or that never succeeded), at most once a day per policy. Returns how many alerts it raised.
create function private.retention_watchdog()
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    raised integer;
begin
    insert into private.security_alerts (kind, severity, summary, details)
    select 'retention.stale', 'medium',
        pg_catalog.format('retention policy %s has not succeeded since %s', p.policy,
            coalesce(last.finished_at::text, 'it was created')),
        pg_catalog.jsonb_build_object('policy', p.policy, 'last_success', last.finished_at,
            'expected_every', p.expected_every::text)
    from private.retention_policies as p
    left join lateral (
        select pg_catalog.max(r.finished_at) as finished_at
        from private.retention_runs as r
        where r.policy = p.policy and r.status = 'SUCCESS' and not r.dry_run
    ) as last on true
    where p.enabled
        and coalesce(last.finished_at, '-infinity') < pg_catalog.now() - p.expected_every
        and not exists (
            select 1 from private.security_alerts as a
            where a.kind = 'retention.stale' and a.details ->> 'policy' = p.policy
                and a.raised_at > pg_catalog.now() - interval '1 day');
    get diagnostics raised = row_count;
    return raised;
end
$$;


revoke all on function private.retention_due_members(text, integer)
    from public, anon, authenticated, service_role;
revoke all on function private.retention_batch(text, integer, boolean)
    from public, anon, authenticated, service_role;
revoke all on procedure private.run_retention(text, boolean, integer)
    from public, anon, authenticated, service_role;
revoke all on function private.retention_start_run(text, boolean)
    from public, anon, authenticated, service_role;
revoke all on function private.retention_step(bigint)
    from public, anon, authenticated, service_role;
revoke all on function private.retention_watchdog()
    from public, anon, authenticated, service_role;
