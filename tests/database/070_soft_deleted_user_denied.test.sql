-- A member requests erasure: deleted_at is set while their token is still valid. From the
-- next statement on they are refused everywhere, and they drop off the leaderboard.

begin;
set local search_path = public, extensions;
select plan(20);

select
    tests.create_member('t_leaving', visibility => 'PUBLIC') as leaving,
    tests.create_member('t_viewer') as viewer,
    tests.create_member('t_target') as target,
    tests.create_member('t_leaving_admin', 'ADMIN', mfa_verified => true) as leaving_admin
\gset

select tests.create_submission(:'leaving', 'Pending before erasure') as own_pending \gset
select tests.add_points(:'leaving', 10) as own_points \gset


-- Control: the token works before the soft delete.
select tests.act_as(:'leaving');

select is(
    (select count(*)::int from public.users where id = :'leaving'),
    1,
    'member before erasure (control): reads own profile'
);
select tests.act_as(:'viewer');
select is(
    (select count(*)::int from public.leaderboard_totals where handle = 't_leaving'),
    1,
    'viewer before erasure (control): the PUBLIC member is listed'
);


-- deleted_at is set; the same claims act on the next statement.
select tests.clear_actor();
update public.users set deleted_at = now() where id in (:'leaving', :'leaving_admin');
select tests.act_as(:'leaving');

select is(
    (select count(*)::int from public.users),
    0,
    'soft-deleted member: reads no profile, own included'
);
select is(
    (select count(*)::int from public.submissions),
    0,
    'soft-deleted member: reads no submission, own included'
);
select is(
    (select count(*)::int from public.points_ledger),
    0,
    'soft-deleted member: reads no ledger row, own included'
);
select is(
    (select count(*)::int from public.leaderboard_totals),
    0,
    'soft-deleted member: reads no leaderboard entry'
);
with changed as (
    update public.users set name = 'Still here' where id = :'leaving' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'soft-deleted member: editing own profile affects 0 rows'
);
with changed as (
    update public.submissions set title = 'Edited after erasure'
    where id = :'own_pending'
    returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'soft-deleted member: editing own PENDING submission affects 0 rows'
);
select throws_ok(
    $$insert into public.submissions (activity_code, title) values ('LEARN', 'New')$$,
    '42501', null,
    'soft-deleted member: creating a submission is refused with 42501'
);

select tests.act_as(:'viewer');
select is(
    (select count(*)::int from public.leaderboard_totals where handle = 't_leaving'),
    0,
    'viewer after erasure: the soft-deleted member is no longer listed'
);


-- A soft-deleted admin, even at aal2, manages nobody.
select tests.act_as(:'leaving_admin', 'aal2');

select is(
    (select count(*)::int from public.users where id = :'target'),
    0,
    'soft-deleted admin aal2: reads no other profile'
);
select throws_ok(
    format('select public.set_user_role(%L, %L)', :'target', 'REVIEWER'),
    '42501', null,
    'soft-deleted admin aal2: set_user_role is refused with 42501'
);
select throws_ok(
    format('select public.set_user_status(%L, %L)', :'target', 'SUSPENDED'),
    '42501', null,
    'soft-deleted admin aal2: set_user_status is refused with 42501'
);
select throws_ok(
    format(
        $$insert into public.points_ledger (user_id, delta, reason) values (%L, 5, 'bonus')$$,
        :'target'
    ),
    '42501', null,
    'soft-deleted admin aal2: adjusting another member''s points is refused with 42501'
);


-- Nothing changed, read as the table owner.
select tests.clear_actor();

select results_eq(
    format('select name, deleted_at is not null from public.users where id = %L', :'leaving'),
    $$values ('Name of t_leaving', true)$$,
    'afterwards: the soft-deleted profile is unchanged and still marked deleted'
);
select is(
    (select title from public.submissions where id = :'own_pending'),
    'Pending before erasure',
    'afterwards: the soft-deleted member''s submission is unchanged'
);
select results_eq(
    format('select role, status from public.users where id = %L', :'target'),
    $$values ('PARTICIPANT'::public.app_role, 'ACTIVE'::public.account_status)$$,
    'afterwards: the soft-deleted admin changed neither role nor status of the target'
);
select is(
    (select count(*)::int from public.points_ledger where user_id = :'target'),
    0,
    'afterwards: the soft-deleted admin credited no points'
);


-- The same member with an aal2 token (members may enrol MFA): private.session_allowed()
-- returns true for a caller without an active profile when aal = 'aal2'.
select tests.act_as(:'leaving', 'aal2');

select is(
    (select count(*)::int from public.users),
    0,
    'soft-deleted member aal2: reads no profile, own included'
);
with changed as (
    update public.submissions set title = 'Edited after erasure'
    where id = :'own_pending'
    returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'soft-deleted member aal2: editing own PENDING submission affects 0 rows'
);

select * from finish();
rollback;
