-- A participant tries to raise their own privileges: set their role to SUPERADMIN, change
-- their own status, or credit points and badges to themselves. Every attempt is refused with
-- a SQLSTATE and nothing changes.

begin;
set local search_path = public, extensions;
select plan(16);

select
    tests.create_member('t_participant') as participant,
    tests.create_member('t_other') as other
\gset
select tests.add_points(:'participant', 10) as points \gset
select tests.create_badge('t_hand') as badge \gset
-- The fixture points may earn a threshold badge of the catalogue; that one is legitimate.
select count(*) as badges_before from public.earned_badges where user_id = :'participant' \gset

prepare set_own_role as
    update public.users set role = 'SUPERADMIN' where id = auth.uid();
prepare set_own_status as
    update public.users set status = 'SUSPENDED' where id = auth.uid();
prepare undelete_self as
    update public.users set deleted_at = null where id = auth.uid();
prepare credit_self as
    insert into public.points_ledger (user_id, delta, reason)
    values (auth.uid(), 1000, 'self credit');
prepare badge_self as
    insert into public.earned_badges (user_id, badge_id) values (auth.uid(), 't_hand');


-- Participant at aal1, and again at aal2 (an MFA-enrolled participant holds such tokens).
select tests.act_as(:'participant');

select throws_ok(
    'set_own_role', '42501', null,
    'participant: update of own role to SUPERADMIN is refused with 42501'
);
select throws_ok(
    format('select public.set_user_role(%L, %L)', :'participant', 'SUPERADMIN'),
    '42501', null,
    'participant: set_user_role on self to SUPERADMIN is refused with 42501'
);
select throws_ok(
    'set_own_status', '42501', null,
    'participant: update of own status is refused with 42501'
);
select throws_ok(
    format('select public.set_user_status(%L, %L)', :'participant', 'SUSPENDED'),
    '42501', null,
    'participant: set_user_status on self is refused with 42501'
);
select throws_ok(
    'undelete_self', '42501', null,
    'participant: update of own deleted_at is refused with 42501'
);
select throws_ok(
    'credit_self', '42501', null,
    'participant: inserting points for self is refused with 42501'
);
select throws_ok(
    'badge_self', '42501', null,
    'participant: inserting a badge for self is refused with 42501'
);

select tests.act_as(:'participant', 'aal2');

select throws_ok(
    format('select public.set_user_role(%L, %L)', :'participant', 'SUPERADMIN'),
    '42501', null,
    'participant aal2: set_user_role on self to SUPERADMIN is refused with 42501'
);
select throws_ok(
    'credit_self', '42501', null,
    'participant aal2: inserting points for self is refused with 42501'
);


-- A role claim in the token is for the client's interface only; policies never read it.
select tests.act_as(
    :'participant', 'aal2', '{"app_metadata": {"leaps_role": "SUPERADMIN"}}'
);

select is(
    (select count(*)::int from public.users where id = :'other'),
    0,
    'participant claiming leaps_role SUPERADMIN in the token: reads no other profile'
);
select throws_ok(
    'badge_self', '42501', null,
    'participant claiming leaps_role SUPERADMIN in the token: badge for self is refused'
);


-- Nothing changed, read as the table owner.
select tests.clear_actor();

select is(
    (select role from public.users where id = :'participant'),
    'PARTICIPANT'::public.app_role,
    'afterwards: the participant''s role is still PARTICIPANT'
);
select is(
    (select status from public.users where id = :'participant'),
    'ACTIVE'::public.account_status,
    'afterwards: the participant''s status is still ACTIVE'
);
select results_eq(
    format(
        'select count(*)::int, sum(delta)::int from public.points_ledger where user_id = %L',
        :'participant'
    ),
    $$values (1, 10)$$,
    'afterwards: the participant''s ledger holds only the fixture row of 10 points'
);
select is(
    (select count(*)::int from public.earned_badges where user_id = :'participant'),
    :badges_before,
    'afterwards: the participant holds no badge beyond those the fixture points earned'
);
select is(
    (select count(*)::int from private.role_changes where user_id = :'participant'),
    0,
    'afterwards: no role change was recorded for the participant'
);

select * from finish();
rollback;
