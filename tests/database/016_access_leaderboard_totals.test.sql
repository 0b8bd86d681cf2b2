-- Access matrix of public.leaderboard_totals, a security_invoker view over
-- private.leaderboard_entries.
--
-- Active members read the entries of PUBLIC profiles (admins at aal2); nobody writes them
-- through the API: the view is not updatable (55000) and the API roles hold no write grant
-- on the table beneath it (42501). Entries are kept by triggers.

begin;
set local search_path = public, extensions;
select plan(31);

select
    tests.create_member('t_participant', visibility => 'PUBLIC') as participant,
    tests.create_member('t_public_peer', visibility => 'PUBLIC') as public_peer,
    tests.create_member('t_private_peer') as private_peer,
    tests.create_member('t_reviewer', 'REVIEWER') as reviewer,
    tests.create_member('t_admin', 'ADMIN', mfa_verified => true) as admin,
    tests.create_member('t_superadmin', 'SUPERADMIN', mfa_verified => true) as superadmin
\gset

select
    tests.add_points(:'participant', 10) as participant_points,
    tests.add_points(:'public_peer', 20) as public_peer_points,
    tests.add_points(:'private_peer', 30) as private_peer_points
\gset

prepare read_fixture_entries as
    select count(*)::int from public.leaderboard_totals where handle like 't\_%';
-- Not prepared: PREPARE already rewrites, and the rewriter refuses writes to this view.
\set write_view 'update public.leaderboard_totals set total_points = 9999'
prepare insert_entry as
    insert into private.leaderboard_entries (user_id, handle, total_points)
    values (:'private_peer', 't_private_peer', 9999);
prepare inflate_entry as
    update private.leaderboard_entries set total_points = 9999;
prepare delete_entries as
    delete from private.leaderboard_entries;


-- Grants on the view: read-only for members and the server, nothing for anon.
select table_privs_are(
    'public', 'leaderboard_totals', 'anon', array[]::text[],
    'grants: anon holds no privilege on leaderboard_totals'
);
select table_privs_are(
    'public', 'leaderboard_totals', 'authenticated', array['SELECT'],
    'grants: authenticated holds only SELECT on leaderboard_totals'
);
select table_privs_are(
    'public', 'leaderboard_totals', 'service_role', array['SELECT'],
    'grants: service_role holds only SELECT on leaderboard_totals'
);


-- anon: refused.
select tests.act_as_anon();

select throws_ok(
    'read_fixture_entries', '42501', null,
    'anon: select on leaderboard_totals is refused with 42501'
);
select throws_ok(
    :'write_view', '55000', null,
    'anon: update of leaderboard_totals is refused with 55000 (view not updatable)'
);
select throws_ok(
    'insert_entry', '42501', null,
    'anon: insert into private.leaderboard_entries is refused with 42501'
);


-- Participant on their own entry.
select tests.act_as(:'participant');

select is(
    (select total_points from public.leaderboard_totals where handle = 't_participant'),
    10,
    'participant: reads own entry with own total'
);
select throws_ok(
    :'write_view', '55000', null,
    'participant: update of own total through the view is refused with 55000'
);
select throws_ok(
    'inflate_entry', '42501', null,
    'participant: update of private.leaderboard_entries is refused with 42501'
);
select throws_ok(
    'insert_entry', '42501', null,
    'participant: insert into private.leaderboard_entries is refused with 42501'
);
select throws_ok(
    'delete_entries', '42501', null,
    'participant: delete from private.leaderboard_entries is refused with 42501'
);


-- Participant on someone else's entries.
select is(
    (select count(*)::int from public.leaderboard_totals where handle = 't_public_peer'),
    1,
    'participant: reads another PUBLIC member''s entry'
);
select is(
    (select count(*)::int from public.leaderboard_totals where handle = 't_private_peer'),
    0,
    'participant: reads no entry of a PRIVATE member'
);


-- Reviewer.
select tests.act_as(:'reviewer');

select is(
    (select count(*)::int from public.leaderboard_totals where handle like 't\_%'),
    2,
    'reviewer: reads the two PUBLIC fixture entries'
);
select throws_ok(
    'inflate_entry', '42501', null,
    'reviewer: update of private.leaderboard_entries is refused with 42501'
);


-- Admin at aal1: nothing.
select tests.act_as(:'admin', 'aal1');

select is(
    (select count(*)::int from public.leaderboard_totals),
    0,
    'admin aal1: reads no leaderboard entry at all'
);
select throws_ok(
    'inflate_entry', '42501', null,
    'admin aal1: update of private.leaderboard_entries is refused with 42501'
);


-- Admin at aal2.
select tests.act_as(:'admin', 'aal2');

select is(
    (select count(*)::int from public.leaderboard_totals where handle like 't\_%'),
    2,
    'admin aal2: reads the two PUBLIC fixture entries'
);
select is(
    (select count(*)::int from public.leaderboard_totals where handle = 't_private_peer'),
    0,
    'admin aal2: reads no entry of a PRIVATE member'
);
select throws_ok(
    :'write_view', '55000', null,
    'admin aal2: update through the view is refused with 55000'
);
select throws_ok(
    'inflate_entry', '42501', null,
    'admin aal2: update of private.leaderboard_entries is refused with 42501'
);


-- Superadmin at aal2.
select tests.act_as(:'superadmin', 'aal2');

select is(
    (select count(*)::int from public.leaderboard_totals where handle like 't\_%'),
    2,
    'superadmin aal2: reads the two PUBLIC fixture entries'
);
select throws_ok(
    'delete_entries', '42501', null,
    'superadmin aal2: delete from private.leaderboard_entries is refused with 42501'
);
select throws_ok(
    'insert_entry', '42501', null,
    'superadmin aal2: insert into private.leaderboard_entries is refused with 42501'
);


-- Service role: reads everything, writes nothing (triggers keep the table).
select tests.act_as_service();

select is(
    (select count(*)::int from public.leaderboard_totals where handle like 't\_%'),
    2,
    'service_role: reads the two PUBLIC fixture entries'
);
select is(
    (select count(*)::int
    from private.leaderboard_entries
    where user_id in (:'participant', :'public_peer')),
    2,
    'service_role: reads private.leaderboard_entries, user_id included'
);
select throws_ok(
    :'write_view', '55000', null,
    'service_role: update through the view is refused with 55000'
);
select throws_ok(
    'insert_entry', '42501', null,
    'service_role: insert into private.leaderboard_entries is refused with 42501'
);
select throws_ok(
    'inflate_entry', '42501', null,
    'service_role: update of private.leaderboard_entries is refused with 42501'
);
select throws_ok(
    'delete_entries', '42501', null,
    'service_role: delete from private.leaderboard_entries is refused with 42501'
);


-- Final state, read as the table owner.
select tests.clear_actor();

select set_eq(
    $$select handle, total_points
    from private.leaderboard_entries
    where handle like 't\_%'$$,
    $$values ('t_participant', 10), ('t_public_peer', 20)$$,
    'final: the entries are exactly the PUBLIC members with their true totals'
);

select * from finish();
rollback;
