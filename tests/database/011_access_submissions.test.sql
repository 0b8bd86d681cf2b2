-- Access matrix of public.submissions.
--
-- Members create and read their own submissions and edit or withdraw them while PENDING;
-- APPROVED and PUBLIC submissions are readable by every member. Reviewers and above read
-- every submission and decide other members' ones. Admins need aal2. Nobody deletes another
-- member's submission through the API; the service role may do everything.

begin;
set local search_path = public, extensions;
select plan(45);

select
    tests.create_member('t_participant') as participant,
    tests.create_member('t_other') as other,
    tests.create_member('t_reviewer', 'REVIEWER') as reviewer,
    tests.create_member('t_admin', 'ADMIN', mfa_verified => true) as admin,
    tests.create_member('t_superadmin', 'SUPERADMIN', mfa_verified => true) as superadmin
\gset

select
    tests.create_submission(:'participant', 'Own pending') as own_pending,
    tests.create_submission(:'participant', 'Own approved', 'APPROVED') as own_approved,
    tests.create_submission(:'other', 'Other pending') as other_pending,
    tests.create_submission(:'other', 'Other public', 'APPROVED', 'PUBLIC') as other_public,
    tests.create_submission(:'other', 'Other private', 'APPROVED') as other_private,
    tests.create_submission(:'other', 'Other pending for the superadmin') as other_pending_2
\gset

prepare read_fixture_submissions as
    select count(*)::int
    from public.submissions
    where id in (:'own_approved', :'other_pending', :'other_public', :'other_private');
prepare insert_own_submission as
    insert into public.submissions (activity_code, title) values ('LEARN', 'New submission');
prepare insert_for_other as
    insert into public.submissions (owner_id, activity_code, title)
    values (:'other', 'LEARN', 'Planted on another member');
prepare insert_approved as
    insert into public.submissions (activity_code, title, status)
    values ('SHINE', 'Self-approved', 'APPROVED');
prepare update_other_title as
    update public.submissions set title = 'Rewritten' where id = :'other_pending';


-- anon: no grant at all.
select tests.act_as_anon();

select throws_ok(
    'read_fixture_submissions', '42501', null,
    'anon: select on submissions is refused with 42501'
);
select throws_ok(
    'insert_own_submission', '42501', null,
    'anon: insert into submissions is refused with 42501'
);
select throws_ok(
    'update_other_title', '42501', null,
    'anon: update of submissions is refused with 42501'
);
select throws_ok(
    $$delete from public.submissions$$, '42501', null,
    'anon: delete from submissions is refused with 42501'
);


-- Participant on their own rows.
select tests.act_as(:'participant');

select is(
    (select count(*)::int from public.submissions where owner_id = :'participant'),
    2,
    'participant: reads own submissions, pending and approved'
);
with created as (
    insert into public.submissions (activity_code, title)
    values ('EXPLORE', 'Created by participant')
    returning owner_id, status
)
select is(
    (select count(*)::int from created where owner_id = :'participant' and status = 'PENDING'),
    1,
    'participant: creates an own PENDING submission (1 row, owner defaulted to self)'
);
select throws_ok(
    'insert_approved', '42501', null,
    'participant: insert with a status is refused with 42501 (no column grant)'
);
with changed as (
    update public.submissions set title = 'Own pending, edited'
    where id = :'own_pending'
    returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'participant: edits own PENDING submission (1 row)'
);
select throws_ok(
    format(
        $$update public.submissions set title = 'Own approved, edited'
    where id = %L$$,
        :'own_approved'
    ),
    '42501', null,
    'participant: edit of own APPROVED submission is refused with 42501'
);
with removed as (
    delete from public.submissions where id = :'own_approved' returning 1
)
select is(
    (select count(*)::int from removed), 0,
    'participant: withdrawal of own APPROVED submission affects 0 rows'
);
with removed as (
    delete from public.submissions where id = :'own_pending' returning 1
)
select is(
    (select count(*)::int from removed), 1,
    'participant: withdraws own PENDING submission (1 row)'
);


-- Participant on someone else's rows.
select is(
    (select count(*)::int from public.submissions where id = :'other_pending'),
    0,
    'participant: reads no other member''s PENDING submission'
);
select is(
    (select count(*)::int from public.submissions where id = :'other_private'),
    0,
    'participant: reads no other member''s APPROVED but PRIVATE submission'
);
select is(
    (select count(*)::int from public.submissions where id = :'other_public'),
    1,
    'participant: reads another member''s APPROVED and PUBLIC submission'
);
select throws_ok(
    'insert_for_other', '42501', null,
    'participant: insert of a submission owned by another member is refused with 42501'
);
with changed as (
    update public.submissions set title = 'Rewritten' where id = :'other_pending' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'participant: edit of another member''s submission affects 0 rows'
);
with removed as (
    delete from public.submissions where id = :'other_pending' returning 1
)
select is(
    (select count(*)::int from removed), 0,
    'participant: delete of another member''s submission affects 0 rows'
);

select tests.clear_actor();
select is(
    (select title from public.submissions where id = :'other_pending'),
    'Other pending',
    'participant: another member''s submission is still there, unchanged'
);
select is(
    (select title from public.submissions where id = :'own_approved'),
    'Own approved',
    'participant: own APPROVED submission is still there, unchanged'
);


