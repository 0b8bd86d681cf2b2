-- Regression tests, each named after a hole found by attacking the policies.
begin;
set local search_path = public, extensions;

select plan(14);

select
    tests.create_member('t_owner', visibility => 'PRIVATE') as owner,
    tests.create_member('t_gone', deleted => true) as gone,
    tests.create_member('t_reviewer', 'REVIEWER') as reviewer,
    tests.create_member('t_admin', 'ADMIN', mfa_verified => true) as admin,
    tests.create_member('t_peer') as peer
\gset

select
    tests.create_submission(:'owner', 'Pending talk', activity => 'PRESENT') as pending,
    tests.create_submission(:'owner', 'Approved public', 'APPROVED', 'PUBLIC') as decided,
    tests.create_submission(:'gone', 'Public work of a deleted member', 'APPROVED', 'PUBLIC')
        as gone_public
\gset


-- Switching the activity between review and decision would change the points credited.
select tests.act_as(:'owner');
select throws_ok(
    format($$update public.submissions set activity_code = 'SHINE' where id = %L$$, :'pending'),
    '42501', null,
    'activity switch before approval: the owner cannot change activity_code (42501)'
);

-- An owner may take back publication of a decided submission, and nothing else.
with changed as (
    update public.submissions set visibility = 'PRIVATE' where id = :'decided' returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'owner of a decided submission: switches it back to PRIVATE (1 row)'
);
select throws_ok(
    format($$update public.submissions set title = 'Rewritten' where id = %L$$, :'decided'),
    '42501', null,
    'owner of a decided submission: rewriting its title is refused with 42501'
);

-- Publishing a profile is the member's choice, not an administrator's.
select tests.act_as(:'admin', 'aal2');
select throws_ok(
    format($$update public.users set visibility = 'PUBLIC' where id = %L$$, :'owner'),
    '42501', null,
    'admin publishing a private member: refused with 42501'
);
with changed as (
    update public.users set school = 'SD Negeri 9 Contoh' where id = :'owner' returning 1
)
select is(
    (select count(*)::int from changed), 1,
    'admin aal2: still edits other fields of a member''s profile (1 row)'
);

-- Suspensions are recorded like role changes.
select is(
    public.set_user_status(:'owner', 'SUSPENDED'),
    'SUSPENDED'::public.account_status,
    'admin aal2: suspends a participant'
);
select tests.clear_actor();
select results_eq(
    format(
        'select old_status, new_status, changed_by from private.status_changes where user_id = %L',
        :'owner'
    ),
    format($$values ('ACTIVE'::public.account_status, 'SUSPENDED'::public.account_status,
        %L::uuid)$$, :'admin'),
    'suspension unrecorded: private.status_changes holds who suspended whom'
);
select is(
    (select visibility::text from public.users where id = :'owner'),
    'PRIVATE',
    'admin publishing a private member: the profile is still PRIVATE'
);
select is(
    (select activity_code::text from public.submissions where id = :'pending'),
    'PRESENT',
    'activity switch before approval: the activity is still PRESENT'
);

-- Public work of suspended or deleted members leaves other members' sight. The owner made
-- :'decided' PRIVATE above; publish it again so only the suspension can hide it.
select tests.clear_actor();
update public.submissions set visibility = 'PUBLIC' where id = :'decided';
update public.users set status = 'ACTIVE' where id = :'owner';
select tests.act_as(:'peer');
select is(
    (select count(*)::int from public.submissions where id = :'decided'),
    1,
    'active member''s public submission: other members read it'
);
select tests.clear_actor();
update public.users set status = 'SUSPENDED' where id = :'owner';
select tests.act_as(:'peer');
select is(
    (select count(*)::int from public.submissions where id = :'gone_public'),
    0,
    'deleted member''s public submission still visible: other members no longer read it'
);
select is(
    (select count(*)::int from public.submissions where id = :'decided'),
    0,
    'suspended member''s public submission: other members no longer read it'
);

-- A soft-deleted member's profile leaves reviewers' sight; administrators still see it.
select tests.act_as(:'reviewer');
select is(
    (select count(*)::int from public.users where id = :'gone'),
    0,
    'deleted member still visible: a reviewer no longer reads the profile'
);
select tests.act_as(:'admin', 'aal2');
select is(
    (select count(*)::int from public.users where id = :'gone'),
    1,
    'deleted member: an admin at aal2 still reads the profile'
);

select * from finish();
rollback;
