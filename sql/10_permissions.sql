-- The permission matrix, stored as data so that policies, functions and reports read one
-- source; its rows are in sql/data/10_permissions.sql. A role holds a permission when it
-- ranks at or above the permission's lowest role.


create table private.permissions (
    permission text primary key
        check (permission ~ '^[a-z_]+:[a-z_]+$'),
    lowest_role public.app_role not null,
    description text not null
);

comment on table private.permissions is
    'Each permission and the lowest role that holds it; higher roles inherit it.';
comment on column private.permissions.permission is
    'Stable identifier, resource:action, referenced by policies through private.authorize().';

create view private.role_permissions
with (security_invoker = true)
as
select
    r.role,
    p.permission
from pg_catalog.unnest(pg_catalog.enum_range(null::public.app_role)) as r(role)
join private.permissions as p
    on r.role >= p.lowest_role;

comment on view private.role_permissions is
    'The permission matrix expanded: one row per role and permission it holds.';


-- Points each approved activity earns; kept as data (sql/data/11_activity_rewards.sql) so that
-- a change is a reviewed migration.
create table private.activity_rewards (
    activity_code public.activity_code primary key,
    points integer not null check (points > 0)
);

comment on table private.activity_rewards is
    'Points credited to the owner when a submission of this activity is approved.';
