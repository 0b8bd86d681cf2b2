-- rows of: private.detection_rules
--
-- Thresholds of the detectors (sql/91_security_signals.sql) and of the sign-in lockout.
-- Idempotent: re-applying it leaves exactly these rows, so a change here is carried into the
-- next migration as this whole file. An alert is raised when a window holds more than the
-- threshold; severity grows with the ratio (over 2x MEDIUM, 3x HIGH, 5x CRITICAL).

with listed (rule, threshold, window_length, severity_floor, high_above, description) as (
    values
        ('lockout', 5, interval '15 minutes', 'low', null::integer,
            'Failed sign-ins for one account that lock it (the hook rejects) until older '
                || 'failures leave the window.'),
        ('failed_logins_per_user', 15, interval '5 minutes', 'medium', null,
            'Failed sign-ins for one account (the guide''s 10 a minute, over five minutes and a '
                || 'little above, so that one person mistyping stays quiet).'),
        ('failed_login_spike', 50, interval '30 minutes', 'medium', 100,
            'Failed sign-ins across the platform; HIGH above 100.'),
        ('brute_force_per_source', 20, interval '10 minutes', 'medium', null,
            'Failed sign-ins from one address, over any accounts.'),
        ('new_users_per_minute', 3, interval '1 minute', 'low', null,
            'Accounts created in a minute.'),
        ('data_exports_per_actor', 5, interval '1 hour', 'medium', null,
            'Exports of other members'' personal data by one person in an hour.'),
        ('admin_actions_per_actor', 20, interval '1 hour', 'low', null,
            'Privileged acts by one administrator in an hour.'),
        ('file_uploads_per_actor', 50, interval '1 minute', 'low', null,
            'Evidence uploads by one member in a minute.'),
        ('file_access_per_actor', 100, interval '1 hour', 'medium', null,
            'Evidence links and identifier reveals by one member in an hour.'),
        ('submission_reads_per_actor', 100, interval '1 hour', 'medium', null,
            'Submissions opened for review by one person in an hour (or over half as many '
                || 'different ones).'),
        ('role_changes_per_actor', 5, interval '24 hours', 'critical', null,
            'Role changes made by one administrator in a day: always CRITICAL.')
),
removed as (
    delete from private.detection_rules as r
    where not exists (select 1 from listed as l where l.rule = r.rule)
)
insert into private.detection_rules (rule, threshold, window_length, severity_floor,
    high_above, description)
select rule, threshold, window_length, severity_floor, high_above, description
from listed
on conflict (rule) do update
set threshold = excluded.threshold,
    window_length = excluded.window_length,
    severity_floor = excluded.severity_floor,
    high_above = excluded.high_above,
    description = excluded.description;
