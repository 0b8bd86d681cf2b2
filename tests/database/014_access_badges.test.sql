-- Access matrix of public.badges, the badge catalogue.
--
-- Every active member reads the catalogue (admins at aal2); only a SUPERADMIN at aal2
-- (system:configure) adds, edits or removes badges. The catalogue has no owner, so there is
-- no own/other distinction here.

begin;
set local search_path = public, extensions;
select plan(33);

select
    tests.create_member('t_participant') as participant,
    tests.create_member('t_reviewer', 'REVIEWER') as reviewer,
    tests.create_member('t_admin', 'ADMIN', mfa_verified => true) as admin,
    tests.create_member('t_superadmin', 'SUPERADMIN', mfa_verified => true) as superadmin
\gset

select
    tests.create_badge('t_badge', 5000) as badge,
    tests.create_badge('t_spare') as spare_badge
\gset

prepare read_fixture_badges as
    select count(*)::int from public.badges where id in ('t_badge', 't_spare');
prepare add_badge as
    insert into public.badges (id, name) values ('t_planted', 'Planted badge');


-- anon: no grant at all.
select tests.act_as_anon();

select throws_ok(
    'read_fixture_badges', '42501', null,
    'anon: select on badges is refused with 42501'
);
select throws_ok(
    'add_badge', '42501', null,
    'anon: insert into badges is refused with 42501'
);
select throws_ok(
    $$update public.badges set points_threshold = 1$$, '42501', null,
    'anon: update of badges is refused with 42501'
);
select throws_ok(
    $$delete from public.badges$$, '42501', null,
    'anon: delete from badges is refused with 42501'
);


-- Participant: reads the catalogue, changes nothing.
select tests.act_as(:'participant');

select is(
    (select count(*)::int from public.badges where id in ('t_badge', 't_spare')),
    2,
    'participant: reads the badge catalogue'
);
select throws_ok(
    'add_badge', '42501', null,
    'participant: insert of a badge is refused with 42501'
);
with changed as (
    update public.badges set points_threshold = 1 where id = 't_badge' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'participant: lowering a badge threshold affects 0 rows'
);
with removed as (
    delete from public.badges where id = 't_spare' returning 1
)
select is(
    (select count(*)::int from removed), 0,
    'participant: delete of a badge affects 0 rows'
);


-- Reviewer: reads the catalogue, changes nothing.
select tests.act_as(:'reviewer');

select is(
    (select count(*)::int from public.badges where id in ('t_badge', 't_spare')),
    2,
    'reviewer: reads the badge catalogue'
);
select throws_ok(
    'add_badge', '42501', null,
    'reviewer: insert of a badge is refused with 42501'
);
with changed as (
    update public.badges set points_threshold = 1 where id = 't_badge' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'reviewer: lowering a badge threshold affects 0 rows'
);


-- Admin at aal1: nothing.
select tests.act_as(:'admin', 'aal1');

select is(
    (select count(*)::int from public.badges where id in ('t_badge', 't_spare')),
    0,
    'admin aal1: reads no badge'
);
select throws_ok(
    'add_badge', '42501', null,
    'admin aal1: insert of a badge is refused with 42501'
);


-- Admin at aal2: reads; changing the catalogue is system:configure, a SUPERADMIN right.
select tests.act_as(:'admin', 'aal2');

select is(
    (select count(*)::int from public.badges where id in ('t_badge', 't_spare')),
    2,
    'admin aal2: reads the badge catalogue'
);
select throws_ok(
    'add_badge', '42501', null,
    'admin aal2: insert of a badge is refused with 42501'
);
with changed as (
    update public.badges set points_threshold = 1 where id = 't_badge' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'admin aal2: lowering a badge threshold affects 0 rows'
);
with removed as (
    delete from public.badges where id = 't_spare' returning 1
)
select is(
    (select count(*)::int from removed), 0,
    'admin aal2: delete of a badge affects 0 rows'
);

select tests.clear_actor();
select is(
    (select points_threshold from public.badges where id = 't_badge'),
    5000,
    'members and admins: the badge threshold is unchanged'
);
select is(
    (select count(*)::int from public.badges where id in ('t_badge', 't_spare', 't_planted')),
    2,
    'members and admins: no badge was added or removed'
);


-- Superadmin at aal1: refused like any privileged session without MFA.
select tests.act_as(:'superadmin', 'aal1');

select throws_ok(
    'add_badge', '42501', null,
    'superadmin aal1: insert of a badge is refused with 42501'
);
with changed as (
    update public.badges set points_threshold = 1 where id = 't_badge' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'superadmin aal1: lowering a badge threshold affects 0 rows'
);


-- Superadmin at aal2: manages the catalogue.
select tests.act_as(:'superadmin', 'aal2');

select is(
    (select count(*)::int from public.badges where id in ('t_badge', 't_spare')),
    2,
    'superadmin aal2: reads the badge catalogue'
);
with created as (
    insert into public.badges (id, name) values ('t_new', 'New badge') returning 1
)
select is(
    (select count(*)::int from created), 1,
    'superadmin aal2: adds a badge (1 row)'
);
with changed as (
    update public.badges set points_threshold = 4000 where id = 't_badge' returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'superadmin aal2: edits a badge threshold (1 row)'
);
with removed as (
    delete from public.badges where id = 't_spare' returning 1
)
select is(
    (select count(*)::int from removed), 1,
    'superadmin aal2: removes a badge (1 row)'
);


-- Service role: every grant, no RLS.
select tests.act_as_service();

select is(
    (select count(*)::int from public.badges where id in ('t_badge', 't_new')),
    2,
    'service_role: reads the badge catalogue'
);
with created as (
    insert into public.badges (id, name) values ('t_server', 'Server badge') returning 1
)
select is(
    (select count(*)::int from created), 1,
    'service_role: adds a badge (1 row)'
);
with changed as (
    update public.badges set description = 'Edited by the server' where id = 't_new'
    returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'service_role: edits a badge (1 row)'
);
with removed as (
    delete from public.badges where id = 't_server' returning 1
)
select is(
    (select count(*)::int from removed), 1,
    'service_role: removes a badge (1 row)'
);


-- Final state, read as the table owner.
select tests.clear_actor();

select is(
    (select points_threshold from public.badges where id = 't_badge'),
    4000,
    'final: only the superadmin''s threshold change was kept'
);
select is(
    (select count(*)::int from public.badges where id = 't_spare'),
    0,
    'final: the superadmin''s removal was kept'
);
select is(
    (select description from public.badges where id = 't_new'),
    'Edited by the server',
    'final: the service role''s edit was kept'
);
select is(
    (select count(*)::int from public.badges where id in ('t_planted', 't_server')),
    0,
    'final: no badge planted by a member exists, and the server''s removal was kept'
);

select * from finish();
rollback;
