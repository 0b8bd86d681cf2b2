-- Advisor rules: personal data. They read private.data_classification (which columns hold
-- personal data) and private.retention_rules. Tables of platform schemas (auth.users and the
-- like) are classified so that exports and redaction know them, but the storage, audit and
-- retention rules skip them: the platform owns and migrates those tables, not the project.


-- LG0101: a HIGH column (email, phone, NIK, NPWP, bank account) stored as readable text leaks
-- in full through any backup, replica, log of a slow query or mistaken grant. The design
-- stores them encrypted (pgp_sym_encrypt, key in Vault), i.e. as bytea ciphertext.
create view advisor.lint_0101_high_sensitivity_clear_text
with (security_invoker = true)
as
select
    'LG0101'::text as id,
    'high_sensitivity_clear_text'::text as name,
    'ERROR'::text as level,
    array['PRIVACY']::text[] as categories,
    pg_catalog.format('%I.%I.%I', dc.schema_name, dc.table_name, dc.column_name) as object,
    pg_catalog.format(
        'Column %I.%I.%I is classified HIGH (%s) but is stored in clear text as %s.',
        dc.schema_name, dc.table_name, dc.column_name, dc.category,
        pg_catalog.format_type(a.atttypid, a.atttypmod)
    ) as detail,
    'Store the value encrypted as bytea (pgp_sym_encrypt with a key from Vault) with a blind '
        'index for lookups. See docs/advisor/LG0101.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', dc.schema_name,
        'name', dc.table_name,
        'type', 'column',
        'column', dc.column_name,
        'sensitivity', dc.sensitivity,
        'category', dc.category,
        'data_type', pg_catalog.format_type(a.atttypid, a.atttypmod)
    ) as metadata,
    pg_catalog.format('LG0101:%s.%s.%s', dc.schema_name, dc.table_name, dc.column_name)
        as cache_key
from private.data_classification as dc
join advisor.schema_scope as s
    on s.schema_name = dc.schema_name
join pg_catalog.pg_class as c
    on c.relnamespace = s.schema_oid
    and c.relname = dc.table_name
    and c.relkind in ('r', 'p')
join pg_catalog.pg_attribute as a
    on a.attrelid = c.oid
    and a.attname = dc.column_name
    and a.attnum > 0
    and not a.attisdropped
where dc.sensitivity = 'HIGH'
    and not s.is_platform
    and a.atttypid <> 'pg_catalog.bytea'::regtype;

comment on view advisor.lint_0101_high_sensitivity_clear_text is
    'LG0101 (ERROR): HIGH-sensitivity columns of the project not stored as bytea ciphertext.';


-- LG0102: without an audit trigger, changes to personal data leave no record of who changed
-- what, which UU 27/2022 and the design require. An audit trigger is one whose function lives
-- in schema audit (the audit trail, built separately).
create view advisor.lint_0102_personal_data_without_audit_trigger
with (security_invoker = true)
as
select
    'LG0102'::text as id,
    'personal_data_without_audit_trigger'::text as name,
    'WARN'::text as level,
    array['PRIVACY']::text[] as categories,
    t.table_ident as object,
    pg_catalog.format(
        'Table %s holds personal data (%s) but no enabled trigger records its changes in the '
            'audit trail (schema audit).',
        t.table_ident, pg_catalog.array_to_string(t.columns, ', ')
    ) as detail,
    'Attach the audit trigger of schema audit to the table. See docs/advisor/LG0102.md.'::text
        as remediation,
    pg_catalog.jsonb_build_object(
        'schema', t.schema_name,
        'name', t.table_name,
        'type', 'table',
        'classified_columns', t.columns
    ) as metadata,
    pg_catalog.format('LG0102:%s.%s', t.schema_name, t.table_name) as cache_key
from advisor.personal_data_tables as t
where not t.is_platform
    and not exists (
        select 1
        from pg_catalog.pg_trigger as tg
        join pg_catalog.pg_proc as f
            on f.oid = tg.tgfoid
        join pg_catalog.pg_namespace as fn
            on fn.oid = f.pronamespace
        where tg.tgrelid = t.table_oid
            and not tg.tgisinternal
            -- O: fires normally, A: always; D (disabled) and R (replica only) audit nothing.
            and tg.tgenabled in ('O', 'A')
            and fn.nspname = 'audit'
    );

comment on view advisor.lint_0102_personal_data_without_audit_trigger is
    'LG0102 (WARN): project tables with classified columns and no trigger from schema audit.';


