-- Auth hooks and detectors (sql/91_security_signals.sql): attempts recorded, lockout after
-- five failures even for the right password, detectors with severity by ratio and evidence,
-- one alert per open cause.

begin;
set local search_path = public, extensions;
select plan(19);

select tests.create_member('t_sig351_target') as target \gset
select tests.create_member('t_sig351_other') as other \gset
select tests.create_member('t_sig351_admin', 'ADMIN', mfa_verified => true) as admin \gset

-- The hook as Supabase Auth calls it: as supabase_auth_admin, with the documented event. The
-- answers are kept in a temporary table and checked afterwards, as the owner.
create temporary table t351_answers (n integer, answer jsonb);
grant insert on t351_answers to supabase_auth_admin;
set local role supabase_auth_admin;
insert into t351_answers values (1, private.hook_password_verification_attempt(
    pg_catalog.jsonb_build_object('user_id', :'target', 'valid', true)));
insert into t351_answers select 1 + g, private.hook_password_verification_attempt(
    pg_catalog.jsonb_build_object('user_id', :'target', 'valid', false))
from pg_catalog.generate_series(1, 5) as g;
insert into t351_answers values (7, private.hook_password_verification_attempt(
    pg_catalog.jsonb_build_object('user_id', :'target', 'valid', true)));
insert into t351_answers values (8, private.hook_password_verification_attempt(
    pg_catalog.jsonb_build_object('user_id', :'other', 'valid', true)));
insert into t351_answers values (9, private.hook_mfa_verification_attempt(
    pg_catalog.jsonb_build_object('factor_id', '00000000-0000-4000-8000-0000000000ff',
        'factor_type', 'totp', 'user_id', :'other', 'valid', false)));
reset role;
select is((select answer from t351_answers where n = 1), '{"decision": "continue"}'::jsonb,
    'a right password continues');
select is(
    (select pg_catalog.array_agg(answer ->> 'decision' order by n) from t351_answers
    where n between 2 and 6),
    array['continue', 'continue', 'continue', 'continue', 'reject'],
    'the fifth failure in 15 minutes locks the account'
);
select is((select answer ->> 'decision' from t351_answers where n = 7), 'reject',
    'while locked, even the right password is rejected');
select is((select answer from t351_answers where n = 8), '{"decision": "continue"}'::jsonb,
    'another account is not affected');
select is((select answer ->> 'decision' from t351_answers where n = 9), 'continue',
    'one wrong MFA code continues');
select is(
    (select pg_catalog.count(*)::int from private.sign_in_attempts where user_id = :'target'),
    7, 'every attempt is recorded'
);
update private.sign_in_attempts set attempted_at = attempted_at - interval '16 minutes'
where user_id = :'target';
set local role supabase_auth_admin;
insert into t351_answers values (10, private.hook_password_verification_attempt(
    pg_catalog.jsonb_build_object('user_id', :'target', 'valid', true)));
reset role;
select is((select answer ->> 'decision' from t351_answers where n = 10), 'continue',
    'once the failures are older than the window, the account opens again');
select tests.act_as(:'other');
select throws_ok(
    format($$select private.hook_password_verification_attempt('{"user_id": "%s",
        "valid": false}')$$, :'target'),
    '42501', null, 'a member cannot call the hook to lock someone out'
);
select tests.clear_actor();

-- Detectors.
select is(private.detection_severity(r, 16), 'medium', 'floor: just over the threshold is MEDIUM')
from private.detection_rules as r where r.rule = 'failed_logins_per_user';
select is(private.detection_severity(r, 46), 'high', 'over 3x: HIGH')
from private.detection_rules as r where r.rule = 'failed_logins_per_user';
select is(private.detection_severity(r, 101), 'high', 'the failed-login spike: HIGH above 100')
from private.detection_rules as r where r.rule = 'failed_login_spike';

-- 60 failed sign-ins in five minutes for one account.
insert into private.sign_in_attempts (user_id, factor, valid, attempted_at)
select :'other', 'password', false, now() - g * interval '4 seconds'
from pg_catalog.generate_series(1, 60) as g;
select is(
    (select pg_catalog.jsonb_build_object('observed', observed, 'severity', severity)
    from private.detect() where rule = 'failed_logins_per_user'
        and subject = 'user:' || :'other'),
    '{"observed": 60, "severity": "high"}'::jsonb,
    '60 failures in 5 minutes against a threshold of 15: HIGH, with the count'
);
select is(private.run_detectors() >= 1, true, 'the job raises alerts');
select is(private.run_detectors(), 0, 'run again, it raises nothing new while they are open');
select is(
    (select pg_catalog.count(*)::int from private.security_alerts
    where cause = 'failed_logins_per_user:user:' || :'other'),
    1, 'exactly one alert for the account'
);

-- Six role changes by one administrator in a day.
insert into private.role_changes (user_id, old_role, new_role, changed_by)
select tests.create_member('t_sig351_p' || g), 'PARTICIPANT', 'REVIEWER', :'admin'
from pg_catalog.generate_series(1, 6) as g;
select is(
    (select severity from private.detect() where rule = 'role_changes_per_actor'
        and subject = 'user:' || :'admin'),
    'critical', 'more than five role changes by one administrator in a day: CRITICAL'
);

-- A reviewer opening 150 submissions in a minute.
select tests.create_member('t_sig351_reviewer', 'REVIEWER') as reviewer \gset
create temporary table t351_work as
select tests.create_submission(:'target', 'Work ' || g) as id
from pg_catalog.generate_series(1, 150) as g;
grant select on t351_work to authenticated;
select tests.act_as(:'other');
select throws_ok(
    format($$select public.open_submission_for_review('%s')$$,
        (select id from t351_work limit 1)),
    '42501', null, 'a participant cannot open others'' submissions for review'
);
select tests.act_as(:'reviewer');
select is(
    (select pg_catalog.count(public.open_submission_for_review(w.id))::int from t351_work as w),
    150, 'the reviewer opens 150 submissions, each recorded'
);
select tests.clear_actor();
select is(
    (select pg_catalog.jsonb_build_object('observed', observed,
        'targets', evidence -> 'distinct_targets')
    from private.detect(clock_timestamp(), 'submission_reads_per_actor')
    where subject = 'user:' || :'reviewer'),
    '{"observed": 150, "targets": 150}'::jsonb,
    '150 reads of 150 different submissions in the hour: found, with the evidence'
);

select * from finish();
rollback;
