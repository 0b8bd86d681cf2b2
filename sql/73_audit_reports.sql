-- Compliance reporting over the audit trail: monthly activity, data-subject requests against
-- the UU 27/2022 deadline (3x24 hours), and daily security incidents.
--
-- Rules it keeps:
-- * every view is security_invoker, so the policies of audit.audit_log decide what a caller
--   counts: ADMIN and SUPERADMIN with audit:view at aal2 see the whole log, anyone else sees
--   no rows and so gets no report rows (never partial figures);
-- * months and days are UTC calendar periods, whatever the session's TimeZone, so the same
--   report gives the same numbers to every reader;
-- * the reports hold counts and durations only: no member ids, addresses or metadata values.


-- A timestamp written by application code into event metadata, or null when it is missing
-- or malformed. Only full ISO 8601 values with an explicit offset are read: a bare date would
-- depend on the session's TimeZone, and words such as 'now' would read the clock. Checked
-- without an exception block (a subtransaction per row) and without a SET clause, so the
-- planner inlines it into the views: it runs on every DSAR event of the log.
create function audit.metadata_time(value text)
returns timestamptz
language sql
stable
set search_path = ''
as $$
    select case
        when value ~ ('^(?!0000)\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])'
            || '[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?'
            || '(Z|[+-](0\d|1[0-4])(:?[0-5]\d)?)$')
        then
            case
                -- The day must exist in its month (2001-02-29 and 2001-04-31 do not).
                when pg_catalog.substr(value, 9, 2)::integer <= extract(day from
                    pg_catalog.make_date(pg_catalog.substr(value, 1, 4)::integer,
                        pg_catalog.substr(value, 6, 2)::integer, 1)
                        + interval '1 month - 1 day')
                then value::timestamptz
            end
    end
$$;

comment on function audit.metadata_time(text) is
    'Reads an ISO 8601 timestamp with offset from event metadata; null if missing or invalid.';


create view audit.monthly_summary
with (security_invoker = true)
as
select
    pg_catalog.date_trunc('month', l.occurred_at at time zone 'UTC')::date as month,
    l.action,
    pg_catalog.count(*) as events,
    pg_catalog.count(distinct l.actor_id) as unique_actors,
    pg_catalog.count(*) filter (where l.outcome = 'SUCCESS') as successes,
    pg_catalog.count(*) filter (where l.outcome = 'FAILURE') as failures,
    pg_catalog.count(*) filter (where l.outcome = 'PARTIAL') as partials
from audit.audit_log as l
group by 1, 2;

comment on view audit.monthly_summary is
    'Audit events per UTC month and action, with their outcomes. Security invoker: readers '
    'without audit:view at aal2 get no rows.';
comment on column audit.monthly_summary.month is
    'First day of the UTC calendar month the events occurred in.';
comment on column audit.monthly_summary.unique_actors is
    'Distinct members who acted. Service, cron and system acts name no member and are not '
    'counted here (they are in events).';
comment on column audit.monthly_summary.partials is
    'Events with outcome PARTIAL, e.g. an erasure that kept rows under a legal hold. '
    'events = successes + failures + partials.';


create view audit.dsar_report
with (security_invoker = true)
as
with requests as (
    select
        l.action,
        l.outcome,
        t.requested_at,
        t.completed_at,
        pg_catalog.date_trunc('month',
            coalesce(t.requested_at, l.occurred_at) at time zone 'UTC')::date as month,
        pg_catalog.round(
            (extract(epoch from t.completed_at - t.requested_at) / 3600)::numeric, 2)
            as response_hours
    from audit.audit_log as l
    cross join lateral (
        select
            audit.metadata_time(l.metadata ->> 'requested_at') as requested_at,
            audit.metadata_time(l.metadata ->> 'completed_at') as completed_at
    ) as t
    where l.action in ('dsar.export', 'dsar.delete')
)
select
    r.month,
    pg_catalog.count(*) filter (where r.action = 'dsar.export') as access_requests,
    pg_catalog.count(*) filter (where r.action = 'dsar.delete') as deletion_requests,
    pg_catalog.count(*) filter (where r.outcome in ('SUCCESS', 'PARTIAL')) as completed,
    pg_catalog.count(*) filter (where r.outcome = 'FAILURE') as failed,
    pg_catalog.round(
        (pg_catalog.percentile_cont(0.5) within group (order by r.response_hours)
            filter (where r.outcome in ('SUCCESS', 'PARTIAL')))::numeric, 2)
        as median_response_hours,
    pg_catalog.max(r.response_hours) filter (where r.outcome in ('SUCCESS', 'PARTIAL'))
        as max_response_hours,
    pg_catalog.count(*) filter (
        where r.outcome in ('SUCCESS', 'PARTIAL')
            and r.completed_at - r.requested_at > interval '72 hours'
    ) as over_deadline,
    pg_catalog.count(*) filter (
        where r.outcome in ('SUCCESS', 'PARTIAL')
            and r.response_hours is null
    ) as untimed
