-- Retention (sql/82_retention.sql): a batch of each policy, run as the nightly job runs it.
--
-- Periods count from the right event: a member who joined eight years ago but signed in last
-- week is never touched, one silent for six years is pseudonymised; a closed account is erased
-- after 30 days, unless a legal hold covers it. A dry run changes nothing. Old answered
-- requests go, recent ones stay. The watchdog alerts on policies that have not succeeded, once
-- a day. (The procedure that commits between batches is exercised by tests/stack.)

begin;
set local search_path = public, extensions;
select plan(12);

select tests.create_member('t_ret343_active') as active \gset
select tests.create_member('t_ret343_silent') as silent \gset
select tests.create_member('t_ret343_closed') as closed \gset
select tests.create_member('t_ret343_held') as held \gset
select tests.create_member('t_ret343_admin', 'ADMIN', mfa_verified => true) as admin \gset

update auth.users set created_at = pg_catalog.now() - interval '8 years',
    last_sign_in_at = pg_catalog.now() - interval '7 days'
where id = :'active';
update public.users set created_at = pg_catalog.now() - interval '8 years' where id = :'active';
update auth.users set created_at = pg_catalog.now() - interval '8 years',
    last_sign_in_at = pg_catalog.now() - interval '6 years'
where id = :'silent';
update public.users set created_at = pg_catalog.now() - interval '8 years' where id = :'silent';
update public.users set deleted_at = pg_catalog.now() - interval '40 days'
where id in (:'closed', :'held');

select tests.act_as(:'admin', 'aal2');
select public.place_legal_hold('USER', 'Audit of grants 2026, member kept',
    target_id => :'held') as hold \gset
select tests.clear_actor();


-- Who is due ------------------------------------------------------------------------------------

select is(
    (select pg_catalog.array_agg(m order by m)
    from private.retention_due_members('inactive-members', 1000) as m
    where m in (:'active', :'silent')),
    array[:'silent'::uuid],
    'inactive-members: due is the member silent for six years, not the active one who '
        || 'joined eight years ago'
);
select is(
    (select pg_catalog.array_agg(m order by m)
    from private.retention_due_members('closed-accounts', 1000) as m
    where m in (:'closed', :'held')),
    array[:'closed'::uuid],
    'closed-accounts: due is the account closed 40 days ago, not the one under a legal hold'
);


-- A dry run changes nothing ---------------------------------------------------------------------

select ok((select b.affected >= 1 from private.retention_batch('inactive-members', 1000, true)
    as b), 'dry run: counts the due members');
select is(
    (select u.handle from public.users as u where u.id = :'silent'),
    't_ret343_silent',
    'dry run: the silent member is untouched'
);


-- The batches -------------------------------------------------------------------------------------

select b.affected as pseudonymised
from private.retention_batch('inactive-members', 1000, false) as b \gset
select is(
    (select pg_catalog.jsonb_build_object('handle', u.handle ~ '^erased_', 'name', u.name,
        'email', a.email, 'banned', a.banned_until = 'infinity')
    from public.users as u join auth.users as a on a.id = u.id where u.id = :'silent'),
    '{"handle": true, "name": "", "email": null, "banned": true}'::jsonb,
    'inactive-members: the silent member is pseudonymised and their sign-in closed'
);
select is(
    (select u.handle from public.users as u where u.id = :'active'),
    't_ret343_active',
    'inactive-members: the active long-time member is untouched'
);

select private.retention_batch('closed-accounts', 1000, false) is not null as done \gset
select is(
    (select pg_catalog.count(*) from auth.users where id = :'closed')
        + (select pg_catalog.count(*) from public.users where id = :'closed'),
    0::bigint,
    'closed-accounts: the closed account and its profile are gone'
);
select is(
    (select pg_catalog.count(*) from public.users where id = :'held'),
    1::bigint,
    'closed-accounts: the held account is kept'
);
select is(
    (select pg_catalog.count(*) from audit.audit_log as l
    where l.action = 'dsar.delete' and l.actor_type = 'CRON'
        and l.target_id = private.subject_key(:'closed')),
    1::bigint,
    'the erasure is recorded under a pseudonymous id, as done by a job'
);

insert into public.dsar_requests (kind, subject_id, received_at, due_at, status, completed_at)
values
    ('access', :'active', pg_catalog.now() - interval '6 years',
        pg_catalog.now() - interval '6 years' + interval '72 hours', 'completed',
        pg_catalog.now() - interval '6 years'),
    ('access', :'active', pg_catalog.now() - interval '1 year',
        pg_catalog.now() - interval '1 year' + interval '72 hours', 'completed',
        pg_catalog.now() - interval '1 year');
select private.retention_batch('finished-requests', 1000, false) is not null as done \gset
select is(
    (select pg_catalog.array_agg(r.received_at > pg_catalog.now() - interval '2 years')
    from public.dsar_requests as r where r.subject_id = :'active'),
    array[true],
    'finished-requests: the request answered six years ago goes, last year''s stays'
);


-- The watchdog ---------------------------------------------------------------------------------

select ok(private.retention_watchdog() >= 6,
    'watchdog: every policy that never succeeded raises an alert');
select is(private.retention_watchdog(), 0,
    'watchdog: and not again within the day');

select * from finish();
rollback;
