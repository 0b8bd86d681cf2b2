-- rows of: advisor.exceptions
--
-- Reviewed exceptions to advisor findings. Each one is a known gap that later work closes,
-- with the condition for removing it; a defect that can be fixed now is fixed, never listed
-- here. advisor.stale_exceptions shows rows that no longer match a finding. Idempotent:
-- re-applying it leaves exactly these rows, so a change here is carried into the next
-- migration as this whole file.

with listed (cache_key, reason, reviewer) as (
    values
        ('LG0103:public.users',
            'retention rules not defined yet: remove this exception when private.retention_rules '
                || 'has a rule for the table',
            'leaps-guard maintainers'),
        ('LG0103:public.submissions',
            'retention rules not defined yet: remove this exception when private.retention_rules '
                || 'has a rule for the table',
            'leaps-guard maintainers'),
        ('LG0103:public.submission_attachments',
            'retention rules not defined yet: remove this exception when private.retention_rules '
                || 'has a rule for the table',
            'leaps-guard maintainers')
),
removed as (
    delete from advisor.exceptions as e
    where not exists (
        select 1
        from listed as l
        where l.cache_key = e.cache_key
    )
)
insert into advisor.exceptions (cache_key, reason, reviewer)
select
    cache_key,
    reason,
    reviewer
from listed
on conflict (cache_key) do update
set reason = excluded.reason,
    reviewer = excluded.reviewer;
