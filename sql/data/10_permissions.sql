-- rows of: private.permissions
--
-- The permission matrix. Idempotent: re-applying it leaves exactly these rows, so a change here
-- is carried into the next migration as this whole file.

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
    ('legal_hold:manage', 'ADMIN', 'Place and lift legal holds on members, submissions and '
        || 'audit periods'),
    ('dsar:manage', 'ADMIN', 'Handle data-subject requests: see all, decide, carry out erasure'),
    ('incident:manage', 'ADMIN', 'Open and work security incidents, contain members, collect '
        || 'evidence, send breach notices'),
    ('system:configure', 'SUPERADMIN', 'Change platform settings such as the badge catalogue'),
    ('security:manage', 'SUPERADMIN', 'Grant ADMIN or SUPERADMIN and manage security settings'),
    ('backup:restore', 'SUPERADMIN', 'Restore data from backups')
on conflict (permission) do update
set lowest_role = excluded.lowest_role,
    description = excluded.description;

delete from private.permissions
where permission not in (
    'submission:create', 'submission:view_own', 'profile:update_own', 'leaderboard:view_public',
    'submission:review', 'submission:view_all', 'user:view_basic', 'user:manage',
    'analytics:view_all', 'export:download', 'audit:view', 'legal_hold:manage', 'dsar:manage',
    'incident:manage',
    'system:configure',
    'security:manage', 'backup:restore'
);
