-- rows of: private.notification_routes
--
-- Which channels hear of a security alert of each severity. Idempotent: re-applying it leaves
-- exactly these rows, so a change here is carried into the next migration as this whole
-- file. PagerDuty wakes someone up: CRITICAL only.

with listed (severity, channel) as (
    values
        ('low', 'webhook'),
        ('medium', 'webhook'), ('medium', 'slack'),
        ('high', 'webhook'), ('high', 'slack'), ('high', 'email'),
        ('critical', 'webhook'), ('critical', 'slack'), ('critical', 'email'),
        ('critical', 'pagerduty')
),
removed as (
    delete from private.notification_routes as r
    where not exists (select 1 from listed as l
                      where l.severity = r.severity and l.channel = r.channel)
)
insert into private.notification_routes (severity, channel)
select severity, channel
from listed
on conflict do nothing;
