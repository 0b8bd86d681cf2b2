-- Data-subject requests (sql/80_data_subject_requests.sql, policies/dsar_requests.sql).
--
-- Members file and read their own requests (due 72 hours after receipt), never anyone
-- else's, and cannot move them on; request handlers (dsar:manage at aal2) read all, see the
-- overdue ones, and complete or reject them (with a reason); final states stay final.

begin;
set local search_path = public, extensions;
select plan(15);

select tests.create_member('t_dsar341_siti') as siti \gset
select tests.create_member('t_dsar341_budi') as budi \gset
select tests.create_member('t_dsar341_admin', 'ADMIN', mfa_verified => true) as admin \gset

select tests.act_as(:'siti');
select public.file_dsar_request('access', 'Semua data saya') as siti_access \gset
select is(
    (select pg_catalog.jsonb_build_object('status', r.status, 'due_in_hours',
        extract(epoch from r.due_at - r.received_at) / 3600, 'subject', r.subject_id = :'siti')
    from public.dsar_requests as r where r.id = :'siti_access'),
    '{"status": "received", "due_in_hours": 72, "subject": true}'::jsonb,
    'participant: files an access request for themselves, due 72 hours after receipt'
);
select throws_ok(
    format($$select public.file_dsar_request('deletion', null, %L)$$, :'budi'),
    '42501', null,
    'participant: filing a request for another member is refused (42501)');
select throws_ok(
    format($$select public.set_dsar_request_status(%L, 'completed')$$, :'siti_access'),
    '42501', null,
    'participant: completing their own request is refused (42501)');
select throws_ok(
    format($$update public.dsar_requests set status = 'completed' where id = %L$$,
        :'siti_access'),
    '42501', null,
    'participant: updating a request directly is refused (42501)');
select public.file_dsar_request('deletion') as siti_deletion \gset
select tests.act_as(:'budi');
select public.file_dsar_request('export') as budi_export \gset
select is(
    (select pg_catalog.count(*) from public.dsar_requests),
    1::bigint,
    'participant: sees only their own request, not the other member''s two'
);
select tests.clear_actor();

-- One request received four days ago, now overdue.
insert into public.dsar_requests (kind, subject_id, requester_id, received_at, due_at)
values ('access', :'budi', :'budi', pg_catalog.now() - interval '4 days',
    pg_catalog.now() - interval '4 days' + interval '72 hours')
returning id as overdue \gset

select tests.act_as(:'admin', 'aal1');
select is((select pg_catalog.count(*) from public.dsar_requests), 0::bigint,
    'admin at aal1: sees no request');
select tests.act_as(:'admin', 'aal2');
select is(
    (select pg_catalog.count(*) from public.dsar_requests
     where subject_id in (:'siti', :'budi')),
    4::bigint,
    'admin aal2: sees every request');
select is(
    (select pg_catalog.array_agg(o.id) from public.overdue_dsar_requests as o
     where o.subject_id in (:'siti', :'budi')),
    array[:'overdue'::uuid],
    'admin aal2: the overdue list holds exactly the request past its deadline');
select throws_ok(
    format($$select public.set_dsar_request_status(%L, 'rejected')$$, :'budi_export'),
    '22023', 'a rejection needs a reason',
    'admin aal2: a rejection without a reason is refused (22023)');
select is(
    (select r.status || ' ' || (r.completed_at is not null) || ' ' || (r.handled_by = :'admin')
     from public.set_dsar_request_status(:'budi_export', 'rejected',
        'Duplicate of an earlier request') as r),
    'rejected true true',
    'admin aal2: rejects with a reason; completion time and handler recorded');
select throws_ok(
    format($$select public.set_dsar_request_status(%L, 'completed')$$, :'budi_export'),
    'LGD01', null,
    'admin aal2: a rejected request cannot change again (LGD01)');
select is(
    (select r.status::text from public.set_dsar_request_status(:'overdue', 'completed') as r),
    'completed',
    'admin aal2: completes the overdue request');
select is(
    (select pg_catalog.count(*) from public.overdue_dsar_requests as o
     where o.subject_id in (:'siti', :'budi')),
    0::bigint,
    'admin aal2: and it leaves the overdue list');
select tests.clear_actor();

select is(
    (select pg_catalog.count(*) from audit.audit_log as l
     where l.target_type = 'public.dsar_requests'
        and l.target_id in (:'siti_access', :'budi_export')),
    3::bigint,
    'requests and their changes are in the audit trail');
select is(
    (select pg_catalog.count(*) from audit.audit_log as l
     where l.target_type = 'public.dsar_requests' and l.metadata::text like '%Semua data saya%'),
    0::bigint,
    'the audit trail does not copy what the member wrote');

select * from finish();
rollback;
