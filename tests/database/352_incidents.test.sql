-- Incidents (sql/92_incidents.sql): who may handle them, status one step at a time, the
-- 72-hour breach deadline, containment that stops a token at once, evidence packages with
-- their SHA-256 and chain of custody, breach notices, automatic responses to CRITICAL.

begin;
set local search_path = public, extensions;
select plan(22);

select tests.create_member('t_inc352_member') as member \gset
select tests.create_member('t_inc352_suspect') as suspect \gset
select tests.create_member('t_inc352_admin', 'ADMIN', mfa_verified => true) as admin \gset
select tests.create_member('t_inc352_rogue', 'ADMIN', mfa_verified => true) as rogue \gset

select tests.act_as(:'member');
select throws_ok($$select public.open_incident('MALWARE', 'high', 'x y z')$$, '42501', null,
    'a participant cannot open incidents');
select tests.act_as(:'admin', 'aal1');
select throws_ok($$select public.open_incident('MALWARE', 'high', 'x y z')$$, '42501', null,
    'an administrator at aal1 cannot either');

select tests.act_as(:'admin', 'aal2');
select public.open_incident('DATA_BREACH', 'high', 'Export of a cohort to an unknown address',
    affected_users => array[:'member'::uuid],
    first_detected_at => now() - interval '4 days') as breach \gset
select tests.clear_actor();
select is(
    (select notice_due_at from private.incidents where id = :'breach'),
    (select first_detected_at + interval '72 hours' from private.incidents where id = :'breach'),
    'a breach is due 72 hours after it was detected'
);

select tests.act_as(:'admin', 'aal2');
select is(
    (select notice_overdue from public.list_incidents() where id = :'breach'),
    true, 'detected four days ago and not notified: in the overdue list'
);
select throws_ok(format($$select public.move_incident('%s', 'CONTAINED')$$, :'breach'),
    'LGI01', null, 'OPEN cannot jump to CONTAINED');
select is(public.move_incident(:'breach', 'INVESTIGATING', 'looking at the export log'),
    'INVESTIGATING', 'OPEN moves to INVESTIGATING');

-- Containment: the suspect's token stops working on its next statement.
select tests.act_as(:'suspect');
select ok((select private.session_allowed()), 'the suspect''s session works before');
select tests.act_as(:'admin', 'aal2');
select ok(public.suspend_member_for_incident(:'breach', :'suspect') >= 1,
    'suspending ends the suspect''s sessions');
select tests.clear_actor();
set local role authenticated;
select is((select private.session_allowed()), false,
    'the same token is refused on its next statement');
reset role;
select is(
    (select status::text from public.users where id = :'suspect'), 'SUSPENDED',
    'the suspect is suspended'
);

-- Evidence.
select tests.act_as(:'admin', 'aal2');
select public.collect_incident_evidence(:'breach', now() - interval '1 hour') as evidence \gset
select tests.clear_actor();
select is(
    (select sha256 = encode(digest(content::text, 'sha256'), 'hex')
        and content -> 'privileged_accounts' @> pg_catalog.jsonb_build_array(
            pg_catalog.jsonb_build_object('id', :'admin'))
    from private.incident_evidence where id = :'evidence'),
    true, 'the package holds the privileged accounts and its SHA-256 matches'
);
select tests.act_as(:'admin', 'aal2');
select is(
    (select pg_catalog.jsonb_array_length(custody) from public.incident_evidence_package(
        :'evidence', 'copy for the authority')),
    2, 'handing it out adds to the chain of custody'
);
select tests.clear_actor();
update private.incident_evidence set content = content || '{"edited": true}' where id = :'evidence';
select tests.act_as(:'admin', 'aal2');
select throws_ok(format($$select * from public.incident_evidence_package('%s', 'again')$$,
    :'evidence'), 'LGI02', null, 'a package changed after collection is refused');

-- Breach notices.
select is(public.send_breach_notice(:'breach', 'subjects'), 2,
    'one notice per affected member (the member, and the suspended suspect) is queued');
select is(public.send_breach_notice(:'breach', 'authority'), 1,
    'and one for the authority');
select is(public.send_breach_notice(:'breach', 'subjects'), 0,
    'sending again queues nothing twice');
select is(
    (select notice_overdue from public.list_incidents() where id = :'breach'),
    false, 'notified: no longer overdue (late, which the timeline says)'
);
select tests.clear_actor();
select is(
    (select details ->> 'in_time' from private.incident_timeline
    where incident_id = :'breach' and entry = 'notification' order by id limit 1),
    'false', 'the timeline records the deadline as missed'
);
select is(
    (select pg_catalog.array_agg(recipient_user_id order by recipient_user_id::text)
    from private.notification_outbox
    where kind = 'breach.notice_subject' and body ->> 'incident' = :'breach'
        and not body::text like '%@%'),
    (select pg_catalog.array_agg(x order by x::text)
    from pg_catalog.unnest(array[:'member'::uuid, :'suspect'::uuid]) as x),
    'each notice names its member by id; no address is in the outbox'
);

-- Automatic response: an administrator promoting six members in a day.
insert into private.role_changes (user_id, old_role, new_role, changed_by)
select tests.create_member('t_inc352_p' || g), 'PARTICIPANT', 'REVIEWER', :'rogue'
from pg_catalog.generate_series(1, 6) as g;
select ok(private.run_detectors() >= 1, 'the detectors raise the alert');
select is(
    (select pg_catalog.jsonb_build_object('category', i.category, 'severity', i.severity,
        'rogue_suspended', (select status = 'SUSPENDED' from public.users where id = :'rogue'),
        'recorded', exists (select 1 from private.incident_timeline as t
                            where t.incident_id = i.id and t.entry = 'automatic_response'
                                and t.details ->> 'action' = 'suspend_member'))
    from private.incidents as i where i.title like 'role_changes_per_actor:%' || :'rogue'),
    '{"category": "ACCESS_VIOLATION", "severity": "critical", "rogue_suspended": true,
      "recorded": true}'::jsonb,
    'a CRITICAL finding opens an incident, suspends the actor and records it on the timeline'
);
select is(
    (select pg_catalog.array_agg(action order by id) from audit.audit_log
    where action like 'incident.%' and target_id in (:'breach', :'suspect')),
    array['incident.open', 'incident.status', 'incident.suspend_member',
        'incident.evidence_collected', 'incident.evidence_handed_out', 'incident.breach_notice',
        'incident.breach_notice', 'incident.breach_notice'],
    'every act on the incident is in the audit trail (the refused hand-out is not: it rolled back)'
);

select * from finish();
rollback;
