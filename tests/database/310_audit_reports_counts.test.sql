-- The compliance views count exactly: a seeded July 2001 (a month no other test writes to)
-- of DSAR requests, sign-in failures and row changes, read as the owner of the log, then
-- again under another session TimeZone (months and days are UTC periods).
begin;
set local search_path = public, extensions;
select plan(24);

select
    tests.create_member('t_rep_admin', 'ADMIN', mfa_verified => true) as admin,
    tests.create_member('t_rep_p1') as p1,
    tests.create_member('t_rep_p2') as p2
\gset

-- Written as the owner, the way audit.record_event and the capture triggers write. Letters
-- name the events in the expectations below.
insert into audit.audit_log
    (occurred_at, actor_id, actor_type, action, target_type, target_id, outcome, ip_address,
        metadata)
values
    -- a: self access, 1.5 h
    ('2001-07-02T09:30:00Z', :'p1', 'USER', 'dsar.export', 'user', :'p1', 'SUCCESS', null,
        '{"request_kind": "access", "requested_at": "2001-07-02T08:00:00Z",
          "completed_at": "2001-07-02T09:30:00Z", "for_self": true}'),
    -- b: access by an admin, 78 h: over the deadline
    ('2001-07-13T06:00:00Z', :'admin', 'USER', 'dsar.export', 'user', :'p2', 'SUCCESS', null,
        '{"request_kind": "access", "requested_at": "2001-07-10T00:00:00Z",
          "completed_at": "2001-07-13T06:00:00.000Z", "for_self": false}'),
    -- c: refused access to another member: a failed request and an incident
    ('2001-07-20T10:00:05Z', :'p1', 'USER', 'dsar.export', 'user', :'p2', 'FAILURE',
        '192.0.2.9', '{"request_kind": "access", "requested_at": "2001-07-20T10:00:00Z",
          "completed_at": "2001-07-20T10:00:05Z", "for_self": false}'),
    -- d: requested on 31 July, answered (and recorded) on 1 August, 2 h: a July request
    ('2001-08-01T01:00:00Z', null, 'SERVICE', 'dsar.export', 'user', :'p2', 'SUCCESS', null,
        '{"request_kind": "access", "requested_at": "2001-07-31T23:00:00Z",
          "completed_at": "2001-08-01T01:00:00Z", "for_self": false}'),
    -- g: requested in June, answered on 1 July, 36.5 h: a June request
    ('2001-07-01T00:30:00Z', null, 'SERVICE', 'dsar.export', 'user', :'p1', 'SUCCESS', null,
        '{"request_kind": "access", "requested_at": "2001-06-29T12:00:00Z",
          "completed_at": "2001-07-01T00:30:00+00:00", "for_self": false}'),
    -- e: deletion kept partly under a legal hold, exactly 72 h: not over the deadline
    ('2001-07-08T00:00:00Z', :'admin', 'USER', 'dsar.delete', 'user', :'p1', 'PARTIAL', null,
        '{"request_kind": "deletion", "requested_at": "2001-07-05T07:00:00+07:00",
          "completed_at": "2001-07-08T00:00:00Z", "for_self": false}'),
    -- f: deletion with an impossible request date: completed, but untimed
    ('2001-07-15T12:00:00Z', :'admin', 'USER', 'dsar.delete', 'user', :'p2', 'SUCCESS', null,
        '{"request_kind": "deletion", "requested_at": "2001-02-30T00:00:00Z",
          "completed_at": "2001-07-15T12:00:00Z", "for_self": false}'),
    -- h, i: failed sign-ins from one address against two members
    ('2001-07-20T03:00:00Z', null, 'SYSTEM', 'auth.login_failed', 'user', :'p1', 'FAILURE',
        '203.0.113.5', '{}'),
    ('2001-07-20T04:00:00Z', null, 'SYSTEM', 'auth.login_failed', 'user', :'p2', 'FAILURE',
        '203.0.113.5', '{}'),
    -- j, k: rejected tokens; k was recorded with outcome SUCCESS and still counts
    ('2001-07-21T08:00:00Z', :'p2', 'USER', 'auth.token_rejected', 'function',
        'compliance-report', 'FAILURE', '198.51.100.7', '{}'),
    ('2001-07-21T09:00:00Z', null, 'SYSTEM', 'auth.token_rejected', 'function',
        'compliance-report', 'SUCCESS', '198.51.100.8', '{}'),
    -- l: 20:00 UTC on 31 July is 1 August in Jakarta: still a July day
    ('2001-07-31T20:00:00Z', null, 'SYSTEM', 'auth.login_failed', 'user', :'p1', 'FAILURE',
        '192.0.2.1', '{}'),
    -- m: row changes by two members
    ('2001-07-03T10:00:00Z', :'p1', 'USER', 'insert', 'public.submissions', 'x1', 'SUCCESS',
        null, '{}'),
    ('2001-07-03T11:00:00Z', :'p1', 'USER', 'insert', 'public.submissions', 'x2', 'SUCCESS',
        null, '{}'),
    ('2001-07-03T12:00:00Z', :'p2', 'USER', 'insert', 'public.submissions', 'x3', 'SUCCESS',
        null, '{}'),
    -- n: 23:30 UTC on 30 June is 1 July in Jakarta: still a June event
    ('2001-06-30T23:30:00Z', :'p1', 'USER', 'insert', 'public.submissions', 'x0', 'SUCCESS',
        null, '{}');


