-- A reviewer decides another member's PENDING submission: the status becomes APPROVED, the
-- database stamps the reviewer, and the ledger gets exactly one row for it. The reviewer
-- cannot touch the content, and the owner cannot decide their own submission.

begin;
set local search_path = public, extensions;
select plan(23);

select
    tests.create_member('t_reviewer', 'REVIEWER') as reviewer,
    tests.create_member('t_owner', visibility => 'PUBLIC') as owner
\gset

select
    tests.create_submission(:'owner', 'Classroom trial', activity => 'EXPLORE') as decided,
    tests.create_submission(:'owner', 'Workshop notes', activity => 'LEARN') as untouched
\gset

select points as explore_points from private.activity_rewards where activity_code = 'EXPLORE'
\gset


-- The reviewer approves.
select tests.act_as(:'reviewer');

with changed as (
    update public.submissions
    set status = 'APPROVED', review_note = 'Well documented'
    where id = :'decided'
    returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'reviewer: approves another member''s PENDING submission (1 row)'
);

select tests.clear_actor();

select results_eq(
    format(
        'select status, reviewer_id, reviewed_at is not null from public.submissions'
        ' where id = %L',
        :'decided'
    ),
    format($$values ('APPROVED'::public.submission_status, %L::uuid, true)$$, :'reviewer'),
    'approval: status APPROVED, reviewer_id stamped to the reviewer, reviewed_at set'
);
select results_eq(
    format(
        'select user_id, delta, awarded_by from public.points_ledger where submission_id = %L',
        :'decided'
    ),
    format('values (%L::uuid, %s, null::uuid)', :'owner', :explore_points),
    'approval: the ledger holds exactly one row, crediting the owner the activity''s points'
);


-- A decision is final through the API: the decided row is outside the reviewer's reach.
select tests.act_as(:'reviewer');

with changed as (
    update public.submissions set status = 'APPROVED' where id = :'decided' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'reviewer: writing APPROVED again on a decided submission affects 0 rows'
);
with changed as (
    update public.submissions set status = 'REJECTED' where id = :'decided' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'reviewer: turning an APPROVED submission into REJECTED affects 0 rows'
);
with changed as (
    update public.submissions set status = 'PENDING' where id = :'decided' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'reviewer: reopening an APPROVED submission affects 0 rows'
);
select is(
    (select status::text from public.submissions where id = :'decided'),
    'APPROVED',
    'reviewer: the decided submission is still APPROVED'
);

select tests.clear_actor();
select is(
    (select count(*)::int from public.points_ledger where submission_id = :'decided'),
    1,
    'approval: still exactly one ledger row after the status was written again'
);


-- The reviewer cannot change content or the stamps.
select tests.act_as(:'reviewer');

select throws_ok(
    format($$update public.submissions set title = 'Retitled' where id = %L$$, :'untouched'),
    '42501', null,
    'reviewer: changing another member''s title is refused with 42501'
);
select throws_ok(
    format(
        $$update public.submissions set payload = '{"hours": 99}' where id = %L$$,
        :'untouched'
    ),
    '42501', null,
    'reviewer: changing another member''s payload is refused with 42501'
);
select throws_ok(
    format(
        $$update public.submissions set visibility = 'PUBLIC' where id = %L$$,
        :'untouched'
    ),
    '42501', null,
    'reviewer: changing another member''s visibility is refused with 42501'
);
select throws_ok(
    format(
        $$update public.submissions set status = 'APPROVED', title = 'Retitled' where id = %L$$,
        :'untouched'
    ),
    '42501', null,
    'reviewer: approving while changing the title is refused with 42501 as a whole'
);
select throws_ok(
    format(
        'update public.submissions set reviewer_id = %L where id = %L',
        :'owner', :'untouched'
    ),
    '42501', null,
    'reviewer: setting reviewer_id directly is refused with 42501 (no column grant)'
);
select throws_ok(
    format(
        $$update public.submissions set reviewed_at = now() - interval '1 year' where id = %L$$,
        :'untouched'
    ),
    '42501', null,
    'reviewer: setting reviewed_at directly is refused with 42501 (no column grant)'
);


-- The owner cannot decide their own submission.
select tests.act_as(:'owner');

select throws_ok(
    format($$update public.submissions set status = 'APPROVED' where id = %L$$, :'untouched'),
    '42501', null,
    'owner: approving own PENDING submission is refused with 42501'
);
select throws_ok(
    format($$update public.submissions set status = 'REJECTED' where id = %L$$, :'untouched'),
    '42501', null,
    'owner: rejecting own PENDING submission is refused with 42501'
);
select throws_ok(
    format(
        $$update public.submissions set review_note = 'Looks great' where id = %L$$,
        :'untouched'
    ),
    '42501', null,
    'owner: writing the review note of own submission is refused with 42501'
);
select throws_ok(
    format(
        $$update public.submissions set status = 'REJECTED' where id = %L$$,
        :'decided'
    ),
    '42501', null,
    'owner: changing the status of own APPROVED submission is refused with 42501'
);


-- Afterwards, read as the table owner.
select tests.clear_actor();

select results_eq(
    format(
        'select title, payload, visibility, status, reviewer_id, reviewed_at'
        ' from public.submissions where id = %L',
        :'untouched'
    ),
    $$values ('Workshop notes', '{"hours": 2}'::jsonb, 'PRIVATE'::public.visibility,
        'PENDING'::public.submission_status, null::uuid, null::timestamptz)$$,
    'afterwards: the untouched submission kept its content, status and empty stamps'
);
select is(
    (select count(*)::int from public.points_ledger where submission_id = :'untouched'),
    0,
    'afterwards: no points were credited for the untouched submission'
);
select results_eq(
    format(
        'select title, status, review_note from public.submissions where id = %L',
        :'decided'
    ),
    $$values ('Classroom trial', 'APPROVED'::public.submission_status, 'Well documented')$$,
    'afterwards: the decided submission is APPROVED with the reviewer''s note, title intact'
);
select is(
    (select sum(delta)::int from public.points_ledger where user_id = :'owner'),
    :explore_points,
    'afterwards: the owner''s total is the one approval''s points'
);
select is(
    (select total_points from private.leaderboard_entries where user_id = :'owner'),
    :explore_points,
    'afterwards: the owner''s leaderboard entry shows the credited points'
);

select * from finish();
rollback;