from requests as r
group by r.month;

comment on view audit.dsar_report is
    'Data-subject requests (dsar.export: access, dsar.delete: deletion) per UTC month of the '
    'request, with response times against the UU 27/2022 deadline of 3x24 hours. Security '
    'invoker: readers without audit:view at aal2 get no rows.';
comment on column audit.dsar_report.month is
    'First day of the UTC month of metadata.requested_at (of the event when that is missing).';
comment on column audit.dsar_report.completed is
    'Requests answered: outcome SUCCESS, or PARTIAL (answered, some data kept under a hold).';
comment on column audit.dsar_report.failed is
    'Requests recorded with outcome FAILURE; each still needs an answer within the deadline.';
comment on column audit.dsar_report.median_response_hours is
    'Median of completed_at - requested_at (metadata) over completed requests, in hours.';
comment on column audit.dsar_report.max_response_hours is
    'Longest response time of a completed request, in hours.';
comment on column audit.dsar_report.over_deadline is
    'Completed requests answered more than 72 hours (3x24 hours, UU 27/2022) after the request.';
comment on column audit.dsar_report.untimed is
    'Completed requests without valid requested_at/completed_at: left out of the times above.';


create view audit.security_incidents
with (security_invoker = true)
as
with incidents as (
    select
        (l.occurred_at at time zone 'UTC')::date as day,
        l.action,
        l.outcome,
        l.ip_address,
        l.actor_id,
        case
            when l.target_type = 'user'
                and l.target_id ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
            then l.target_id::uuid
        end as target_user
    from audit.audit_log as l
    where l.action in ('auth.login_failed', 'auth.token_rejected')
        or l.outcome = 'FAILURE'
)
select
    i.day,
    pg_catalog.count(*) filter (where i.action = 'auth.login_failed') as failed_logins,
    pg_catalog.count(*) filter (
        where i.outcome = 'FAILURE' or i.action = 'auth.token_rejected'
    ) as unauthorized_attempts,
    pg_catalog.count(distinct i.ip_address) as source_ips,
    (
        select pg_catalog.count(distinct u.id)
        from pg_catalog.unnest(
            pg_catalog.array_agg(i.actor_id) || pg_catalog.array_agg(i.target_user)) as u(id)
    ) as affected_users
from incidents as i
group by i.day;

comment on view audit.security_incidents is
    'Failed sign-ins and refused or failed acts per UTC day. Security invoker: readers without '
    'audit:view at aal2 get no rows.';
comment on column audit.security_incidents.day is
    'UTC calendar day the events occurred on.';
comment on column audit.security_incidents.failed_logins is
    'Events auth.login_failed.';
comment on column audit.security_incidents.unauthorized_attempts is
    'Events with outcome FAILURE, of any action (failed logins recorded as FAILURE included), '
    'plus auth.token_rejected.';
comment on column audit.security_incidents.source_ips is
    'Distinct client IP addresses among that day''s failed logins and unauthorized attempts.';
comment on column audit.security_incidents.affected_users is
    'Distinct members involved: the acting member, or the member an event targeted '
    '(target_type user).';


-- The report the compliance-report function serves: the three views for one month, as one
-- document. Security invoker like the views; a caller under RLS without the right to read the
-- log is refused instead of being handed a report of zeros that would look like a quiet month.
create function audit.compliance_report(month date)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
    first_day date := pg_catalog.date_trunc('month', compliance_report.month)::date;
    report jsonb;
