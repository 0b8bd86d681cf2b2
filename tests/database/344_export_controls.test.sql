-- Export controls (sql/83_export_controls.sql): only a SUPERADMIN at aal2 flips the switch that
-- pauses exports, with a reason, and the change is in the audit trail; the limit per subject
-- counts the last hour's successful exports.

begin;
set local search_path = public, extensions;
select plan(7);

select tests.create_member('t_ctl344_member') as member \gset
select tests.create_member('t_ctl344_admin', 'ADMIN', mfa_verified => true) as admin \gset
select tests.create_member('t_ctl344_super', 'SUPERADMIN', mfa_verified => true) as super \gset

select tests.act_as(:'member');
select throws_ok($$select public.set_platform_switch('exports_paused', true, 'x')$$, '42501',
    null, 'participant: flipping a platform switch is refused (42501)');
select tests.act_as(:'admin', 'aal2');
select throws_ok($$select public.set_platform_switch('exports_paused', true, 'x')$$, '42501',
    null, 'admin at aal2: flipping a platform switch is refused (42501)');
select tests.act_as(:'super', 'aal1');
select throws_ok($$select public.set_platform_switch('exports_paused', true, 'x')$$, '42501',
    null, 'superadmin at aal1: refused (42501)');
select tests.act_as(:'super', 'aal2');
select throws_ok($$select public.set_platform_switch('exports_paused', true, ' ')$$, '22023',
    'say why the switch changes', 'superadmin aal2: a change without a reason is refused');
select ok(public.set_platform_switch('exports_paused', true, 'Incident 4/2026: token leak'),
    'superadmin aal2: pauses exports');
select tests.clear_actor();

select is(
    (select pg_catalog.jsonb_build_object('allowed', a.allowed, 'reason', a.reason)
    from private.export_allowed(:'member') as a),
    '{"allowed": false, "reason": "paused"}'::jsonb,
    'while paused, no export is allowed'
);
select is(
    (select l.actor_id from audit.audit_log as l
    where l.target_type = 'private.platform_switches' and l.action = 'update'
    order by l.id desc limit 1),
    :'super'::uuid,
    'the switch''s change is in the audit trail with the superadmin as actor'
);

select * from finish();
rollback;
