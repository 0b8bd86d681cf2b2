-- Access matrix of public.submission_attachments.
--
-- Only the service role writes attachment rows (after the upload has been checked and
-- scanned). Members read the metadata of their own files, reviewers and above read all,
-- admins only at aal2.

begin;
set local search_path = public, extensions;
select plan(30);

select
    tests.create_member('t_participant') as participant,
    tests.create_member('t_other') as other,
    tests.create_member('t_reviewer', 'REVIEWER') as reviewer,
    tests.create_member('t_admin', 'ADMIN', mfa_verified => true) as admin,
    tests.create_member('t_superadmin', 'SUPERADMIN', mfa_verified => true) as superadmin
\gset

select
    tests.create_submission(:'participant', 'Own pending') as own_submission,
    tests.create_submission(:'other', 'Other pending') as other_submission
\gset

select
    tests.create_attachment(:'own_submission', 'own.pdf') as own_file,
    tests.create_attachment(:'other_submission', 'other.pdf') as other_file
\gset

prepare read_fixture_files as
    select count(*)::int
    from public.submission_attachments
    where id in (:'own_file', :'other_file');
prepare insert_own_file as
    insert into public.submission_attachments
        (submission_id, owner_id, storage_path, file_name, mime_type, byte_size, sha256)
    values (:'own_submission', :'participant', 'planted/by/client.pdf', 'client.pdf',
        'application/pdf', 10, repeat('b', 64));
prepare mark_own_file_clean as
    update public.submission_attachments set scan_status = 'CLEAN' where id = :'own_file';
prepare delete_other_file as
    delete from public.submission_attachments where id = :'other_file';


-- anon: no grant at all.
select tests.act_as_anon();

select throws_ok(
    'read_fixture_files', '42501', null,
    'anon: select on submission_attachments is refused with 42501'
);
select throws_ok(
    'insert_own_file', '42501', null,
    'anon: insert into submission_attachments is refused with 42501'
);
select throws_ok(
    'mark_own_file_clean', '42501', null,
    'anon: update of submission_attachments is refused with 42501'
);
select throws_ok(
    'delete_other_file', '42501', null,
    'anon: delete from submission_attachments is refused with 42501'
);


-- Participant on their own rows: read only.
select tests.act_as(:'participant');

select is(
    (select count(*)::int from public.submission_attachments where id = :'own_file'),
    1,
    'participant: reads the metadata of own attachment'
);
select throws_ok(
    'insert_own_file', '42501', null,
    'participant: insert of an attachment row is refused with 42501 (server writes only)'
);
select throws_ok(
    'mark_own_file_clean', '42501', null,
    'participant: marking own file CLEAN is refused with 42501'
);
select throws_ok(
    $$delete from public.submission_attachments where file_name = 'own.pdf'$$,
    '42501', null,
    'participant: delete of own attachment row is refused with 42501'
);


-- Participant on someone else's rows.
select is(
    (select count(*)::int from public.submission_attachments where id = :'other_file'),
    0,
    'participant: reads no other member''s attachment'
);
select throws_ok(
    'delete_other_file', '42501', null,
    'participant: delete of another member''s attachment is refused with 42501'
);


-- Reviewer: reads every attachment, writes none.
select tests.act_as(:'reviewer');

select is(
    (select count(*)::int
    from public.submission_attachments
    where id in (:'own_file', :'other_file')),
    2,
    'reviewer: reads every member''s attachment metadata'
);
select throws_ok(
    'mark_own_file_clean', '42501', null,
    'reviewer: update of an attachment is refused with 42501'
);
select throws_ok(
    'delete_other_file', '42501', null,
    'reviewer: delete of an attachment is refused with 42501'
);


-- Admin at aal1: nothing.
select tests.act_as(:'admin', 'aal1');

select is(
    (select count(*)::int
    from public.submission_attachments
    where id in (:'own_file', :'other_file')),
    0,
    'admin aal1: reads no attachment'
);
select throws_ok(
    'insert_own_file', '42501', null,
    'admin aal1: insert of an attachment row is refused with 42501'
);


-- Admin at aal2: reads all, writes none.
select tests.act_as(:'admin', 'aal2');

select is(
    (select count(*)::int
    from public.submission_attachments
    where id in (:'own_file', :'other_file')),
    2,
    'admin aal2: reads every member''s attachment metadata'
);
select throws_ok(
    'insert_own_file', '42501', null,
    'admin aal2: insert of an attachment row is refused with 42501'
);
select throws_ok(
    'mark_own_file_clean', '42501', null,
    'admin aal2: update of an attachment is refused with 42501'
);
select throws_ok(
    'delete_other_file', '42501', null,
    'admin aal2: delete of an attachment is refused with 42501'
);


-- Superadmin at aal2: reads all, writes none.
select tests.act_as(:'superadmin', 'aal2');

select is(
    (select count(*)::int
    from public.submission_attachments
    where id in (:'own_file', :'other_file')),
    2,
    'superadmin aal2: reads every member''s attachment metadata'
);
select throws_ok(
    'mark_own_file_clean', '42501', null,
    'superadmin aal2: update of an attachment is refused with 42501'
);
select throws_ok(
    'delete_other_file', '42501', null,
    'superadmin aal2: delete of an attachment is refused with 42501'
);


-- Service role: the upload function writes these rows.
select tests.act_as_service();

select is(
    (select count(*)::int
    from public.submission_attachments
    where id in (:'own_file', :'other_file')),
    2,
    'service_role: reads every attachment'
);
with created as (
    insert into public.submission_attachments
        (submission_id, owner_id, storage_path, file_name, mime_type, byte_size, sha256)
    values (:'own_submission', :'participant', 'server/written.pdf', 'written.pdf',
        'application/pdf', 10, repeat('c', 64))
    returning 1
)
select is(
    (select count(*)::int from created), 1,
    'service_role: inserts an attachment row (1 row)'
);
with changed as (
    update public.submission_attachments set scan_status = 'CLEAN'
    where id = :'own_file'
    returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'service_role: records a scan result (1 row)'
);
with removed as (
    delete from public.submission_attachments where id = :'other_file' returning 1
)
select is(
    (select count(*)::int from removed), 1,
    'service_role: deletes an attachment row (1 row)'
);


-- Final state, read as the table owner.
select tests.clear_actor();

select is(
    (select scan_status from public.submission_attachments where id = :'own_file'),
    'CLEAN'::public.scan_status,
    'final: only the service role''s scan result reached the row'
);
select is(
    (select count(*)::int
    from public.submission_attachments
    where storage_path = 'planted/by/client.pdf'),
    0,
    'final: no attachment row planted by a client exists'
);
select is(
    (select count(*)::int from public.submission_attachments where id = :'other_file'),
    0,
    'final: the service role''s delete was kept'
);
select is(
    (select count(*)::int
    from public.submission_attachments
    where submission_id = :'own_submission'),
    2,
    'final: the participant''s submission has the fixture file and the server''s file'
);

select * from finish();
rollback;
