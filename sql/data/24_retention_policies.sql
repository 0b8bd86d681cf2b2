-- rows of: private.retention_policies
--
-- The retention schedule private.run_retention() applies. Idempotent: re-applying it leaves
-- exactly these rows, so a change here is carried into the next migration as this whole file.
-- Periods count from the event that ends the need for the data, never from creation alone.

with listed (policy, description, period, basis, method, batch_size) as (
    values
        ('inactive-members',
            'Members with no activity for five years are pseudonymised: their educational '
                || 'record stays for evaluation, what identifies them goes.',
            interval '5 years', 'last activity: sign-in, submission, review or points',
            'ANONYMISE', 100),
        ('closed-accounts',
            'Accounts closed (and not kept as a pseudonymised record) are erased after 30 days.',
            interval '30 days', 'account closed (users.deleted_at)', 'HARD_DELETE', 100),
        ('finished-requests',
            'Data-subject requests are kept five years after they were answered.',
            interval '5 years', 'request completed or rejected', 'HARD_DELETE', 1000),
        ('lifted-holds',
            'Legal holds are kept a year after they were lifted or lapsed.',
            interval '1 year', 'hold lifted or lapsed', 'HARD_DELETE', 1000),
        ('finished-file-removals',
            'The queue of files removed from Storage keeps finished entries 30 days.',
            interval '30 days', 'file removed from Storage', 'HARD_DELETE', 1000),
        ('finished-notifications',
            'Delivered, skipped and dead notifications are kept 90 days.',
            interval '90 days', 'notification delivered or given up', 'HARD_DELETE', 1000),
        ('sign-in-attempts',
            'Sign-in attempts are kept 90 days for investigations.',
            interval '90 days', 'attempt made', 'HARD_DELETE', 5000),
        ('rate-limit-counters',
            'Rate-limit counters are kept a day after their window.',
            interval '1 day', 'rate-limit window started', 'HARD_DELETE', 5000),
        ('cron-history',
            'pg_cron''s record of job runs is kept seven days.',
            interval '7 days', 'job run finished', 'HARD_DELETE', 5000)
),
removed as (
    delete from private.retention_policies as r
    where not exists (select 1 from listed as l where l.policy = r.policy)
)
insert into private.retention_policies (policy, description, period, basis, method, batch_size)
select policy, description, period, basis, method, batch_size
from listed
on conflict (policy) do update
set description = excluded.description,
    period = excluded.period,
    basis = excluded.basis,
    method = excluded.method,
    batch_size = excluded.batch_size;
