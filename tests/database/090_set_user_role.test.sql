-- public.set_user_role(target, role): the only way to change a role.
--
-- Participants, reviewers and admins at aal1 are refused (42501). An admin at aal2 may
-- promote a participant to REVIEWER but never grant or remove ADMIN (42501). A superadmin at
-- aal2 may grant ADMIN only to a member with a verified MFA factor (else 55000). Nobody
-- changes their own role. Every change is recorded in private.role_changes.

begin;
set local search_path = public, extensions;
select plan(30);

select
    tests.create_member('t_participant') as participant,
    tests.create_member('t_reviewer', 'REVIEWER') as reviewer,
    tests.create_member('t_admin', 'ADMIN', mfa_verified => true) as admin,
    tests.create_member('t_second_admin', 'ADMIN', mfa_verified => true) as second_admin,
    tests.create_member('t_superadmin', 'SUPERADMIN', mfa_verified => true) as superadmin,
    tests.create_member('t_no_mfa') as no_mfa,
    tests.create_member('t_with_mfa', mfa_verified => true) as with_mfa,
    tests.create_member('t_unverified_mfa') as unverified_mfa
\gset
select tests.add_mfa_factor(:'unverified_mfa', 'unverified') as unverified_factor \gset

create temporary table fixture_roles on commit drop as
select id, role from public.users
where id in (
    :'participant', :'reviewer', :'admin', :'second_admin', :'superadmin', :'no_mfa',
    :'with_mfa', :'unverified_mfa'
);

