-- Access matrix of public.points_ledger, the append-only points ledger.
--
-- Members read their own rows; admins at aal2 read all rows and add manual adjustments for
-- other members, never for themselves. Nobody updates a row; only the service role deletes
-- (for erasure).

begin;
set local search_path = public, extensions;
select plan(33);

select
    tests.create_member('t_participant') as participant,
    tests.create_member('t_other') as other,
    tests.create_member('t_reviewer', 'REVIEWER') as reviewer,
    tests.create_member('t_admin', 'ADMIN', mfa_verified => true) as admin,
    tests.create_member('t_superadmin', 'SUPERADMIN', mfa_verified => true) as superadmin
\gset

select
    tests.add_points(:'participant', 10) as own_points,
    tests.add_points(:'other', 20) as other_points,
    tests.add_points(:'admin', 30) as admin_points
\gset

prepare read_fixture_points as
    select count(*)::int
    from public.points_ledger
    where id in (:'own_points', :'other_points', :'admin_points');
-- Each caller credits themselves: auth.uid() is the acting member.
prepare credit_self as
    insert into public.points_ledger (user_id, delta, reason)
    values (auth.uid(), 500, 'credited to self');
prepare credit_other as
    insert into public.points_ledger (user_id, delta, reason)
    values (:'other', 5, 'credited to another member');
prepare credit_other_for_submission as
    insert into public.points_ledger (user_id, delta, reason, submission_id)
    values (:'other', 5, 'claims a submission', gen_random_uuid());
prepare inflate_own_row as
    update public.points_ledger set delta = 1000 where id = :'own_points';
prepare delete_own_row as
    delete from public.points_ledger where id = :'own_points';
prepare delete_other_row as
    delete from public.points_ledger where id = :'other_points';


-- anon: no grant at all.
select tests.act_as_anon();

select throws_ok(
    'read_fixture_points', '42501', null,
    'anon: select on points_ledger is refused with 42501'
);
select throws_ok(
    'credit_other', '42501', null,
    'anon: insert into points_ledger is refused with 42501'
);
select throws_ok(
    'inflate_own_row', '42501', null,
    'anon: update of points_ledger is refused with 42501'
);
select throws_ok(
    'delete_own_row', '42501', null,
    'anon: delete from points_ledger is refused with 42501'
);


-- Participant on their own rows: read only.
select tests.act_as(:'participant');

select is(
    (select count(*)::int from public.points_ledger where user_id = :'participant'),
    1,
    'participant: reads own ledger rows'
);
select throws_ok(
    'credit_self', '42501', null,
    'participant: crediting points to self is refused with 42501'
);
select throws_ok(
    'inflate_own_row', '42501', null,
    'participant: update of own ledger row is refused with 42501 (append-only)'
);
select throws_ok(
    'delete_own_row', '42501', null,
    'participant: delete of own ledger row is refused with 42501'
);


-- Participant on someone else's rows.
select is(
    (select count(*)::int from public.points_ledger where id = :'other_points'),
    0,
    'participant: reads no other member''s ledger rows'
);
select throws_ok(
    'credit_other', '42501', null,
    'participant: crediting points to another member is refused with 42501'
);


-- Reviewer: reviewing does not include reading or writing points.
select tests.act_as(:'reviewer');

select is(
    (select count(*)::int from public.points_ledger where id = :'other_points'),
    0,
    'reviewer: reads no other member''s ledger rows'
);
select throws_ok(
    'credit_other', '42501', null,
    'reviewer: crediting points to another member is refused with 42501'
);


-- Admin at aal1: nothing, not even own rows.
select tests.act_as(:'admin', 'aal1');

select is(
    (select count(*)::int from public.points_ledger where user_id = :'admin'),
    0,
    'admin aal1: reads no ledger row, not even their own'
);
select throws_ok(
    'credit_other', '42501', null,
    'admin aal1: crediting points to another member is refused with 42501'
);


-- Admin at aal2: reads all, adjusts other members' points only.
select tests.act_as(:'admin', 'aal2');

select is(
    (select count(*)::int
    from public.points_ledger
    where id in (:'own_points', :'other_points', :'admin_points')),
    3,
    'admin aal2: reads every member''s ledger rows'
);
with created as (
    insert into public.points_ledger (user_id, delta, reason)
    values (:'other', 15, 'mentoring bonus')
    returning awarded_by
)
select is(
    (select awarded_by from created),
    :'admin'::uuid,
    'admin aal2: adjusts another member''s points, stamped as awarded by the admin'
);
select throws_ok(
    'credit_self', '42501', null,
    'admin aal2: crediting points to self is refused with 42501'
);
select throws_ok(
    'credit_other_for_submission', '42501', null,
    'admin aal2: a manual adjustment naming a submission is refused with 42501'
);
select throws_ok(
    'inflate_own_row', '42501', null,
    'admin aal2: update of a ledger row is refused with 42501 (append-only)'
);
select throws_ok(
    'delete_other_row', '42501', null,
    'admin aal2: delete of a ledger row is refused with 42501'
);


-- Superadmin at aal2: the same rights as an admin.
select tests.act_as(:'superadmin', 'aal2');

select is(
    (select count(*)::int
    from public.points_ledger
    where id in (:'own_points', :'other_points', :'admin_points')),
    3,
    'superadmin aal2: reads every member''s ledger rows'
);
with created as (
    insert into public.points_ledger (user_id, delta, reason)
    values (:'admin', -5, 'correction')
    returning awarded_by
)
select is(
    (select awarded_by from created),
    :'superadmin'::uuid,
    'superadmin aal2: adjusts an admin''s points, stamped as awarded by the superadmin'
);
select throws_ok(
    'credit_self', '42501', null,
    'superadmin aal2: crediting points to self is refused with 42501'
);
select throws_ok(
    'delete_other_row', '42501', null,
    'superadmin aal2: delete of a ledger row is refused with 42501'
);


-- Service role: reads, appends and erases; never updates.
select tests.act_as_service();

select is(
    (select count(*)::int
    from public.points_ledger
    where id in (:'own_points', :'other_points', :'admin_points')),
    3,
    'service_role: reads every ledger row'
);
with created as (
    insert into public.points_ledger (user_id, delta, reason)
    values (:'participant', 1, 'server credit')
    returning 1
)
select is(
    (select count(*)::int from created), 1,
    'service_role: appends a ledger row (1 row)'
);
select throws_ok(
    'inflate_own_row', '42501', null,
    'service_role: update of a ledger row is refused with 42501 (append-only)'
);
with removed as (
    delete from public.points_ledger where id = :'admin_points' returning 1
)
select is(
    (select count(*)::int from removed), 1,
    'service_role: deletes a ledger row for erasure (1 row)'
);


-- Final state, read as the table owner.
select tests.clear_actor();

select is(
    (select delta from public.points_ledger where id = :'own_points'),
    10,
    'final: the participant''s fixture row is unchanged'
);
select is(
    (select coalesce(sum(delta), 0)::int from public.points_ledger where user_id = :'participant'),
    11,
    'final: the participant holds only the fixture points and the server credit'
);
select is(
    (select coalesce(sum(delta), 0)::int from public.points_ledger where user_id = :'other'),
    35,
    'final: the other member holds the fixture points and the admin''s adjustment only'
);
select is(
    (select count(*)::int from public.points_ledger where reason = 'credited to self'),
    0,
    'final: no self-credit reached the ledger'
);
select is(
    (select count(*)::int from public.points_ledger where id = :'admin_points'),
    0,
    'final: the service role''s delete was kept'
);

select * from finish();
rollback;
