-- The permission matrix, stored as data so that policies, functions and reports read one
-- source. A role holds a permission when it ranks at or above the permission's lowest role.


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

insert into private.permissions (permission, lowest_role, description)
values
    ('submission:create', 'PARTICIPANT', 'Create own activity submissions'),
    ('submission:view_own', 'PARTICIPANT', 'Read own submissions'),
    ('profile:update_own', 'PARTICIPANT', 'Edit the editable fields of own profile'),
    ('leaderboard:view_public', 'PARTICIPANT', 'Read the leaderboard of public profiles'),
    ('submission:review', 'REVIEWER', 'Approve or reject other members'' submissions'),
    ('submission:view_all', 'REVIEWER', 'Read every submission and its attachments'),
    ('user:view_basic', 'REVIEWER', 'Read the profiles of all members'),
    ('user:manage', 'ADMIN', 'Edit profiles, suspend members, adjust points and badges'),
    ('analytics:view_all', 'ADMIN', 'Read every member''s points and badges'),
    ('export:download', 'ADMIN', 'Export any member''s personal data'),
    ('audit:view', 'ADMIN', 'Read the audit trail'),
    ('system:configure', 'SUPERADMIN', 'Change platform settings such as the badge catalogue'),
    ('security:manage', 'SUPERADMIN', 'Grant ADMIN or SUPERADMIN and manage security settings'),
    ('backup:restore', 'SUPERADMIN', 'Restore data from backups');

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


-- Points each approved activity earns; kept as data so that a change is a reviewed migration.
create table private.activity_rewards (
    activity_code public.activity_code primary key,
    points integer not null check (points > 0)
);

insert into private.activity_rewards (activity_code, points)
values
    ('LEARN', 10),
    ('EXPLORE', 20),
    ('AMPLIFY', 30),
    ('PRESENT', 40),
    ('SHINE', 50);

comment on table private.activity_rewards is
    'Points credited to the owner when a submission of this activity is approved.';
