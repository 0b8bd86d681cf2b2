-- A reviewer is suspended while their access token is still valid. From the next statement
-- on, every read returns nothing and every write changes nothing, whatever the token says.

begin;
set local search_path = public, extensions;
select plan(24);

select
    tests.create_member('t_reviewer', 'REVIEWER', visibility => 'PUBLIC') as reviewer,
    tests.create_member('t_other', visibility => 'PUBLIC') as other
\gset

select
    tests.create_submission(:'reviewer', 'Reviewer pending') as own_pending,
    tests.create_submission(:'other', 'Other pending') as other_pending,
    tests.create_submission(:'other', 'Other public', 'APPROVED', 'PUBLIC') as other_public
\gset

select tests.create_attachment(:'own_pending', 'own.pdf') as own_file \gset
select tests.add_points(:'reviewer', 10) as own_points \gset
select tests.create_badge('t_hand') as badge \gset
select tests.give_badge(:'reviewer', 't_hand') \gset


-- Control: the same token works while the reviewer is ACTIVE.
select tests.act_as(:'reviewer');

select is(
    (select count(*)::int from public.submissions where id = :'other_pending'),
    1,
    'active reviewer (control): reads another member''s PENDING submission'
);
select is(
    (select count(*)::int from public.users where id in (:'reviewer', :'other')),
    2,
    'active reviewer (control): reads own and another member''s profile'
);


-- Suspended, same claims (aal1).
select tests.clear_actor();
update public.users set status = 'SUSPENDED' where id = :'reviewer';
select tests.act_as(:'reviewer');

select is(
    (select count(*)::int from public.users),
    0,
    'suspended reviewer: reads no profile, own included'
);
select is(
    (select count(*)::int from public.submissions),
    0,
    'suspended reviewer: reads no submission, own and PUBLIC ones included'
);
select is(
    (select count(*)::int from public.submission_attachments),
    0,
    'suspended reviewer: reads no attachment, own included'
);
select is(
    (select count(*)::int from public.points_ledger),
    0,
    'suspended reviewer: reads no ledger row, own included'
);
select is(
    (select count(*)::int from public.earned_badges),
    0,
    'suspended reviewer: reads no earned badge, own included'
);
select is(
    (select count(*)::int from public.badges),
    0,
    'suspended reviewer: reads no badge of the catalogue'
);
select is(
    (select count(*)::int from public.leaderboard_totals),
    0,
    'suspended reviewer: reads no leaderboard entry'
);
with changed as (
    update public.submissions set status = 'APPROVED' where id = :'other_pending' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'suspended reviewer: approving another member''s submission affects 0 rows'
);
with changed as (
    update public.submissions set title = 'Edited while suspended'
    where id = :'own_pending'
    returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'suspended reviewer: editing own PENDING submission affects 0 rows'
);
with removed as (
    delete from public.submissions where id = :'own_pending' returning 1
)
select is(
    (select count(*)::int from removed), 0,
    'suspended reviewer: withdrawing own PENDING submission affects 0 rows'
);
with changed as (
    update public.users set visibility = 'PRIVATE' where id = :'reviewer' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'suspended reviewer: editing own profile affects 0 rows'
);
select throws_ok(
    $$insert into public.submissions (activity_code, title) values ('LEARN', 'New')$$,
    '42501', null,
    'suspended reviewer: creating a submission is refused with 42501'
);

select tests.clear_actor();
select results_eq(
    format(
        'select title, status, reviewer_id from public.submissions where id in (%L, %L)'
        ' order by title',
        :'other_pending', :'own_pending'
    ),
    $$values
        ('Other pending', 'PENDING'::public.submission_status, null::uuid),
        ('Reviewer pending', 'PENDING'::public.submission_status, null::uuid)$$,
    'suspended reviewer: both PENDING submissions are unchanged'
);
select is(
    (select visibility from public.users where id = :'reviewer'),
    'PUBLIC'::public.visibility,
    'suspended reviewer: own profile is unchanged'
);


-- Suspended, with an aal2 token (reviewers may enrol MFA). private.session_allowed()
-- evaluates `null < 'ADMIN' or aal = 'aal2'` to true when the caller has no active
-- profile, so the restrictive policy lets the "own rows" policies through.
select tests.act_as(:'reviewer', 'aal2');

select is(
    (select count(*)::int from public.submissions where id = :'other_pending'),
    0,
    'suspended reviewer aal2: reads no other member''s submission'
);
select is(
    (select count(*)::int from public.users),
    0,
    'suspended reviewer aal2: reads no profile, own included'
);
select is(
    (select count(*)::int from public.submissions),
    0,
    'suspended reviewer aal2: reads no submission, own included'
);
select is(
    (select count(*)::int from public.points_ledger),
    0,
    'suspended reviewer aal2: reads no ledger row, own included'
);
select is(
    (select count(*)::int from public.submission_attachments),
    0,
    'suspended reviewer aal2: reads no attachment, own included'
);
with changed as (
    update public.submissions set title = 'Edited while suspended'
    where id = :'own_pending'
    returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'suspended reviewer aal2: editing own PENDING submission affects 0 rows'
);
with removed as (
    delete from public.submissions where id = :'own_pending' returning 1
)
select is(
    (select count(*)::int from removed), 0,
    'suspended reviewer aal2: withdrawing own PENDING submission affects 0 rows'
);

select tests.clear_actor();
select is(
    (select title from public.submissions where id = :'own_pending'),
    'Reviewer pending',
    'suspended reviewer aal2: own PENDING submission is still there, unchanged'
);

select * from finish();
rollback;
