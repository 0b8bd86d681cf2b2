-- Who reads the compliance views: they are security invoker, so the policies of
-- audit.audit_log decide. ADMIN and SUPERADMIN at aal2 count every event; a participant, a
-- reviewer, an administrator at aal1 or a suspended administrator count nothing, and
-- audit.compliance_report refuses them rather than reporting a quiet month.
begin;
set local search_path = public, extensions;
select plan(28);

select
    tests.create_member('t_acc_admin', 'ADMIN', mfa_verified => true) as admin,
    tests.create_member('t_acc_super', 'SUPERADMIN', mfa_verified => true) as super,
    tests.create_member('t_acc_reviewer', 'REVIEWER') as reviewer,
    tests.create_member('t_acc_participant') as participant,
    tests.create_member('t_acc_suspended', 'ADMIN', 'SUSPENDED', mfa_verified => true)
        as suspended
\gset

-- March 2002: no other test writes there. One event of each kind the views count.
insert into audit.audit_log
    (occurred_at, actor_id, actor_type, action, target_type, target_id, outcome, ip_address,
        metadata)
values
    ('2002-03-04T10:00:00Z', :'participant', 'USER', 'dsar.export', 'user', :'participant',
        'SUCCESS', null, '{"request_kind": "access", "requested_at": "2002-03-04T09:00:00Z",
          "completed_at": "2002-03-04T10:00:00Z", "for_self": true}'),
    ('2002-03-05T10:00:00Z', null, 'SYSTEM', 'auth.login_failed', 'user', :'participant',
        'FAILURE', '203.0.113.50', '{}');

prepare summary as
    select count(*)::int from audit.monthly_summary where month = '2002-03-01';
prepare dsar as
    select count(*)::int from audit.dsar_report where month = '2002-03-01';
prepare incidents as
    select count(*)::int from audit.security_incidents
    where day >= '2002-03-01' and day < '2002-04-01';
prepare report as
    select audit.compliance_report('2002-03-01') #>> '{activity,events}';


-- The catalog: security invoker, documented, readable by the API roles that need it.
select is(
    (
        select count(*)::int
        from pg_catalog.pg_class as c
        where c.oid in ('audit.monthly_summary'::regclass, 'audit.dsar_report'::regclass,
                'audit.security_incidents'::regclass)
            and 'security_invoker=true' = any(c.reloptions)
            and pg_catalog.obj_description(c.oid, 'pg_class') is not null
    ),
    3,
    'catalog: the three views are security_invoker and commented'
);
select ok(
    pg_catalog.has_table_privilege('authenticated', 'audit.dsar_report', 'select')
        and pg_catalog.has_table_privilege('service_role', 'audit.security_incidents', 'select')
        and not pg_catalog.has_table_privilege('anon', 'audit.monthly_summary', 'select'),
    'catalog: select granted to authenticated and service_role, not to anon'
);
select ok(
    not pg_catalog.has_function_privilege('anon', 'audit.compliance_report(date)', 'execute')
        and pg_catalog.has_function_privilege('authenticated', 'audit.compliance_report(date)',
            'execute'),
    'catalog: compliance_report is executable by authenticated, not by anon'
);
select is(
    (select p.prosecdef from pg_catalog.pg_proc as p
     where p.oid = 'audit.compliance_report(date)'::regprocedure),
    false,
    'catalog: compliance_report is security invoker'
);


-- Administrators at aal2: every event.
select tests.act_as(:'admin', 'aal2');
select results_eq('summary', $$values (2)$$, 'admin aal2: monthly_summary has both actions');
select results_eq('dsar', $$values (1)$$, 'admin aal2: dsar_report has the month');
select results_eq('incidents', $$values (1)$$, 'admin aal2: security_incidents has the day');
select results_eq('report', $$values ('2')$$, 'admin aal2: compliance_report counts 2 events');

select tests.act_as(:'super', 'aal2');
select results_eq('summary', $$values (2)$$, 'superadmin aal2: monthly_summary has both');
select results_eq('dsar', $$values (1)$$, 'superadmin aal2: dsar_report has the month');
select results_eq('report', $$values ('2')$$, 'superadmin aal2: compliance_report counts 2');


-- Administrators at aal1: nothing, and the report is refused.
select tests.act_as(:'admin', 'aal1');
select results_eq('summary', $$values (0)$$, 'admin aal1: monthly_summary is empty');
select results_eq('dsar', $$values (0)$$, 'admin aal1: dsar_report is empty');
select results_eq('incidents', $$values (0)$$, 'admin aal1: security_incidents is empty');
select throws_ok('report', '42501', null, 'admin aal1: compliance_report is refused (42501)');

select tests.act_as(:'super', 'aal1');
select results_eq('summary', $$values (0)$$, 'superadmin aal1: monthly_summary is empty');


-- A suspended administrator, even at aal2: nothing.
select tests.act_as(:'suspended', 'aal2');
select results_eq('summary', $$values (0)$$, 'suspended admin aal2: monthly_summary is empty');
select throws_ok('report', '42501', null,
    'suspended admin aal2: compliance_report is refused (42501)');


-- Members below ADMIN: nothing, also about their own requests.
select tests.act_as(:'participant', 'aal2');
select results_eq('summary', $$values (0)$$, 'participant: monthly_summary is empty');
select results_eq('dsar', $$values (0)$$, 'participant: dsar_report is empty');
select results_eq('incidents', $$values (0)$$, 'participant: security_incidents is empty');
select throws_ok('report', '42501', null, 'participant: compliance_report is refused (42501)');

select tests.act_as(:'reviewer', 'aal1');
select results_eq('summary', $$values (0)$$, 'reviewer: monthly_summary is empty');
select throws_ok('report', '42501', null, 'reviewer: compliance_report is refused (42501)');


-- The anon key: no access to the schema at all.
select tests.act_as_anon();
select throws_ok('select count(*) from audit.monthly_summary', '42501', null,
    'anon: monthly_summary is refused (42501)');
select throws_ok('select audit.compliance_report(current_date)', '42501', null,
    'anon: compliance_report is refused (42501)');


-- The service role (bypasses RLS) reads everything, for server-side jobs.
select tests.act_as_service();
select results_eq('summary', $$values (2)$$, 'service_role: monthly_summary has both actions');
select results_eq('report', $$values ('2')$$, 'service_role: compliance_report counts 2');

select tests.clear_actor();
select * from finish();
rollback;
