-- Admin at aal1 is denied exactly where the same admin at aal2 is allowed: the restrictive
-- policy "active sessions only, privileged ones at aal2" and the aal2 checks of the account
-- functions. Each aal1 refusal below is paired with the same action succeeding at aal2.

begin;
set local search_path = public, extensions;
select plan(30);

select
    tests.create_member('t_admin', 'ADMIN', mfa_verified => true) as admin,
    tests.create_member('t_superadmin', 'SUPERADMIN', mfa_verified => true) as superadmin,
    tests.create_member('t_participant') as participant,
    tests.create_member('t_target') as target
\gset

select tests.create_submission(:'participant', 'Participant pending') as pending \gset
select tests.add_points(:'participant', 10) as points \gset
select tests.create_badge('t_hand') as badge \gset

prepare adjust_points as
    insert into public.points_ledger (user_id, delta, reason)
    values (:'participant', 25, 'workshop host')
    returning awarded_by;
prepare give_badge as
    insert into public.earned_badges (user_id, badge_id)
    values (:'participant', 't_hand')
    returning awarded_by;
prepare add_catalogue_badge as
    insert into public.badges (id, name) values ('t_new', 'New badge') returning id;


-- Admin at aal1: refused.
select tests.act_as(:'admin', 'aal1');

select is(
    (select count(*)::int from public.users where id = :'admin'),
    0,
    'admin aal1: reads not even own profile'
);
select is(
    (select count(*)::int from public.users where id = :'participant'),
    0,
    'admin aal1: reads no member profile'
);
with changed as (
    update public.users set school = 'Edited at aal1' where id = :'participant' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'admin aal1: editing a member profile affects 0 rows'
);
select is(
    (select count(*)::int from public.points_ledger where user_id = :'participant'),
    0,
    'admin aal1: reads no member''s points'
);
select throws_ok(
    'adjust_points', '42501', null,
    'admin aal1: adjusting a member''s points is refused with 42501'
);
select throws_ok(
    'give_badge', '42501', null,
    'admin aal1: giving a member a badge is refused with 42501'
);
with changed as (
    update public.submissions set status = 'REJECTED' where id = :'pending' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'admin aal1: deciding a submission affects 0 rows'
);
select throws_ok(
    format('select public.set_user_status(%L, %L)', :'target', 'SUSPENDED'),
    '42501', null,
    'admin aal1: set_user_status is refused with 42501'
);
select throws_ok(
    format('select public.set_user_role(%L, %L)', :'target', 'REVIEWER'),
    '42501', null,
    'admin aal1: set_user_role is refused with 42501'
);

select tests.act_as(:'superadmin', 'aal1');
select throws_ok(
    'add_catalogue_badge', '42501', null,
    'superadmin aal1: adding a catalogue badge is refused with 42501'
);


-- Nothing changed, read as the table owner.
select tests.clear_actor();

select results_eq(
    format('select school, role, status from public.users where id = %L', :'participant'),
    $$values ('School of t_participant', 'PARTICIPANT'::public.app_role,
        'ACTIVE'::public.account_status)$$,
    'after aal1: the member profile is unchanged'
);
select results_eq(
    format('select role, status from public.users where id = %L', :'target'),
    $$values ('PARTICIPANT'::public.app_role, 'ACTIVE'::public.account_status)$$,
    'after aal1: the target''s role and status are unchanged'
);
select is(
    (select sum(delta)::int from public.points_ledger where user_id = :'participant'),
    10,
    'after aal1: the member''s points are unchanged'
);
select is(
    (select count(*)::int from public.earned_badges where badge_id = 't_hand'),
    0,
    'after aal1: nobody holds the hand-given badge'
);
select is(
    (select status from public.submissions where id = :'pending'),
    'PENDING'::public.submission_status,
    'after aal1: the submission is still PENDING'
);
select is(
    (select count(*)::int from public.badges where id = 't_new'),
    0,
    'after aal1: the catalogue badge was not added'
);


-- The same admin at aal2: allowed.
select tests.act_as(:'admin', 'aal2');

select is(
    (select count(*)::int from public.users where id = :'admin'),
    1,
    'admin aal2: reads own profile'
);
select is(
    (select count(*)::int from public.users where id = :'participant'),
    1,
    'admin aal2: reads a member profile'
);
with changed as (
    update public.users set school = 'Edited at aal2' where id = :'participant' returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'admin aal2: edits a member profile (1 row)'
);
select is(
    (select count(*)::int from public.points_ledger where user_id = :'participant'),
    1,
    'admin aal2: reads a member''s points'
);
select results_eq(
    'adjust_points',
    format('values (%L::uuid)', :'admin'),
    'admin aal2: adjusts a member''s points, stamped as awarded by the admin'
);
select results_eq(
    'give_badge',
    format('values (%L::uuid)', :'admin'),
    'admin aal2: gives a member a badge, stamped as awarded by the admin'
);
with changed as (
    update public.submissions set status = 'REJECTED' where id = :'pending' returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'admin aal2: rejects a PENDING submission (1 row)'
);
select is(
    public.set_user_status(:'target', 'SUSPENDED'),
    'SUSPENDED'::public.account_status,
    'admin aal2: set_user_status suspends a participant'
);
select is(
    public.set_user_role(:'target', 'REVIEWER'),
    'REVIEWER'::public.app_role,
    'admin aal2: set_user_role promotes a participant to REVIEWER'
);

select tests.act_as(:'superadmin', 'aal2');
select results_eq(
    'add_catalogue_badge',
    $$values ('t_new')$$,
    'superadmin aal2: adds a catalogue badge'
);


-- The aal2 changes were made, read as the table owner.
select tests.clear_actor();

select is(
    (select school from public.users where id = :'participant'),
    'Edited at aal2',
    'after aal2: the member profile carries the admin''s edit'
);
select results_eq(
    format('select role, status from public.users where id = %L', :'target'),
    $$values ('REVIEWER'::public.app_role, 'SUSPENDED'::public.account_status)$$,
    'after aal2: the target is a suspended REVIEWER'
);
select is(
    (select sum(delta)::int from public.points_ledger where user_id = :'participant'),
    35,
    'after aal2: the member''s points include the adjustment'
);
select is(
    (select status from public.submissions where id = :'pending'),
    'REJECTED'::public.submission_status,
    'after aal2: the submission is REJECTED'
);

select * from finish();
rollback;