-- audit.monthly_summary
select results_eq(
    $$select action, events, unique_actors, successes, failures, partials
      from audit.monthly_summary where month = '2001-07-01' order by action$$,
    $$values
        ('auth.login_failed', 3::bigint, 0::bigint, 0::bigint, 3::bigint, 0::bigint),
        ('auth.token_rejected', 2, 1, 1, 1, 0),
        ('dsar.delete', 2, 1, 1, 0, 1),
        ('dsar.export', 4, 2, 3, 1, 0),
        ('insert', 3, 2, 3, 0, 0)$$,
    'monthly_summary: July 2001 per action (events, actors, successes, failures, partials)'
);
select results_eq(
    $$select month, action, events from audit.monthly_summary
      where month in ('2001-06-01', '2001-08-01') order by month, action$$,
    $$values ('2001-06-01'::date, 'insert', 1::bigint), ('2001-08-01', 'dsar.export', 1)$$,
    'monthly_summary: events at the month edges fall in their UTC month'
);


-- audit.dsar_report
select results_eq(
    $$select access_requests, deletion_requests, completed, failed, median_response_hours,
          max_response_hours, over_deadline, untimed
      from audit.dsar_report where month = '2001-07-01'$$,
    $$values (4::bigint, 2::bigint, 5::bigint, 1::bigint, 37.00::numeric, 78.00::numeric,
        1::bigint, 1::bigint)$$,
    'dsar_report: July 2001 counts, median 37 h of (1.5, 2, 72, 78), max 78 h, 1 over 72 h'
);
select results_eq(
    $$select month, access_requests, completed, median_response_hours, max_response_hours,
          over_deadline
      from audit.dsar_report where month in ('2001-06-01', '2001-08-01')$$,
    $$values ('2001-06-01'::date, 1::bigint, 1::bigint, 36.50::numeric, 36.50::numeric,
        0::bigint)$$,
    'dsar_report: a request counts in the month it was made, not the month it was answered'
);


-- audit.security_incidents
select results_eq(
    $$select day, failed_logins, unauthorized_attempts, source_ips, affected_users
      from audit.security_incidents
      where day >= '2001-07-01' and day < '2001-08-01'
      order by day$$,
    $$values
        ('2001-07-20'::date, 2::bigint, 3::bigint, 2::bigint, 2::bigint),
        ('2001-07-21', 0, 2, 2, 1),
        ('2001-07-31', 1, 1, 1, 1)$$,
    'security_incidents: July 2001 per day (logins, attempts, addresses, members)'
);


