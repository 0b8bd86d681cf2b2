-- Rate limits (sql/84_rate_limits.sql) and the storage policies of the evidence bucket
-- (policies/storage_objects.sql): one slot per call until the window is full, refusals that
-- do not count, per caller and per route; members see their own folder only, reviewers all,
-- nobody writes, replaces or deletes evidence objects directly.

begin;
set local search_path = public, extensions;
select plan(21);

select tests.create_member('t_rl345_owner') as owner \gset
select tests.create_member('t_rl345_other') as other \gset
select tests.create_member('t_rl345_reviewer', 'REVIEWER') as reviewer \gset
select tests.create_member('t_rl345_admin', 'ADMIN', mfa_verified => true) as admin \gset

-- Rate limits.
update private.rate_limit_rules set max_requests = 2 where route = 'evidence-upload';
create temporary table t345_slots (n integer, allowed boolean);
insert into t345_slots select 1, allowed from private.take_rate_limit('evidence-upload', :'owner');
insert into t345_slots select 2, allowed from private.take_rate_limit('evidence-upload', :'owner');
insert into t345_slots select 3, allowed from private.take_rate_limit('evidence-upload', :'owner');
insert into t345_slots select 4, allowed from private.take_rate_limit('evidence-upload', :'owner');
select is(
    (select pg_catalog.array_agg(allowed order by n) from t345_slots),
    array[true, true, false, false],
    'two uploads a minute: the third and fourth are refused'
);
select is(
    (select hits from private.rate_limit_counters
    where route = 'evidence-upload' and user_id = :'owner'),
    2, 'refused requests do not count'
);
select ok(
    (select t.retry_after_seconds between 1 and 60
    from private.take_rate_limit('evidence-upload', :'owner') as t),
    'a refusal says when to retry (within the minute)'
);
select is(
    (select t.allowed from private.take_rate_limit('evidence-upload', :'other') as t),
    true, 'another member has their own allowance'
);
select is(
    (select t.allowed from private.take_rate_limit('evidence-url', :'owner') as t),
    true, 'another route has its own allowance'
);
select is(
    (select t.remaining from private.take_rate_limit('evidence-upload', null) as t),
    1, 'the service role counts as one caller of its own'
);
select throws_ok(
    $$select private.take_rate_limit('no-such-route', null)$$, 'P0002', null,
    'an unknown route is an error, not an unlimited route'
);
select tests.act_as(:'owner');
select throws_ok(
    $$select private.take_rate_limit('evidence-upload', auth.uid())$$, '42501', null,
    'members cannot call the limiter (or reset their own counters)'
);
select tests.clear_actor();

-- Evidence objects.
select tests.create_submission(:'owner') as submission \gset
select tests.create_submission(:'other') as other_submission \gset
insert into storage.objects (bucket_id, name, owner)
values ('evidence', :'owner' || '/' || :'submission' || '/a.jpg', :'owner'),
    ('evidence', :'other' || '/' || :'other_submission' || '/b.jpg', :'other'),
    -- Stored while its scan is still running: no attachment row yet.
    ('evidence', :'other' || '/' || :'other_submission' || '/scanning.jpg', :'other');
insert into public.submission_attachments (submission_id, owner_id, storage_path, file_name,
    mime_type, byte_size, sha256, scan_status)
values (:'submission', :'owner', :'owner' || '/' || :'submission' || '/a.jpg', 'a.jpg',
        'image/jpeg', 10, pg_catalog.repeat('a', 64), 'CLEAN'),
    (:'other_submission', :'other', :'other' || '/' || :'other_submission' || '/b.jpg', 'b.jpg',
        'image/jpeg', 10, pg_catalog.repeat('b', 64), 'CLEAN');

select tests.act_as(:'owner');
select results_eq(
    $$select name from storage.objects where bucket_id = 'evidence'$$,
    array[:'owner' || '/' || :'submission' || '/a.jpg'],
    'a member sees (and lists) only their own folder'
);
select throws_ok(
    format($$insert into storage.objects (bucket_id, name, owner)
             values ('evidence', '%s/%s/c.jpg', '%s')$$, :'owner', :'submission', :'owner'),
    '42501', null, 'a member cannot write into their own folder directly'
);
select throws_ok(
    format($$insert into storage.objects (bucket_id, name, owner)
             values ('evidence', '%s/%s/c.jpg', '%s')$$, :'other', :'other_submission',
             :'owner'),
    '42501', null, 'nor into someone else''s folder'
);
select is_empty(
    $$update storage.objects set metadata = '{"x": 1}' where bucket_id = 'evidence'
      returning name$$,
    'a member cannot replace an object''s row'
);
select is_empty(
    $$delete from storage.objects where bucket_id = 'evidence' returning name$$,
    'a member cannot delete evidence objects'
);
select tests.clear_actor();
select is(
    (select pg_catalog.count(*)::int from storage.objects
    where bucket_id = 'evidence' and metadata is null),
    3, 'every object is still there, unchanged'
);

-- Counted over this test's two objects: other tests and the seed add their own.
create temporary view t345_ours with (security_invoker = true) as
select name from storage.objects
where bucket_id = 'evidence'
    and (name like :'owner' || '/%' or name like :'other' || '/%');
grant select on t345_ours to authenticated, anon;

select tests.act_as(:'reviewer');
select is(
    (select pg_catalog.count(*)::int from t345_ours),
    2, 'a reviewer sees all evidence that has its attachment row'
);
select is_empty(
    $$select name from t345_ours where name like '%/scanning.jpg'$$,
    'a file still being scanned (no row yet) is hidden from reviewers'
);
select tests.act_as(:'other');
select is(
    (select pg_catalog.count(*)::int from t345_ours),
    2, 'its owner sees it, with their other file'
);
select tests.act_as(:'admin', 'aal1');
select is(
    (select pg_catalog.count(*)::int from t345_ours),
    0, 'an administrator at aal1 sees none'
);
select tests.act_as(:'admin', 'aal2');
select is(
    (select pg_catalog.count(*)::int from t345_ours),
    2, 'an administrator at aal2 sees all evidence that has its row'
);
select tests.act_as_anon();
select is(
    (select pg_catalog.count(*)::int from storage.objects where bucket_id = 'evidence'),
    0, 'the anon key sees nothing'
);
select tests.clear_actor();
select is(
    (select public from storage.buckets where id = 'evidence'),
    false, 'the evidence bucket is private'
);

select * from finish();
rollback;