\set promote_no_mfa_to_reviewer 'select public.set_user_role(''' :no_mfa ''', ''REVIEWER'')'


-- Callers below ADMIN at aal2 are refused, whatever the target.
select tests.act_as_anon();
select throws_ok(
    :'promote_no_mfa_to_reviewer', '42501', null,
    'anon: set_user_role is refused with 42501 (no execute grant)'
);

select tests.act_as(:'participant');
select throws_ok(
    :'promote_no_mfa_to_reviewer', '42501', null,
    'participant: set_user_role is refused with 42501'
);

select tests.act_as(:'reviewer');
select throws_ok(
    :'promote_no_mfa_to_reviewer', '42501', null,
    'reviewer: set_user_role is refused with 42501'
);

select tests.act_as(:'admin', 'aal1');
select throws_ok(
    :'promote_no_mfa_to_reviewer', '42501', null,
    'admin aal1: set_user_role is refused with 42501'
);

select tests.act_as(:'superadmin', 'aal1');
select throws_ok(
    format('select public.set_user_role(%L, %L)', :'with_mfa', 'ADMIN'),
    '42501', null,
    'superadmin aal1: set_user_role is refused with 42501'
);

select tests.act_as_service();
select throws_ok(
    :'promote_no_mfa_to_reviewer', '42501', null,
    'service_role: set_user_role is refused with 42501 (no calling member)'
);


-- Admin at aal2: ADMIN and SUPERADMIN are out of reach.
select tests.act_as(:'admin', 'aal2');

select throws_ok(
    format('select public.set_user_role(%L, %L)', :'with_mfa', 'ADMIN'),
    '42501', null,
    'admin aal2: granting ADMIN, even to a member with verified MFA, is refused with 42501'
);
select throws_ok(
    format('select public.set_user_role(%L, %L)', :'with_mfa', 'SUPERADMIN'),
    '42501', null,
    'admin aal2: granting SUPERADMIN is refused with 42501'
);
select throws_ok(
    format('select public.set_user_role(%L, %L)', :'second_admin', 'PARTICIPANT'),
    '42501', null,
    'admin aal2: removing another admin''s ADMIN role is refused with 42501'
);
select throws_ok(
    format('select public.set_user_role(%L, %L)', :'superadmin', 'REVIEWER'),
    '42501', null,
    'admin aal2: demoting a superadmin is refused with 42501'
);


-- Nobody changes their own role.
select throws_ok(
    format('select public.set_user_role(%L, %L)', :'admin', 'SUPERADMIN'),
    '42501', null,
    'own role: admin aal2 raising own role is refused with 42501'
);
select throws_ok(
    format('select public.set_user_role(%L, %L)', :'admin', 'REVIEWER'),
    '42501', null,
    'own role: admin aal2 lowering own role is refused with 42501'
);

select tests.act_as(:'superadmin', 'aal2');
select throws_ok(
    format('select public.set_user_role(%L, %L)', :'superadmin', 'ADMIN'),
    '42501', null,
    'own role: superadmin aal2 changing own role is refused with 42501'
);

select tests.act_as(:'reviewer', 'aal2');
select throws_ok(
    format('select public.set_user_role(%L, %L)', :'reviewer', 'ADMIN'),
    '42501', null,
    'own role: reviewer aal2 raising own role is refused with 42501'
);


-- Superadmin at aal2: ADMIN and above need a verified MFA factor on the target.
select tests.act_as(:'superadmin', 'aal2');

select throws_ok(
    format('select public.set_user_role(%L, %L)', :'no_mfa', 'ADMIN'),
    '55000', null,
    'superadmin aal2: granting ADMIN to a member without MFA is refused with 55000'
);
select throws_ok(
    format('select public.set_user_role(%L, %L)', :'unverified_mfa', 'ADMIN'),
    '55000', null,
    'superadmin aal2: granting ADMIN to a member with an unverified factor is refused (55000)'
);
select throws_ok(
    format('select public.set_user_role(%L, %L)', :'no_mfa', 'SUPERADMIN'),
    '55000', null,
    'superadmin aal2: granting SUPERADMIN to a member without MFA is refused with 55000'
);


-- Every refusal left the roles and the history untouched.
select tests.clear_actor();

select is_empty(
    $$select u.id
    from public.users as u
    join fixture_roles as f on f.id = u.id
    where u.role <> f.role$$,
    'after the refusals: no fixture member''s role changed'
);
select is(
    (select count(*)::int
    from private.role_changes
    where user_id in (select id from fixture_roles)),
    0,
    'after the refusals: private.role_changes records nothing'
);


-- Allowed changes.
select tests.act_as(:'admin', 'aal2');

select is(
    public.set_user_role(:'no_mfa', 'REVIEWER'),
    'REVIEWER'::public.app_role,
    'admin aal2: promotes a participant to REVIEWER'
);
select is(
    public.set_user_role(:'no_mfa', 'PARTICIPANT'),
    'PARTICIPANT'::public.app_role,
    'admin aal2: demotes a reviewer back to PARTICIPANT'
);
select is(
    public.set_user_role(:'participant', 'REVIEWER'),
    'REVIEWER'::public.app_role,
    'admin aal2: promotes another participant to REVIEWER'
);
select throws_ok(
    $$select * from private.role_changes$$,
    '42501', null,
    'admin aal2: reading private.role_changes directly is refused with 42501'
);

select tests.act_as(:'superadmin', 'aal2');

select is(
    public.set_user_role(:'with_mfa', 'ADMIN'),
    'ADMIN'::public.app_role,
    'superadmin aal2: grants ADMIN to a member with a verified MFA factor'
);
select is(
    public.set_user_role(:'second_admin', 'PARTICIPANT'),
    'PARTICIPANT'::public.app_role,
    'superadmin aal2: removes ADMIN from an admin'
);


-- The allowed changes took effect and were recorded, read as the table owner.
select tests.clear_actor();

select set_eq(
    format(
        'select id, role from public.users where id in (%L, %L, %L, %L)',
        :'no_mfa', :'participant', :'with_mfa', :'second_admin'
    ),
    format(
        $$values (%L::uuid, 'PARTICIPANT'::public.app_role), (%L, 'REVIEWER'),
            (%L, 'ADMIN'), (%L, 'PARTICIPANT')$$,
        :'no_mfa', :'participant', :'with_mfa', :'second_admin'
    ),
    'afterwards: every allowed change took effect'
);
select set_eq(
    $$select u.handle, c.old_role, c.new_role, by_user.handle as changed_by_handle
    from private.role_changes as c
    join public.users as u on u.id = c.user_id
    join public.users as by_user on by_user.id = c.changed_by
    where u.handle like 't\_%'$$,
    $$values
        ('t_no_mfa', 'PARTICIPANT'::public.app_role, 'REVIEWER'::public.app_role, 't_admin'),
        ('t_no_mfa', 'REVIEWER', 'PARTICIPANT', 't_admin'),
        ('t_participant', 'PARTICIPANT', 'REVIEWER', 't_admin'),
        ('t_with_mfa', 'PARTICIPANT', 'ADMIN', 't_superadmin'),
        ('t_second_admin', 'ADMIN', 'PARTICIPANT', 't_superadmin')$$,
    'afterwards: private.role_changes records each change with old role, new role and author'
);
select is(
    (select count(*)::int from private.role_changes where changed_at is null),
    0,
    'afterwards: every recorded change carries its time'
);
select set_eq(
    format('select role from public.users where id in (%L, %L)', :'admin', :'superadmin'),
    $$values ('ADMIN'::public.app_role), ('SUPERADMIN'::public.app_role)$$,
    'afterwards: the callers'' own roles are unchanged'
);
select is(
    (select count(*)::int
    from private.role_changes
    where user_id in (:'admin', :'superadmin', :'reviewer')),
    0,
    'afterwards: no change of a caller''s own role was recorded'
);

select * from finish();
rollback;
