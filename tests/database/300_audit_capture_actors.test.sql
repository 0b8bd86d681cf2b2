-- Audit capture: every tracked table records its inserts, updates and deletes, each with the
-- acting party of the transaction.
--
-- The actor comes from the transaction, never from the table: USER (with the member's id)
-- when request.jwt.claims hold role authenticated and a sub, SERVICE for role service_role,
-- CRON for a job (leaps.job set, or pg_cron's application name) and SYSTEM otherwise. The
-- matrix below writes as the table owner under each context, so only the context differs;
-- the last section goes through the real API roles and a definer function.

begin;
set local search_path = public, extensions;
select plan(36);

select
    tests.create_member('t_audit300_actor') as actor,
    tests.create_member('t_audit300_participant') as participant,
    tests.create_member('t_audit300_target') as target,
    tests.create_member('t_audit300_super', 'SUPERADMIN', mfa_verified => true) as superadmin
\gset
select tests.create_badge('audit_300');

-- Which rows each context wrote, to find their events afterwards.
create temporary table exercised (
    context text not null,
    target_type text not null,
    target_id text not null
) on commit drop;

-- Sets the acting party of the rest of the transaction, as PostgREST, a function or a job
-- would. Request headers are given only to the user context.
create function pg_temp.enter(context text, actor uuid default null)
returns void
language plpgsql
as $$
begin
    perform pg_catalog.set_config('request.jwt.claims',
        case context
            when 'user' then pg_catalog.jsonb_build_object('role', 'authenticated',
                'sub', actor, 'aal', 'aal1',
                'session_id', '30000000-0000-4000-8000-000000000300')::text
            when 'service' then '{"role": "service_role"}'
            else ''
        end, true);
    perform pg_catalog.set_config('leaps.job',
        case when context = 'cron' then 'audit-test-job' else '' end, true);
    perform pg_catalog.set_config('request.headers',
        case when context = 'user' then '{"x-forwarded-for": "203.0.113.7, 10.0.0.1", '
            || '"user-agent": "audit-test/300", "x-request-id": "req-audit-300"}' else '' end,
        true);
end
$$;

-- One insert, one update and one delete on each tracked table, on fresh rows.
create function pg_temp.exercise(context text)
returns void
language plpgsql
as $$
declare
    member uuid := extensions.gen_random_uuid();
    submission uuid;
    attachment uuid;
    ledger bigint;
    role_change bigint;
    status_change bigint;
begin
    -- The profile is inserted by the trigger on auth.users, as for every new account.
    insert into auth.users (id, email, raw_user_meta_data)
    values (member, 'audit300_' || context || '@test.example.com',
        pg_catalog.jsonb_build_object('handle', 'audit300_' || context));
    update public.users set cohort = 'audit-300' where id = member;

    insert into public.submissions (owner_id, activity_code, title)
    values (member, 'LEARN', 'Audit 300') returning id into submission;
    update public.submissions set visibility = 'PUBLIC' where id = submission;

    insert into public.submission_attachments
        (submission_id, owner_id, storage_path, file_name, mime_type, byte_size, sha256)
    values (submission, member, member || '/' || submission || '/a.pdf', 'a.pdf',
        'application/pdf', 10, pg_catalog.repeat('b', 64))
    returning id into attachment;
    update public.submission_attachments set scan_status = 'CLEAN' where id = attachment;
    delete from public.submission_attachments where id = attachment;

    insert into public.points_ledger (user_id, delta, reason)
    values (member, 1, 'audit 300') returning id into ledger;
    update public.points_ledger set reason = 'audit 300, corrected' where id = ledger;
    delete from public.points_ledger where id = ledger;

    insert into public.earned_badges (user_id, badge_id) values (member, 'audit_300');
    update public.earned_badges set awarded_at = awarded_at - interval '1 day'
    where user_id = member and badge_id = 'audit_300';
    delete from public.earned_badges where user_id = member and badge_id = 'audit_300';

    insert into private.role_changes (user_id, old_role, new_role)
    values (member, 'PARTICIPANT', 'REVIEWER') returning id into role_change;
    update private.role_changes set changed_at = changed_at - interval '1 minute'
    where id = role_change;
    delete from private.role_changes where id = role_change;

    insert into private.status_changes (user_id, old_status, new_status)
    values (member, 'ACTIVE', 'SUSPENDED') returning id into status_change;
    update private.status_changes set changed_at = changed_at - interval '1 minute'
    where id = status_change;
    delete from private.status_changes where id = status_change;

    delete from public.submissions where id = submission;
    delete from public.users where id = member;

    insert into exercised (context, target_type, target_id)
    values
        (context, 'public.users', member::text),
        (context, 'public.submissions', submission::text),
        (context, 'public.submission_attachments', attachment::text),
        (context, 'public.points_ledger', ledger::text),
        (context, 'public.earned_badges', member || ',audit_300'),
        (context, 'private.role_changes', role_change::text),
        (context, 'private.status_changes', status_change::text);
end
$$;

-- The events of one context on one table, as 'action ACTOR_TYPE', marking the actor id.
create function pg_temp.events(wanted_context text, wanted_target text, actor uuid)
returns text[]
language sql
as $$
    select coalesce(pg_catalog.array_agg(l.action || ' ' || l.actor_type
            || case
                when l.actor_id is null then ''
                when l.actor_id = actor then ' (acting member)'
                else ' (another member)'
            end
            order by l.id), '{}')
    from exercised as e
    join audit.audit_log as l
        on l.target_type = e.target_type
        and l.target_id = e.target_id
    where e.context = wanted_context
        and e.target_type = wanted_target
$$;

select pg_temp.enter('user', :'actor');
select pg_temp.exercise('user');
select pg_temp.enter('service');
select pg_temp.exercise('service');
select pg_temp.enter('cron');
select pg_temp.exercise('cron');
select pg_temp.enter('system');
select pg_temp.exercise('system');


-- The matrix: 4 contexts x 7 tables, each with insert, update and delete.
select is(
    pg_temp.events(c.context, t.target_type, :'actor'),
    array['insert ' || c.suffix, 'update ' || c.suffix, 'delete ' || c.suffix],
    c.context || ': ' || t.target_type || ' records insert, update and delete as '
        || c.suffix
)
from (
    values
        (1, 'user', 'USER (acting member)'),
        (2, 'service', 'SERVICE'),
        (3, 'cron', 'CRON'),
        (4, 'system', 'SYSTEM')
) as c (n, context, suffix)
cross join (
    values
        (1, 'public.users'),
        (2, 'public.submissions'),
        (3, 'public.submission_attachments'),
        (4, 'public.points_ledger'),
        (5, 'public.earned_badges'),
        (6, 'private.role_changes'),
        (7, 'private.status_changes')
) as t (n, target_type)
order by c.n, t.n;


-- Request context: recorded for the user's writes, absent where no request set it.
select is(
    (select pg_catalog.array_agg(distinct pg_catalog.concat_ws(' | ', l.ip_address,
        l.user_agent, l.request_id, l.session_id))
    from exercised as e
    join audit.audit_log as l on l.target_type = e.target_type and l.target_id = e.target_id
    where e.context = 'user'),
    array['203.0.113.7 | audit-test/300 | req-audit-300 | 30000000-0000-4000-8000-000000000300'],
    'user: every event carries the first forwarded address, user agent, request id and session'
);

select is(
    (select pg_catalog.count(*)
    from exercised as e
    join audit.audit_log as l on l.target_type = e.target_type and l.target_id = e.target_id
    where e.context <> 'user'
        and (l.ip_address is not null or l.user_agent is not null or l.request_id is not null
            or l.session_id is not null)),
    0::bigint,
    'service, cron, system: no request context is invented when none was given'
);


-- Through the real API roles and functions.
select pg_temp.enter('system');

select tests.act_as(:'participant');
insert into public.submissions (activity_code, title)
values ('EXPLORE', 'Own work, through RLS')
returning id as own_submission \gset
select tests.clear_actor();

select is(
    (select l.actor_type || ' ' || (l.actor_id = :'participant')
    from audit.audit_log as l
    where l.target_type = 'public.submissions' and l.target_id = :'own_submission'),
    'USER true',
    'participant (authenticated, under RLS): their own insert is recorded with their id'
);

select tests.act_as_service();
update public.users set cohort = 'audit-300-service' where id = :'target';
select tests.clear_actor();

select is(
    (select pg_catalog.array_agg(l.actor_type::text || ' ' || coalesce(l.actor_id::text, '-'))
    from audit.audit_log as l
    where l.target_type = 'public.users' and l.target_id = :'target'
        and l.action = 'update' and l.changed_fields = array['cohort']),
    array['SERVICE -'],
    'service_role (real role and claims): an update is recorded as SERVICE, with no member'
);

-- A service-role session without claims (a direct connection): still the service.
set local role service_role;
select pg_catalog.set_config('request.jwt.claims', '', true);
update public.users set cohort = 'audit-300-direct' where id = :'target';
select tests.clear_actor();

select is(
    (select pg_catalog.array_agg(l.actor_type::text)
    from audit.audit_log as l
    where l.target_type = 'public.users' and l.target_id = :'target'
        and l.metadata -> 'new' ->> 'cohort' = 'audit-300-direct'),
    array['SERVICE'],
    'service_role without claims: recorded as SERVICE, not SYSTEM'
);

-- A member id claimed by a service call is not a signed-in member.
select pg_catalog.set_config('request.jwt.claims',
    pg_catalog.jsonb_build_object('role', 'service_role', 'sub', :'participant')::text, true);
update public.users set cohort = 'audit-300-sub' where id = :'target';
select pg_catalog.set_config('request.jwt.claims', '', true);

select is(
    (select pg_catalog.array_agg(l.actor_type::text || ' ' || coalesce(l.actor_id::text, '-'))
    from audit.audit_log as l
    where l.target_type = 'public.users' and l.target_id = :'target'
        and l.metadata -> 'new' ->> 'cohort' = 'audit-300-sub'),
    array['SERVICE -'],
    'service claims naming a sub: recorded as SERVICE without a member id'
);

-- pg_cron runs its jobs with application_name pg_cron.
set local application_name = 'pg_cron';
update public.users set cohort = 'audit-300-cron' where id = :'target';
reset application_name;

select is(
    (select pg_catalog.array_agg(l.actor_type::text)
    from audit.audit_log as l
    where l.target_type = 'public.users' and l.target_id = :'target'
        and l.metadata -> 'new' ->> 'cohort' = 'audit-300-cron'),
    array['CRON'],
    'pg_cron: a job''s write without leaps.job is still recorded as CRON'
);

-- A superadmin at aal2 changes a role through the definer function: both the history row
-- and the profile change name the superadmin.
select tests.act_as(:'superadmin', 'aal2');
select public.set_user_role(:'target', 'REVIEWER');
select tests.clear_actor();

select is(
    (select pg_catalog.array_agg(l.target_type || ' ' || l.action || ' ' || l.actor_type
        || ' ' || (l.actor_id = :'superadmin') order by l.target_type)
    from audit.audit_log as l
    where l.txid = pg_catalog.pg_current_xact_id()::text::bigint
        and l.actor_id is not distinct from :'superadmin'
        and (l.target_type = 'private.role_changes'
            or (l.target_type = 'public.users' and 'role' = any (l.changed_fields)))),
    array['private.role_changes insert USER true', 'public.users update USER true'],
    'superadmin aal2 via set_user_role: role history insert and profile update name them'
);

select * from finish();
rollback;