begin
    if compliance_report.month is null then
        raise exception 'audit.compliance_report: month is required'
            using errcode = 'null_value_not_allowed',
                hint = 'Pass any date of the month to report on.';
    end if;
    if pg_catalog.row_security_active('audit.audit_log')
        and not (private.session_allowed() and private.authorize('audit:view'))
    then
        raise exception 'reading the audit trail is not allowed in this session'
            using errcode = 'insufficient_privilege',
                hint = 'Needs audit:view (ADMIN or SUPERADMIN) at aal2.';
    end if;

    select pg_catalog.jsonb_build_object(
        'format', 'leaps-guard.compliance-report.v1',
        'month', pg_catalog.to_char(first_day, 'YYYY-MM'),
        'period', pg_catalog.jsonb_build_object(
            'from', pg_catalog.to_char(first_day, 'YYYY-MM-DD"T"00:00:00"Z"'),
            'until', pg_catalog.to_char((first_day + interval '1 month')::date,
                'YYYY-MM-DD"T"00:00:00"Z"'),
            'time_zone', 'UTC'),
        'generated_at', pg_catalog.to_char(pg_catalog.now() at time zone 'UTC',
            'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'deadline_hours', 72,
        'activity', (
            select pg_catalog.jsonb_build_object(
                'events', coalesce(pg_catalog.sum(s.events), 0),
                'successes', coalesce(pg_catalog.sum(s.successes), 0),
                'failures', coalesce(pg_catalog.sum(s.failures), 0),
                'partials', coalesce(pg_catalog.sum(s.partials), 0),
                'actions', coalesce(pg_catalog.jsonb_agg(
                    pg_catalog.to_jsonb(s) - 'month' order by s.events desc, s.action), '[]'))
            from audit.monthly_summary as s
            where s.month = first_day),
        'dsar', coalesce(
            (select pg_catalog.to_jsonb(d) - 'month'
             from audit.dsar_report as d
             where d.month = first_day),
            pg_catalog.jsonb_build_object(
                'access_requests', 0, 'deletion_requests', 0, 'completed', 0, 'failed', 0,
                'median_response_hours', null, 'max_response_hours', null,
                'over_deadline', 0, 'untimed', 0)),
        -- The twelve months up to this one, for the response-time trend.
        'dsar_history', (
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'month', pg_catalog.to_char(m.month, 'YYYY-MM'),
                'requests', coalesce(d.access_requests + d.deletion_requests, 0),
                'median_response_hours', d.median_response_hours,
                'max_response_hours', d.max_response_hours,
                'over_deadline', coalesce(d.over_deadline, 0))
                order by m.month)
            from pg_catalog.generate_series(first_day - interval '11 months',
                first_day::timestamp, interval '1 month') as g(start)
            cross join lateral (select g.start::date as month) as m
            left join audit.dsar_report as d on d.month = m.month),
        'incidents', (
            select pg_catalog.jsonb_build_object(
                'failed_logins', coalesce(pg_catalog.sum(i.failed_logins), 0),
                'unauthorized_attempts', coalesce(pg_catalog.sum(i.unauthorized_attempts), 0),
                'days', coalesce(pg_catalog.jsonb_agg(
                    pg_catalog.jsonb_build_object(
                        'day', pg_catalog.to_char(i.day, 'YYYY-MM-DD'),
                        'failed_logins', i.failed_logins,
                        'unauthorized_attempts', i.unauthorized_attempts,
                        'source_ips', i.source_ips,
                        'affected_users', i.affected_users)
                    order by i.day), '[]'))
            from audit.security_incidents as i
            where i.day >= first_day
                and i.day < (first_day + interval '1 month')::date)
    )
    into report;
    return report;
end
$$;

comment on function audit.compliance_report(date) is
    'One month (any date in it) of monthly_summary, dsar_report (plus a 12-month trend) and '
    'security_incidents as a JSON document. Security invoker; refuses callers under RLS '
    'without audit:view at aal2.';


revoke all on audit.monthly_summary, audit.dsar_report, audit.security_incidents
    from public, anon;
grant select on audit.monthly_summary, audit.dsar_report, audit.security_incidents
    to authenticated, service_role;
revoke all on function audit.metadata_time(text) from public, anon;
revoke all on function audit.compliance_report(date) from public, anon;
grant execute on function audit.metadata_time(text), audit.compliance_report(date)
    to authenticated, service_role;
