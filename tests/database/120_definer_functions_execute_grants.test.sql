-- Which SECURITY DEFINER functions the API roles can call. Trigger functions are left out:
-- they cannot be called directly. Everything else must be granted by name, as the schema
-- file promises ("nothing here is [executable], unless granted by name").

begin;
set local search_path = public, extensions;
select plan(4);

create temporary view callable_definer_functions as
select
    r.role_name,
    p.oid::regprocedure::text as function_name
from pg_catalog.pg_proc as p
cross join (values ('anon'), ('authenticated')) as r(role_name)
where p.prosecdef
    and p.pronamespace::regnamespace::text in ('public', 'private', 'auth', 'storage', 'vault')
    and p.prorettype not in ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype)
    and pg_catalog.has_function_privilege(r.role_name, p.oid, 'execute')
    and pg_catalog.has_schema_privilege(r.role_name, p.pronamespace, 'usage');

select tests.create_member('t_member') as member \gset
select tests.create_member('t_public_peer', visibility => 'PUBLIC') as peer \gset


select is_empty(
    $$select function_name from callable_definer_functions where role_name = 'anon'$$,
    'grants: anon can call no SECURITY DEFINER function'
);

select set_eq(
    $$select function_name from callable_definer_functions where role_name = 'authenticated'$$,
    $$values
        ('set_user_role(uuid,app_role)'),
        ('set_user_status(uuid,account_status)'),
        ('place_legal_hold(private.hold_scope,text,uuid,timestamp with time zone,'
            || 'timestamp with time zone,timestamp with time zone)'),
        ('lift_legal_hold(uuid)'),
        ('set_personal_identifier(text,text,uuid)'),
        ('reveal_personal_identifier(text,uuid)'),
        ('find_member_by_identifier(text,text)'),
        ('anonymised_members()'),
        ('anonymised_submissions()'),
        ('erasure_dry_run(uuid,text)'),
        ('set_platform_switch(text,boolean,text)'),
        ('set_dsar_request_status(uuid,dsar_status,text)'),
        ('file_dsar_request(dsar_kind,text,uuid)'),
        ('open_incident(text,text,text,text,uuid[],text[],timestamp with time zone)'),
        ('move_incident(uuid,text,text)'),
        ('add_incident_note(uuid,text,uuid)'),
        ('suspend_member_for_incident(uuid,uuid)'),
        ('collect_incident_evidence(uuid,timestamp with time zone,timestamp with time zone)'),
        ('incident_evidence_package(uuid,text)'),
        ('send_breach_notice(uuid,text)'),
        ('list_incidents(boolean)'),
        ('incident_timeline(uuid)'),
        ('open_submission_for_review(uuid)'),
        ('private.authorize(text)'),
        ('private.session_allowed()')$$,
    'grants: authenticated can call exactly the SECURITY DEFINER functions granted by name'
);

select tests.act_as(:'member');
select throws_ok(
    format('select private.refresh_leaderboard(%L)', :'peer'),
    '42501', null,
    'participant: calling the internal private.refresh_leaderboard() is refused with 42501'
);

select tests.act_as_anon();
select throws_ok(
    format('select private.refresh_leaderboard(%L)', :'peer'),
    '42501', null,
    'anon: calling private.refresh_leaderboard() is refused with 42501'
);

select * from finish();
rollback;
