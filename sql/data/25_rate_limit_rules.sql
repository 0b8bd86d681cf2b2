-- rows of: private.rate_limit_rules
--
-- Requests per caller and window for each rate-limited function route. Idempotent:
-- re-applying it leaves exactly these rows, so a change here is carried into the next
-- migration as this whole file.

with listed (route, max_requests, per, description) as (
    values
        ('evidence-upload', 10, interval '1 minute',
            'Evidence uploads: a teacher attaches a handful of files at a time.'),
        ('evidence-url', 60, interval '1 minute',
            'Signed links to evidence: a reviewer paging through submissions.')
),
removed as (
    delete from private.rate_limit_rules as r
    where not exists (select 1 from listed as l where l.route = r.route)
)
insert into private.rate_limit_rules (route, max_requests, per, description)
select route, max_requests, per, description
from listed
on conflict (route) do update
set max_requests = excluded.max_requests,
    per = excluded.per,
    description = excluded.description;
