-- Access matrix of public.users: who may read and write which profiles.
--
-- Members read and edit the editable fields of their own profile; reviewers and above read
-- every profile; administrators at aal2 edit any profile. Nobody inserts, deletes or writes
-- role or status through the API; the service role may do everything.

begin;
set local search_path = public, extensions;
select plan(38);

select
    tests.create_member('t_participant') as participant,
    tests.create_member('t_other') as other,
    tests.create_member('t_reviewer', 'REVIEWER') as reviewer,
    tests.create_member('t_admin', 'ADMIN', mfa_verified => true) as admin,
    tests.create_member('t_superadmin', 'SUPERADMIN', mfa_verified => true) as superadmin
\gset

create temporary table fixture_ids (id uuid primary key) on commit drop;
insert into fixture_ids
values (:'participant'), (:'other'), (:'reviewer'), (:'admin'), (:'superadmin');
grant select on fixture_ids to authenticated, service_role;

prepare read_all_fixture_profiles as
    select count(*)::int from public.users where id in (select id from fixture_ids);
prepare insert_profile as
    insert into public.users (id, handle) values (gen_random_uuid(), 't_intruder');
prepare delete_participant as
    delete from public.users where id = :'participant';
prepare update_participant_role as
    update public.users set role = 'SUPERADMIN' where id = :'participant';


-- anon: no grant at all.
select tests.act_as_anon();

select throws_ok(
    'read_all_fixture_profiles', '42501', null,
    'anon: select on users is refused with 42501'
);
select throws_ok(
    'insert_profile', '42501', null,
    'anon: insert into users is refused with 42501'
);
select throws_ok(
    $$update public.users set name = 'anon was here'$$, '42501', null,
    'anon: update of users is refused with 42501'
);
select throws_ok(
    'delete_participant', '42501', null,
    'anon: delete from users is refused with 42501'
);


-- Participant on their own row.
select tests.act_as(:'participant');

select is(
    (select count(*)::int from public.users where id = :'participant'),
    1,
    'participant: reads own profile'
);
with changed as (
    update public.users set name = 'Renamed by self' where id = :'participant' returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'participant: updates the name on own profile (1 row)'
);
select throws_ok(
    'update_participant_role', '42501', null,
    'participant: update of own role is refused with 42501 (no column grant)'
);
select throws_ok(
    'insert_profile', '42501', null,
    'participant: insert into users is refused with 42501'
);
select throws_ok(
    'delete_participant', '42501', null,
    'participant: delete of own profile is refused with 42501'
);


-- Participant on someone else's row.
select is(
    (select count(*)::int from public.users where id = :'other'),
    0,
    'participant: reads no other member''s profile'
);
with changed as (
    update public.users set name = 'Renamed by participant' where id = :'other' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'participant: update of another member''s name affects 0 rows'
);

select tests.clear_actor();
select is(
    (select name from public.users where id = :'other'),
    'Name of t_other',
    'participant: another member''s name is unchanged'
);


-- Reviewer: reads every profile, edits none but their own.
select tests.act_as(:'reviewer');

select is(
    (select count(*)::int from public.users where id in (select id from fixture_ids)),
    5,
    'reviewer: reads every member''s profile'
);
with changed as (
    update public.users set name = 'Renamed by reviewer' where id = :'other' returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'reviewer: update of another member''s name affects 0 rows'
);
select throws_ok(
    'delete_participant', '42501', null,
    'reviewer: delete from users is refused with 42501'
);

select tests.clear_actor();
select is(
    (select name from public.users where id = :'other'),
    'Name of t_other',
    'reviewer: another member''s name is unchanged'
);


-- Admin at aal1: the restrictive policy refuses every row, own profile included.
select tests.act_as(:'admin', 'aal1');

select is(
    (select count(*)::int from public.users where id in (select id from fixture_ids)),
    0,
    'admin aal1: reads no profile, not even their own'
);
with changed as (
    update public.users set name = 'Renamed by admin aal1' where id = :'participant'
    returning 1
)
select is(
    (select count(*)::int from changed), 0,
    'admin aal1: update of a member''s name affects 0 rows'
);

select tests.clear_actor();
select is(
    (select name from public.users where id = :'participant'),
    'Renamed by self',
    'admin aal1: the member''s name is unchanged'
);


-- Admin at aal2: reads and edits profiles, never role, status, rows themselves.
select tests.act_as(:'admin', 'aal2');

select is(
    (select count(*)::int from public.users where id in (select id from fixture_ids)),
    5,
    'admin aal2: reads every member''s profile'
);
with changed as (
    update public.users set school = 'Edited by admin' where id = :'participant' returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'admin aal2: updates another member''s school (1 row)'
);
select throws_ok(
    'update_participant_role', '42501', null,
    'admin aal2: update of a member''s role column is refused with 42501'
);
select throws_ok(
    $$update public.users set status = 'SUSPENDED' where handle = 't_participant'$$,
    '42501', null,
    'admin aal2: update of a member''s status column is refused with 42501'
);
select throws_ok(
    'insert_profile', '42501', null,
    'admin aal2: insert into users is refused with 42501'
);
select throws_ok(
    'delete_participant', '42501', null,
    'admin aal2: delete from users is refused with 42501'
);


-- Superadmin at aal2: the same table rights as an admin.
select tests.act_as(:'superadmin', 'aal2');

select is(
    (select count(*)::int from public.users where id in (select id from fixture_ids)),
    5,
    'superadmin aal2: reads every member''s profile'
);
with changed as (
    update public.users set region = 'Edited by superadmin' where id = :'admin' returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'superadmin aal2: updates an admin''s region (1 row)'
);
select throws_ok(
    'update_participant_role', '42501', null,
    'superadmin aal2: update of the role column is refused with 42501 (set_user_role only)'
);
select throws_ok(
    'delete_participant', '42501', null,
    'superadmin aal2: delete from users is refused with 42501'
);


-- Service role: bypasses RLS and holds every table grant.
select tests.act_as_service();

select is(
    (select count(*)::int from public.users where id in (select id from fixture_ids)),
    5,
    'service_role: reads every member''s profile'
);
with changed as (
    update public.users set status = 'SUSPENDED' where id = :'participant' returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'service_role: updates a member''s status (1 row)'
);
with removed as (
    delete from public.users where id = :'other' returning 1
)
select is(
    (select count(*)::int from removed), 1,
    'service_role: deletes a profile (1 row)'
);


-- Final state, read as the table owner.
select tests.clear_actor();

select is(
    (select name from public.users where id = :'participant'),
    'Renamed by self',
    'final: the participant''s own rename was kept'
);
select is(
    (select role from public.users where id = :'participant'),
    'PARTICIPANT'::public.app_role,
    'final: the participant''s role was never changed by a table write'
);
select is(
    (select school from public.users where id = :'participant'),
    'Edited by admin',
    'final: the aal2 admin''s edit was kept'
);
select is(
    (select region from public.users where id = :'admin'),
    'Edited by superadmin',
    'final: the superadmin''s edit was kept'
);
select is(
    (select status from public.users where id = :'participant'),
    'SUSPENDED'::public.account_status,
    'final: the service role''s status change was kept'
);
select is(
    (select count(*)::int from public.users where id = :'other'),
    0,
    'final: the service role''s delete was kept'
);

select * from finish();
rollback;