-- LG0103: personal data kept without a retention rule is kept forever, against the storage
-- limitation principle of UU 27/2022. Retention jobs read private.retention_rules.
create view advisor.lint_0103_personal_data_without_retention_rule
with (security_invoker = true)
as
select
    'LG0103'::text as id,
    'personal_data_without_retention_rule'::text as name,
    'WARN'::text as level,
    array['PRIVACY']::text[] as categories,
    t.table_ident as object,
    pg_catalog.format(
        'Table %s holds personal data (%s) but private.retention_rules says nothing about how '
            'long its rows are kept.',
        t.table_ident, pg_catalog.array_to_string(t.columns, ', ')
    ) as detail,
    'Add a row for the table to private.retention_rules (sql/data) giving the basis and '
        'period, so retention jobs remove expired rows. '
        'See docs/advisor/LG0103.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', t.schema_name,
        'name', t.table_name,
        'type', 'table',
        'classified_columns', t.columns
    ) as metadata,
    pg_catalog.format('LG0103:%s.%s', t.schema_name, t.table_name) as cache_key
from advisor.personal_data_tables as t
where not t.is_platform
    and not exists (
        select 1
        from private.retention_rules as r
        where r.schema_name = t.schema_name
            and r.table_name = t.table_name
    );

comment on view advisor.lint_0103_personal_data_without_retention_rule is
    'LG0103 (WARN): project tables with classified columns and no row in '
    'private.retention_rules.';


-- LG0105: a registry row naming a column that no longer exists (renamed, moved, dropped)
-- means the real column is unclassified: the clear-text, audit and retention rules, and
-- later encryption and redaction, silently skip it.
create view advisor.lint_0105_classification_registry_stale
with (security_invoker = true)
as
select
    'LG0105'::text as id,
    'classification_registry_stale'::text as name,
    'WARN'::text as level,
    array['PRIVACY']::text[] as categories,
    pg_catalog.format('%I.%I.%I', dc.schema_name, dc.table_name, dc.column_name) as object,
    pg_catalog.format(
        'private.data_classification classifies %I.%I.%I (%s), which does not exist; if it '
            'was renamed or moved, its new name is unclassified.',
        dc.schema_name, dc.table_name, dc.column_name, dc.sensitivity
    ) as detail,
    'Update the row in sql/data/20_data_classification.sql to the column''s current name, '
        'or delete it if the data is gone. See docs/advisor/LG0105.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', dc.schema_name,
        'name', dc.table_name,
        'type', 'column',
        'column', dc.column_name,
        'sensitivity', dc.sensitivity
    ) as metadata,
    pg_catalog.format('LG0105:%s.%s.%s', dc.schema_name, dc.table_name, dc.column_name)
        as cache_key
from private.data_classification as dc
where not exists (
    select 1
    from pg_catalog.pg_namespace as n
    join pg_catalog.pg_class as c
        on c.relnamespace = n.oid
    join pg_catalog.pg_attribute as a
        on a.attrelid = c.oid
    where n.nspname = dc.schema_name
        and c.relname = dc.table_name
        and c.relkind in ('r', 'p', 'v', 'm', 'f')
        and a.attname = dc.column_name
        and a.attnum > 0
        and not a.attisdropped
);

comment on view advisor.lint_0105_classification_registry_stale is
    'LG0105 (WARN): rows of private.data_classification naming a column that does not exist.';


-- LG0106: anon is anyone holding the public anon key. A classified column anon may select is
-- personal data handed to the internet, limited only by RLS, if the table has any.
create view advisor.lint_0106_personal_data_readable_by_anon
with (security_invoker = true)
as
select
    'LG0106'::text as id,
    'personal_data_readable_by_anon'::text as name,
    'ERROR'::text as level,
    array['PRIVACY', 'SECURITY']::text[] as categories,
    pg_catalog.format('%I.%I.%I', dc.schema_name, dc.table_name, dc.column_name) as object,
    pg_catalog.format(
        'anon may select %I.%I.%I, classified %s (%s): unauthenticated callers can read '
            'personal data%s.',
        dc.schema_name, dc.table_name, dc.column_name, dc.sensitivity, dc.category,
        case when c.relrowsecurity then ' wherever RLS lets them' else ' of every row' end
    ) as detail,
    'Revoke select on the table (or the column) from anon; personal data is for signed-in '
        'callers under RLS only. See docs/advisor/LG0106.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', dc.schema_name,
        'name', dc.table_name,
        'type', 'column',
        'column', dc.column_name,
        'sensitivity', dc.sensitivity,
        'rls_enabled', c.relrowsecurity
    ) as metadata,
    pg_catalog.format('LG0106:%s.%s.%s', dc.schema_name, dc.table_name, dc.column_name)
        as cache_key
from private.data_classification as dc
join pg_catalog.pg_namespace as n
    on n.nspname = dc.schema_name
join pg_catalog.pg_class as c
    on c.relnamespace = n.oid
    and c.relname = dc.table_name
join pg_catalog.pg_attribute as a
    on a.attrelid = c.oid
    and a.attname = dc.column_name
    and a.attnum > 0
    and not a.attisdropped
join pg_catalog.pg_roles as anon
    on anon.rolname = 'anon'
where pg_catalog.has_schema_privilege(anon.oid, n.oid, 'usage')
    and pg_catalog.has_column_privilege(anon.oid, c.oid, a.attnum, 'select');

comment on view advisor.lint_0106_personal_data_readable_by_anon is
    'LG0106 (ERROR): classified columns that anon may select.';
