-- A participant reads the leaderboard: it lists only ACTIVE, non-deleted, PUBLIC profiles,
-- and carries no personal data (no name, school, region, e-mail, nor any id that joins an
-- entry back to a profile).

begin;
set local search_path = public, extensions;
select plan(17);

select
    tests.create_member('t_viewer') as viewer,
    tests.create_member('t_public', visibility => 'PUBLIC') as public_member,
    tests.create_member('t_private') as private_member,
    tests.create_member('t_suspended', status => 'SUSPENDED', visibility => 'PUBLIC')
        as suspended_member,
    tests.create_member('t_deleted', visibility => 'PUBLIC', deleted => true)
        as deleted_member
\gset

select
    tests.add_points(:'public_member', 40) as p1,
    tests.add_points(:'private_member', 50) as p2,
    tests.add_points(:'suspended_member', 60) as p3,
    tests.add_points(:'deleted_member', 70) as p4
\gset

-- What the viewer saw, kept for a check as the table owner afterwards.
create temporary table seen_handles (handle text) on commit drop;
grant insert on seen_handles to authenticated;


-- The view's shape: no personal data, no key back to the profile.
select columns_are(
    'public', 'leaderboard_totals',
    array['rank', 'handle', 'cohort', 'total_points', 'badge_count', 'updated_at'],
    'shape: leaderboard_totals has exactly rank, handle, cohort and the totals'
);
select hasnt_column(
    'public', 'leaderboard_totals', 'name',
    'shape: leaderboard_totals has no name column'
);
select hasnt_column(
    'public', 'leaderboard_totals', 'school',
    'shape: leaderboard_totals has no school column'
);
select hasnt_column(
    'public', 'leaderboard_totals', 'region',
    'shape: leaderboard_totals has no region column'
);
select hasnt_column(
    'public', 'leaderboard_totals', 'email',
    'shape: leaderboard_totals has no email column'
);
select hasnt_column(
    'public', 'leaderboard_totals', 'user_id',
    'shape: leaderboard_totals has no user_id column'
);
select hasnt_column(
    'public', 'leaderboard_totals', 'id',
    'shape: leaderboard_totals has no id column'
);
select ok(
    not has_column_privilege(
        'authenticated', 'private.leaderboard_entries', 'user_id', 'select'
    ),
    'grants: authenticated holds no SELECT on private.leaderboard_entries.user_id'
);


-- The participant reads the leaderboard.
select tests.act_as(:'viewer');

select set_eq(
    $$select handle from public.leaderboard_totals where handle like 't\_%'$$,
    $$values ('t_public')$$,
    'participant: of the fixture members only the ACTIVE, PUBLIC, non-deleted one is listed'
);
select is(
    (select total_points from public.leaderboard_totals where handle = 't_public'),
    40,
    'participant: the listed member shows their true total'
);
select throws_ok(
    $$select user_id from private.leaderboard_entries$$,
    '42501', null,
    'participant: selecting user_id from private.leaderboard_entries is refused with 42501'
);
select throws_ok(
    $$select * from private.leaderboard_entries$$,
    '42501', null,
    'participant: selecting every column of private.leaderboard_entries is refused with 42501'
);

insert into seen_handles select handle from public.leaderboard_totals;


-- What the participant saw, checked as the table owner.
select tests.clear_actor();

select ok(
    (select count(*) from seen_handles) > 0,
    'owner check: the participant saw a non-empty leaderboard'
);
select is_empty(
    $$select s.handle
    from seen_handles as s
    where not exists (
        select 1
        from public.users as u
        where u.handle = s.handle
            and u.status = 'ACTIVE'
            and u.deleted_at is null
            and u.visibility = 'PUBLIC'
    )$$,
    'owner check: every handle the participant saw is an ACTIVE, non-deleted, PUBLIC profile'
);


-- The listed member turns their profile PRIVATE: gone from the next read.
select tests.act_as(:'public_member');

with changed as (
    update public.users set visibility = 'PRIVATE' where id = :'public_member' returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'member: turns own profile PRIVATE (1 row)'
);

select tests.act_as(:'viewer');

select is(
    (select count(*)::int from public.leaderboard_totals where handle = 't_public'),
    0,
    'participant: a member who turned PRIVATE is no longer listed'
);

-- The stored entries, checked as the table owner.
select tests.clear_actor();

select is_empty(
    $$select e.handle
    from private.leaderboard_entries as e
    join public.users as u on u.id = e.user_id
    where u.status <> 'ACTIVE' or u.deleted_at is not null or u.visibility <> 'PUBLIC'$$,
    'owner check: no leaderboard entry exists for a suspended, deleted or PRIVATE profile'
);

select * from finish();
rollback;