-- The same figures whatever the reader's TimeZone.
set local timezone = 'Asia/Jakarta';
select results_eq(
    $$select month, action, events from audit.monthly_summary
      where month between '2001-06-01' and '2001-08-01' and action = 'insert'
      order by month$$,
    $$values ('2001-06-01'::date, 'insert', 1::bigint), ('2001-07-01', 'insert', 3)$$,
    'monthly_summary in Asia/Jakarta: the same UTC months'
);
select results_eq(
    $$select day from audit.security_incidents
      where day >= '2001-07-01' and day < '2001-08-02' order by day$$,
    $$values ('2001-07-20'::date), ('2001-07-21'), ('2001-07-31')$$,
    'security_incidents in Asia/Jakarta: the same UTC days'
);
select is(
    (select median_response_hours from audit.dsar_report where month = '2001-07-01'),
    37.00::numeric,
    'dsar_report in Asia/Jakarta: the same median'
);
reset timezone;


-- audit.metadata_time: only full ISO 8601 timestamps with an offset are read.
select is(audit.metadata_time('2001-07-05T07:00:00+07:00'), '2001-07-05T00:00:00Z'::timestamptz,
    'metadata_time: reads an offset');
select is(audit.metadata_time('2001-07-05T00:00:00.123Z'),
    '2001-07-05T00:00:00.123Z'::timestamptz, 'metadata_time: reads fractions and Z');
select is(audit.metadata_time('now'), null, 'metadata_time: ''now'' is not read as the clock');
select is(audit.metadata_time('2001-07-05T00:00:00'), null,
    'metadata_time: a timestamp without an offset is unknown');
select is(audit.metadata_time('2001-02-30T00:00:00Z'), null,
    'metadata_time: an impossible date is unknown, not an error');
select is(audit.metadata_time('2004-02-29T12:00:00Z'), '2004-02-29T12:00:00Z'::timestamptz,
    'metadata_time: reads a leap day');
select is(audit.metadata_time('2001-04-31T00:00:00Z'), null,
    'metadata_time: 31 April is unknown');
select is(audit.metadata_time('2001-07-05T24:00:00Z'), null,
    'metadata_time: hour 24 is unknown');
select is(audit.metadata_time(null), null, 'metadata_time: null stays null');


-- audit.compliance_report bundles the same figures for one month (any day of it).
select audit.compliance_report('2001-07-19') as report \gset
select is(
    (:'report'::jsonb) -> 'period',
    '{"from": "2001-07-01T00:00:00Z", "until": "2001-08-01T00:00:00Z", "time_zone": "UTC"}',
    'compliance_report: the UTC period of the month'
);
select is(
    ((:'report'::jsonb) -> 'activity') - 'actions',
    '{"events": 14, "successes": 8, "failures": 5, "partials": 1}',
    'compliance_report: activity totals of July 2001'
);
select is(
    (:'report'::jsonb) #> '{activity,actions,0}',
    '{"action": "dsar.export", "events": 4, "unique_actors": 2, "successes": 3,
      "failures": 1, "partials": 0}',
    'compliance_report: actions listed by events, most first'
);
select is(
    (:'report'::jsonb) -> 'dsar',
    '{"access_requests": 4, "deletion_requests": 2, "completed": 5, "failed": 1,
      "median_response_hours": 37.00, "max_response_hours": 78.00, "over_deadline": 1,
      "untimed": 1}',
    'compliance_report: the DSAR figures of July 2001'
);
select is(
    (
        select pg_catalog.jsonb_agg(h -> 'month' order by n)
        from pg_catalog.jsonb_array_elements((:'report'::jsonb) -> 'dsar_history')
            with ordinality as e(h, n)
        where (h ->> 'requests')::int > 0
    ),
    '["2001-06", "2001-07"]',
    'compliance_report: the 12-month DSAR trend holds June and July'
);
select is(
    ((:'report'::jsonb) -> 'incidents') - 'days',
    '{"failed_logins": 3, "unauthorized_attempts": 6}',
    'compliance_report: incident totals of July 2001'
);
select is(
    pg_catalog.jsonb_array_length(audit.compliance_report('2001-05-01') -> 'dsar_history')
        + (audit.compliance_report('2001-05-01') #>> '{activity,events}')::int
        + (audit.compliance_report('2001-05-01') #>> '{dsar,completed}')::int,
    12,
    'compliance_report: a month without events gives zeros and 12 empty trend months'
);

select * from finish();
rollback;
