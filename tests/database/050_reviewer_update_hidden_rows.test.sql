-- A reviewer writes to submissions that RLS hides from their update: their own submissions
-- (the reviewer update policy excludes them), and another member's submission while the
-- reviewer is suspended. No row changes and no points are credited.

begin;
set local search_path = public, extensions;
select plan(12);

select
    tests.create_member('t_reviewer', 'REVIEWER') as reviewer,
    tests.create_member('t_other') as other
\gset

select
    tests.create_submission(:'reviewer', 'Reviewer approved', 'APPROVED') as own_approved,
    tests.create_submission(:'reviewer', 'Reviewer pending') as own_pending,
    tests.create_submission(:'other', 'Other pending') as other_pending
\gset


-- Own submissions: the reviewer policy excludes them, the owner policy covers only PENDING.
select tests.act_as(:'reviewer');

select throws_ok(
    format(
        $$update public.submissions set review_note = 'Great work, me'
    where id = %L$$,
        :'own_approved'
    ),
    '42501', null,
    'reviewer on own APPROVED submission: rewriting the review note is refused with 42501'
);
select throws_ok(
    format(
        $$update public.submissions set status = 'REJECTED'
    where id = %L$$,
        :'own_approved'
    ),
    '42501', null,
    'reviewer on own APPROVED submission: changing the status is refused with 42501'
);
-- The owner policy lets the row through; the column guard refuses the decision.
select throws_ok(
    format(
        $$update public.submissions set status = 'APPROVED' where id = %L$$,
        :'own_pending'
    ),
    '42501', null,
    'reviewer on own PENDING submission: approving it is refused with 42501'
);


-- The reviewer is suspended; their token is still valid.
select tests.clear_actor();
update public.users set status = 'SUSPENDED' where id = :'reviewer';
select tests.act_as(:'reviewer');

with changed as (
    update public.submissions set status = 'APPROVED'
    where id = :'other_pending'
    returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'suspended reviewer: approving another member''s submission affects 0 rows'
);
with changed as (
    update public.submissions set review_note = 'Written while suspended'
    where id = :'other_pending'
    returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'suspended reviewer: writing a review note affects 0 rows'
);


-- Nothing changed, read as the table owner.
select tests.clear_actor();

select results_eq(
    format(
        'select status, review_note from public.submissions where id = %L',
        :'own_approved'
    ),
    $$values ('APPROVED'::public.submission_status, null::text)$$,
    'afterwards: the reviewer''s own APPROVED submission is unchanged'
);
select is(
    (select status from public.submissions where id = :'own_pending'),
    'PENDING'::public.submission_status,
    'afterwards: the reviewer''s own PENDING submission is still PENDING'
);
select is(
    (select reviewer_id from public.submissions where id = :'own_pending'),
    null,
    'afterwards: the reviewer''s own PENDING submission has no reviewer'
);
select is(
    (select status from public.submissions where id = :'other_pending'),
    'PENDING'::public.submission_status,
    'afterwards: the other member''s submission is still PENDING'
);
select is(
    (select review_note from public.submissions where id = :'other_pending'),
    null,
    'afterwards: the other member''s submission has no review note'
);
select is(
    (select reviewer_id from public.submissions where id = :'other_pending'),
    null,
    'afterwards: the other member''s submission has no reviewer'
);
select is(
    (select count(*)::int
    from public.points_ledger
    where submission_id in (:'own_approved', :'own_pending', :'other_pending')),
    0,
    'afterwards: no points were credited for any of these submissions'
);

select * from finish();
rollback;
