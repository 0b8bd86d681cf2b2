-- Access matrix of public.earned_badges.
--
-- Threshold badges are awarded by a trigger. Through the API, members read their own
-- badges; admins at aal2 read all, and give or take back badges of other members, never
-- their own. Nobody updates a row through the API.

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
    tests.create_badge('t_hand') as hand_badge,
    tests.create_badge('t_extra') as extra_badge
\gset

select
    tests.give_badge(:'participant', 't_hand'),
    tests.give_badge(:'other', 't_hand'),
    tests.give_badge(:'admin', 't_hand')
\gset

create temporary table fixture_members (id uuid primary key) on commit drop;
insert into fixture_members values (:'participant'), (:'other'), (:'admin');
grant select on fixture_members to authenticated, service_role;

prepare read_fixture_badges as
    select count(*)::int
    from public.earned_badges
    where user_id in (select id from fixture_members);
prepare give_self as
    insert into public.earned_badges (user_id, badge_id) values (auth.uid(), 't_extra');
prepare give_other as
    insert into public.earned_badges (user_id, badge_id) values (:'other', 't_extra');
prepare backdate_own as
    update public.earned_badges set awarded_at = '2000-01-01' where user_id = auth.uid();


-- anon: no grant at all.
select tests.act_as_anon();

select throws_ok(
    'read_fixture_badges', '42501', null,
    'anon: select on earned_badges is refused with 42501'
);
select throws_ok(
    'give_other', '42501', null,
    'anon: insert into earned_badges is refused with 42501'
);
select throws_ok(
    'backdate_own', '42501', null,
    'anon: update of earned_badges is refused with 42501'
);
select throws_ok(
    $$delete from public.earned_badges$$, '42501', null,
    'anon: delete from earned_badges is refused with 42501'
);


-- Participant on their own rows: read only.
select tests.act_as(:'participant');

select is(
    (select count(*)::int from public.earned_badges where user_id = :'participant'),
    1,
    'participant: reads own badges'
);
select throws_ok(
    'give_self', '42501', null,
    'participant: giving a badge to self is refused with 42501'
);
select throws_ok(
    'backdate_own', '42501', null,
    'participant: update of own badge row is refused with 42501'
);
with removed as (
    delete from public.earned_badges where user_id = :'participant' returning 1
)
select is(
    (select count(*)::int from removed), 0,
    'participant: delete of own badge affects 0 rows'
);


-- Participant on someone else's rows.
select is(
    (select count(*)::int from public.earned_badges where user_id = :'other'),
    0,
    'participant: reads no other member''s badges'
);
select throws_ok(
    'give_other', '42501', null,
    'participant: giving a badge to another member is refused with 42501'
);
with removed as (
    delete from public.earned_badges where user_id = :'other' returning 1
)
select is(
    (select count(*)::int from removed), 0,
    'participant: delete of another member''s badge affects 0 rows'
);


-- Reviewer: no badge rights.
select tests.act_as(:'reviewer');

select is(
    (select count(*)::int from public.earned_badges where user_id = :'other'),
    0,
    'reviewer: reads no other member''s badges'
);
select throws_ok(
    'give_other', '42501', null,
    'reviewer: giving a badge to another member is refused with 42501'
);


-- Admin at aal1: nothing, not even own rows.
select tests.act_as(:'admin', 'aal1');

select is(
    (select count(*)::int
    from public.earned_badges
    where user_id in (select id from fixture_members)),
    0,
    'admin aal1: reads no badge row, not even their own'
);
select throws_ok(
    'give_other', '42501', null,
    'admin aal1: giving a badge to another member is refused with 42501'
);
with removed as (
    delete from public.earned_badges where user_id = :'other' returning 1
)
select is(
    (select count(*)::int from removed), 0,
    'admin aal1: taking back another member''s badge affects 0 rows'
);

select tests.clear_actor();
select is(
    (select count(*)::int
    from public.earned_badges
    where user_id in (select id from fixture_members)),
    3,
    'members and admin aal1: every fixture badge is still held, none added'
);


-- Admin at aal2: reads all, gives and takes back other members' badges only.
select tests.act_as(:'admin', 'aal2');

select is(
    (select count(*)::int
    from public.earned_badges
    where user_id in (select id from fixture_members)),
    3,
    'admin aal2: reads every member''s badges'
);
with created as (
    insert into public.earned_badges (user_id, badge_id)
    values (:'other', 't_extra')
    returning awarded_by
)
select is(
    (select awarded_by from created),
    :'admin'::uuid,
    'admin aal2: gives a badge to another member, stamped as awarded by the admin'
);
select throws_ok(
    'give_self', '42501', null,
    'admin aal2: giving a badge to self is refused with 42501'
);
with removed as (
    delete from public.earned_badges
    where user_id = :'participant' and badge_id = 't_hand'
    returning 1
)
select is(
    (select count(*)::int from removed), 1,
    'admin aal2: takes back another member''s badge (1 row)'
);
with removed as (
    delete from public.earned_badges where user_id = :'admin' returning 1
)
select is(
    (select count(*)::int from removed), 0,
    'admin aal2: taking back own badge affects 0 rows'
);
select throws_ok(
    'backdate_own', '42501', null,
    'admin aal2: update of a badge row is refused with 42501'
);


-- Superadmin at aal2: the same rights as an admin.
select tests.act_as(:'superadmin', 'aal2');

select is(
    (select count(*)::int from public.earned_badges where user_id = :'admin'),
    1,
    'superadmin aal2: reads an admin''s badges'
);
with created as (
    insert into public.earned_badges (user_id, badge_id)
    values (:'admin', 't_extra')
    returning awarded_by
)
select is(
    (select awarded_by from created),
    :'superadmin'::uuid,
    'superadmin aal2: gives a badge to an admin, stamped as awarded by the superadmin'
);
select throws_ok(
    'give_self', '42501', null,
    'superadmin aal2: giving a badge to self is refused with 42501'
);


-- Service role: every grant, no RLS.
select tests.act_as_service();

select is(
    (select count(*)::int
    from public.earned_badges
    where user_id in (select id from fixture_members)),
    4,
    'service_role: reads every badge row'
);
with created as (
    insert into public.earned_badges (user_id, badge_id)
    values (:'participant', 't_extra')
    returning 1
)
select is(
    (select count(*)::int from created), 1,
    'service_role: gives a badge (1 row)'
);
with changed as (
    update public.earned_badges set awarded_at = '2026-01-01'
    where user_id = :'participant' and badge_id = 't_extra'
    returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'service_role: updates a badge row (1 row)'
);
with removed as (
    delete from public.earned_badges
    where user_id = :'admin' and badge_id = 't_extra'
    returning 1
)
select is(
    (select count(*)::int from removed), 1,
    'service_role: deletes a badge row (1 row)'
);


-- Final state, read as the table owner.
select tests.clear_actor();

select set_eq(
    format(
        'select badge_id, awarded_by from public.earned_badges where user_id = %L',
        :'participant'
    ),
    $$values ('t_extra', null::uuid)$$,
    'final: the participant holds only the server''s badge (admin took t_hand back)'
);
select set_eq(
    format(
        'select badge_id, awarded_by from public.earned_badges where user_id = %L',
        :'other'
    ),
    format($$values ('t_hand', null::uuid), ('t_extra', %L::uuid)$$, :'admin'),
    'final: the other member holds the fixture badge and the admin''s gift'
);
select set_eq(
    format(
        'select badge_id from public.earned_badges where user_id = %L',
        :'admin'
    ),
    $$values ('t_hand')$$,
    'final: the admin kept own badge and holds no self-given one'
);

select * from finish();
rollback;