-- Reviewer: reads every submission, decides other members' ones, deletes none.
select tests.act_as(:'reviewer');

select is(
    (select count(*)::int
    from public.submissions
    where id in (:'own_approved', :'other_pending', :'other_public', :'other_private')),
    4,
    'reviewer: reads every member''s submissions, private ones included'
);
with changed as (
    update public.submissions set review_note = 'Please add the certificate'
    where id = :'other_pending'
    returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'reviewer: writes the review note of another member''s submission (1 row)'
);
select throws_ok(
    'update_other_title', '42501', null,
    'reviewer: edit of another member''s title is refused with 42501'
);
with removed as (
    delete from public.submissions where id = :'other_pending' returning 1
)
select is(
    (select count(*)::int from removed), 0,
    'reviewer: delete of another member''s submission affects 0 rows'
);
with created as (
    insert into public.submissions (activity_code, title)
    values ('LEARN', 'Created by reviewer')
    returning 1
)
select is(
    (select count(*)::int from created), 1,
    'reviewer: creates an own submission (1 row)'
);


-- Admin at aal1: refused on every row.
select tests.act_as(:'admin', 'aal1');

select is(
    (select count(*)::int
    from public.submissions
    where id in (:'own_approved', :'other_pending', :'other_public', :'other_private')),
    0,
    'admin aal1: reads no submission, not even a PUBLIC approved one'
);
with changed as (
    update public.submissions set status = 'REJECTED' where id = :'other_pending' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'admin aal1: decision on a submission affects 0 rows'
);
select throws_ok(
    'insert_own_submission', '42501', null,
    'admin aal1: insert of an own submission is refused with 42501'
);


-- Admin at aal2: reads all, decides other members' submissions.
select tests.act_as(:'admin', 'aal2');

select is(
    (select count(*)::int
    from public.submissions
    where id in (:'own_approved', :'other_pending', :'other_public', :'other_private')),
    4,
    'admin aal2: reads every member''s submissions'
);
with changed as (
    update public.submissions set status = 'REJECTED' where id = :'other_pending' returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'admin aal2: rejects another member''s PENDING submission (1 row)'
);
with removed as (
    delete from public.submissions where id = :'other_public' returning 1
)
select is(
    (select count(*)::int from removed), 0,
    'admin aal2: delete of another member''s submission affects 0 rows'
);


-- Superadmin at aal2: the same rights as a reviewer on this table.
select tests.act_as(:'superadmin', 'aal2');

select is(
    (select count(*)::int
    from public.submissions
    where id in (:'own_approved', :'other_pending', :'other_public', :'other_private')),
    4,
    'superadmin aal2: reads every member''s submissions'
);
with changed as (
    update public.submissions set review_note = 'Checked again'
    where id = :'other_private'
    returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'superadmin aal2: a decided submission is final, its review note update affects 0 rows'
);
with changed as (
    update public.submissions set review_note = 'Needs a signature'
    where id = :'other_pending_2'
    returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'superadmin aal2: writes the review note of another member''s pending submission (1 row)'
);
select throws_ok(
    format(
        $$update public.submissions set payload = '{"forged": true}' where id = %L$$,
        :'other_pending_2'
    ),
    '42501', null,
    'superadmin aal2: edit of another member''s payload is refused with 42501'
);
with removed as (
    delete from public.submissions where id = :'other_public' returning 1
)
select is(
    (select count(*)::int from removed), 0,
    'superadmin aal2: delete of another member''s submission affects 0 rows'
);


-- Service role: bypasses RLS, holds every grant, and is trusted by the column guard.
select tests.act_as_service();

select is(
    (select count(*)::int
    from public.submissions
    where id in (:'own_approved', :'other_pending', :'other_public', :'other_private')),
    4,
    'service_role: reads every submission'
);
with created as (
    insert into public.submissions (owner_id, activity_code, title)
    values (:'other', 'PRESENT', 'Imported by the server')
    returning 1
)
select is(
    (select count(*)::int from created), 1,
    'service_role: inserts a submission for a member (1 row)'
);
with changed as (
    update public.submissions set title = 'Corrected by the server'
    where id = :'other_public'
    returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'service_role: edits any submission (1 row)'
);
with removed as (
    delete from public.submissions where id = :'other_private' returning 1
)
select is(
    (select count(*)::int from removed), 1,
    'service_role: deletes any submission (1 row)'
);


-- Final state, read as the table owner.
select tests.clear_actor();

select is(
    (select count(*)::int from public.submissions where id = :'own_pending'),
    0,
    'final: the withdrawn PENDING submission is gone'
);
select is(
    (select title from public.submissions where id = :'other_pending'),
    'Other pending',
    'final: the reviewed submission kept its title'
);
select is(
    (select status from public.submissions where id = :'other_pending'),
    'REJECTED'::public.submission_status,
    'final: the aal2 admin''s rejection was kept'
);
select is(
    (select reviewer_id from public.submissions where id = :'other_pending'),
    :'admin'::uuid,
    'final: the rejection is stamped with the aal2 admin as reviewer'
);
select is(
    (select review_note from public.submissions where id = :'other_pending'),
    'Please add the certificate',
    'final: the reviewer''s note was kept'
);
select is(
    (select count(*)::int from public.submissions where id = :'other_public'),
    1,
    'final: the PUBLIC submission survived every member''s delete'
);

select * from finish();
rollback;
