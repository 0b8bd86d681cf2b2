-- Advisor rules: who can reach which rows. Row-level security on exposed tables, views that
-- bypass it, policies that trust user-editable data or let anyone write, relations RLS cannot
-- protect, and storage buckets that can be listed. Threat, limits and remediation of each
-- rule: docs/advisor/<id>.md.


-- LG0001: a table the Data API serves without RLS is readable and writable by every role
-- holding a grant on it; on Supabase new tables in public are granted to anon and
-- authenticated by default, so RLS is the line that holds. Flagged whatever the grants are.
create view advisor.lint_0001_rls_disabled_in_public
with (security_invoker = true)
as
select
    'LG0001'::text as id,
    'rls_disabled_in_public'::text as name,
    'ERROR'::text as level,
    array['SECURITY']::text[] as categories,
    pg_catalog.format('%I.%I', s.schema_name, c.relname) as object,
    pg_catalog.format(
        'Table %I.%I is in the exposed schema %I but row-level security is disabled, so '
            'every API role with a grant on it reads and writes all of its rows.',
        s.schema_name, c.relname, s.schema_name
    ) as detail,
    'Enable row level security on the table and add policies for each role, or move it to '
        'an unexposed schema. See docs/advisor/LG0001.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', s.schema_name,
        'name', c.relname,
        'type', 'table',
        'api_roles_with_grants', array(
            select r.rolname::text
            from pg_catalog.pg_roles as r
            where r.rolname in ('anon', 'authenticated')
                and pg_catalog.has_any_column_privilege(r.oid, c.oid, 'select, insert, update')
            order by 1
        )
    ) as metadata,
    pg_catalog.format('LG0001:%s.%s', s.schema_name, c.relname) as cache_key
from pg_catalog.pg_class as c
join advisor.schema_scope as s
    on s.schema_oid = c.relnamespace
where s.is_exposed
    and c.relkind in ('r', 'p')
    and not c.relrowsecurity;

comment on view advisor.lint_0001_rls_disabled_in_public is
    'LG0001 (ERROR): tables in an exposed schema with row-level security disabled.';


-- LG0002: policies on a table whose RLS is off are never evaluated; whoever wrote them
-- believes the rows are protected. Checked in every non-system schema.
create view advisor.lint_0002_policy_exists_rls_disabled
with (security_invoker = true)
as
select
    'LG0002'::text as id,
    'policy_exists_rls_disabled'::text as name,
    'ERROR'::text as level,
    array['SECURITY']::text[] as categories,
    pg_catalog.format('%I.%I', s.schema_name, c.relname) as object,
    pg_catalog.format(
        'Table %I.%I has %s row-level security %s (%s) but RLS is disabled, so none of them '
            'is enforced.',
        s.schema_name, c.relname, pg_catalog.count(*),
        case when pg_catalog.count(*) = 1 then 'policy' else 'policies' end,
        pg_catalog.string_agg(p.polname, ', ' order by p.polname)
    ) as detail,
    'Enable row level security on the table (alter table ... enable row level security), or '
        'drop the policies if the table is meant to be unprotected. '
        'See docs/advisor/LG0002.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', s.schema_name,
        'name', c.relname,
        'type', 'table',
        'policies', pg_catalog.array_agg(p.polname::text order by p.polname)
    ) as metadata,
    pg_catalog.format('LG0002:%s.%s', s.schema_name, c.relname) as cache_key
from pg_catalog.pg_class as c
join advisor.schema_scope as s
    on s.schema_oid = c.relnamespace
join pg_catalog.pg_policy as p
    on p.polrelid = c.oid
where not s.is_system
    and c.relkind in ('r', 'p')
    and not c.relrowsecurity
group by s.schema_name, c.relname;

comment on view advisor.lint_0002_policy_exists_rls_disabled is
    'LG0002 (ERROR): tables with policies whose row-level security is disabled.';


-- LG0003: RLS on and no policy denies every non-owner role every row. Often meant (a table
-- only server-side code reads), so INFO: it says the table is closed, not that it leaks.
create view advisor.lint_0003_rls_enabled_no_policy
with (security_invoker = true)
as
select
    'LG0003'::text as id,
    'rls_enabled_no_policy'::text as name,
    'INFO'::text as level,
    array['SECURITY']::text[] as categories,
    pg_catalog.format('%I.%I', s.schema_name, c.relname) as object,
    pg_catalog.format(
        'Table %I.%I in the exposed schema %I has row-level security enabled but no policy, '
            'so API roles see no rows and can write none.',
        s.schema_name, c.relname, s.schema_name
    ) as detail,
    'If the table is for server-side code only, move it to an unexposed schema; otherwise '
        'add policies for the roles that need it. See docs/advisor/LG0003.md.'::text
        as remediation,
    pg_catalog.jsonb_build_object(
        'schema', s.schema_name,
        'name', c.relname,
        'type', 'table'
    ) as metadata,
    pg_catalog.format('LG0003:%s.%s', s.schema_name, c.relname) as cache_key
from pg_catalog.pg_class as c
join advisor.schema_scope as s
    on s.schema_oid = c.relnamespace
where s.is_exposed
    and c.relkind in ('r', 'p')
    and c.relrowsecurity
    and not exists (
        select 1
        from pg_catalog.pg_policy as p
        where p.polrelid = c.oid
    );

comment on view advisor.lint_0003_rls_enabled_no_policy is
    'LG0003 (INFO): tables in an exposed schema with RLS enabled and no policy.';


-- LG0004: a view without security_invoker reads its tables as its owner. The owner of
-- application tables bypasses their RLS (table owner, BYPASSRLS), so every caller of the view
-- sees every row the policies were written to hide.
create view advisor.lint_0004_security_definer_view
with (security_invoker = true)
as
select
    'LG0004'::text as id,
    'security_definer_view'::text as name,
    'ERROR'::text as level,
    array['SECURITY']::text[] as categories,
    pg_catalog.format('%I.%I', s.schema_name, v.relname) as object,
    pg_catalog.format(
        'View %I.%I runs with its owner''s rights (security_invoker is off) and reads %s, '
            'which %s row-level security: callers of the view bypass those policies.',
        s.schema_name, v.relname,
        pg_catalog.string_agg(pg_catalog.format('%I.%I', tn.nspname, t.relname), ', '
            order by tn.nspname, t.relname),
        case when pg_catalog.count(*) = 1 then 'has' else 'have' end
    ) as detail,
    'Recreate the view with (security_invoker = true) so the caller''s policies apply, or '
        'move it to an unexposed schema. See docs/advisor/LG0004.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', s.schema_name,
        'name', v.relname,
        'type', 'view',
        'rls_tables', pg_catalog.array_agg(pg_catalog.format('%I.%I', tn.nspname, t.relname)
            order by tn.nspname, t.relname)
    ) as metadata,
    pg_catalog.format('LG0004:%s.%s', s.schema_name, v.relname) as cache_key
from pg_catalog.pg_class as v
join advisor.schema_scope as s
    on s.schema_oid = v.relnamespace
join advisor.view_dependencies as vd
    on vd.view_oid = v.oid
join pg_catalog.pg_class as t
    on t.oid = vd.relation_oid
    and t.relkind in ('r', 'p')
    and t.relrowsecurity
join pg_catalog.pg_namespace as tn
    on tn.oid = t.relnamespace
where s.is_exposed
    and v.relkind = 'v'
    and not advisor.is_security_invoker(v.reloptions)
group by s.schema_name, v.relname;

comment on view advisor.lint_0004_security_definer_view is
    'LG0004 (ERROR): views in an exposed schema without security_invoker over RLS tables.';


-- LG0008: user_metadata (auth.users.raw_user_meta_data, the JWT claim user_metadata) is
-- editable by the user through supabase.auth.updateUser(); a policy that reads it lets users
-- grant themselves whatever it checks. Policy expressions only: a helper function a policy
-- calls is not read (see the doc).
create view advisor.lint_0008_rls_references_user_metadata
with (security_invoker = true)
as
select
    'LG0008'::text as id,
    'rls_references_user_metadata'::text as name,
    'ERROR'::text as level,
    array['SECURITY']::text[] as categories,
    p.table_ident as object,
    pg_catalog.format(
        'Policy "%s" on %s reads user_metadata, which users can edit themselves, so they can '
            'satisfy it at will.',
        p.policy_name, p.table_ident
    ) as detail,
    'Decide from data users cannot write: a role-of-record table read by a helper, or '
        'app_metadata set by the server. See docs/advisor/LG0008.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', p.schema_name,
        'name', p.table_name,
        'type', 'policy',
        'policy', p.policy_name,
        'command', p.command
    ) as metadata,
    pg_catalog.format('LG0008:%s:%s', p.table_ident, p.policy_name) as cache_key
from advisor.policies as p
where p.using_expr ~* 'user_?meta_?data'
    or p.check_expr ~* 'user_?meta_?data';

comment on view advisor.lint_0008_rls_references_user_metadata is
    'LG0008 (ERROR): policies whose expressions read user_metadata.';


-- LG0009: auth.users holds every account's email, phone and metadata. A view in an exposed
-- schema that reads it and that an API role may select hands those to clients.
create view advisor.lint_0009_auth_users_exposed
with (security_invoker = true)
as
select
    'LG0009'::text as id,
    'auth_users_exposed'::text as name,
    'ERROR'::text as level,
    array['SECURITY', 'PRIVACY']::text[] as categories,
    pg_catalog.format('%I.%I', s.schema_name, v.relname) as object,
    pg_catalog.format(
        '%s %I.%I in the exposed schema %I reads auth.users and %s can select from it, '
            'exposing account data through the Data API.',
        case v.relkind when 'm' then 'Materialized view' else 'View' end,
        s.schema_name, v.relname, s.schema_name,
        pg_catalog.array_to_string(array(
            select r.rolname::text
            from pg_catalog.pg_roles as r
            where r.rolname in ('anon', 'authenticated')
                and pg_catalog.has_any_column_privilege(r.oid, v.oid, 'select')
            order by 1
        ), ' and ')
    ) as detail,
    'Revoke select on the view from anon and authenticated, or move it to an unexposed '
        'schema; copy only the needed columns into a table with RLS. '
        'See docs/advisor/LG0009.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', s.schema_name,
        'name', v.relname,
        'type', case v.relkind when 'm' then 'materialized view' else 'view' end,
        'security_invoker', advisor.is_security_invoker(v.reloptions)
    ) as metadata,
    pg_catalog.format('LG0009:%s.%s', s.schema_name, v.relname) as cache_key
from pg_catalog.pg_class as v
join advisor.schema_scope as s
    on s.schema_oid = v.relnamespace
join advisor.view_dependencies as vd
    on vd.view_oid = v.oid
    and vd.relation_oid = pg_catalog.to_regclass('auth.users')
where s.is_exposed
    and exists (
        select 1
        from pg_catalog.pg_roles as r
        where r.rolname in ('anon', 'authenticated')
            and pg_catalog.has_schema_privilege(r.oid, v.relnamespace, 'usage')
            and pg_catalog.has_any_column_privilege(r.oid, v.oid, 'select')
            -- An invoker view reads auth.users with the caller's rights: harmless when the
            -- caller has none.
            and (
                v.relkind = 'm'
                or not advisor.is_security_invoker(v.reloptions)
                or pg_catalog.has_any_column_privilege(r.oid,
                    pg_catalog.to_regclass('auth.users'), 'select')
            )
    );

comment on view advisor.lint_0009_auth_users_exposed is
    'LG0009 (ERROR): views in an exposed schema that read auth.users and that API roles may '
    'select.';


-- LG0010: a permissive write policy whose USING or WITH CHECK is the literal `true` lets
-- every client it names write every row (or any new value). Restrictive policies of the
-- table still narrow it, which is why this warns rather than errs.
create view advisor.lint_0010_rls_policy_always_true
with (security_invoker = true)
as
select
    'LG0010'::text as id,
    'rls_policy_always_true'::text as name,
    'WARN'::text as level,
    array['SECURITY']::text[] as categories,
    p.table_ident as object,
    pg_catalog.format(
        'Policy "%s" on %s lets %s %s any row: its %s is true.',
        p.policy_name, p.table_ident,
        pg_catalog.array_to_string(p.roles, ', '),
        pg_catalog.lower(case p.command when 'ALL' then 'read and write' else p.command end),
        case
            when p.using_expr = 'true' and p.check_expr = 'true' then 'USING and WITH CHECK'
            when p.using_expr = 'true' then 'USING'
            else 'WITH CHECK'
        end
    ) as detail,
    'Give the policy a condition tying rows to the caller (for example owner_id = '
        '(select auth.uid())), or record why open writes are intended in '
        'advisor.exceptions. See docs/advisor/LG0010.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', p.schema_name,
        'name', p.table_name,
        'type', 'policy',
        'policy', p.policy_name,
        'command', p.command,
        'roles', p.roles
    ) as metadata,
    pg_catalog.format('LG0010:%s:%s', p.table_ident, p.policy_name) as cache_key
from advisor.policies as p
where p.permissive
    and p.command in ('INSERT', 'UPDATE', 'DELETE', 'ALL')
    and p.roles && array['public', 'anon', 'authenticated']
    and (p.using_expr = 'true' or p.check_expr = 'true');

comment on view advisor.lint_0010_rls_policy_always_true is
    'LG0010 (WARN): permissive insert/update/delete/all policies for API roles whose USING '
    'or WITH CHECK is true.';


-- LG0011: materialized views and foreign tables cannot have RLS. In an exposed schema, an API
-- role with select on one reads all of it. Flagged only when such a grant exists: without
-- one, grants are their whole protection and they hold.
create view advisor.lint_0011_rls_unsupported_relation_in_api
with (security_invoker = true)
as
select
    'LG0011'::text as id,
    'rls_unsupported_relation_in_api'::text as name,
    'ERROR'::text as level,
    array['SECURITY']::text[] as categories,
    pg_catalog.format('%I.%I', s.schema_name, c.relname) as object,
    pg_catalog.format(
        '%s %I.%I in the exposed schema %I cannot have row-level security, and %s can '
            'select every row of it.',
        case c.relkind when 'm' then 'Materialized view' else 'Foreign table' end,
        s.schema_name, c.relname, s.schema_name,
        pg_catalog.array_to_string(array(
            select r.rolname::text
            from pg_catalog.pg_roles as r
            where r.rolname in ('anon', 'authenticated')
                and pg_catalog.has_any_column_privilege(r.oid, c.oid, 'select')
            order by 1
        ), ' and ')
    ) as detail,
    'Revoke select from anon and authenticated and serve the data through a table with RLS '
        'or a security_invoker view, or move the relation to an unexposed schema. '
        'See docs/advisor/LG0011.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', s.schema_name,
        'name', c.relname,
        'type', case c.relkind when 'm' then 'materialized view' else 'foreign table' end
    ) as metadata,
    pg_catalog.format('LG0011:%s.%s', s.schema_name, c.relname) as cache_key
from pg_catalog.pg_class as c
join advisor.schema_scope as s
    on s.schema_oid = c.relnamespace
where s.is_exposed
    and c.relkind in ('m', 'f')
    and exists (
        select 1
        from pg_catalog.pg_roles as r
        where r.rolname in ('anon', 'authenticated')
            and pg_catalog.has_schema_privilege(r.oid, c.relnamespace, 'usage')
            and pg_catalog.has_any_column_privilege(r.oid, c.oid, 'select')
    );

comment on view advisor.lint_0011_rls_unsupported_relation_in_api is
    'LG0011 (ERROR): materialized views and foreign tables in an exposed schema that API '
    'roles may select.';


-- Public buckets, read at run time so the advisor loads where Storage is not installed and
-- never pins the platform's table.
create function advisor.public_buckets()
returns table (bucket_id text, bucket_name text)
language plpgsql
stable
set search_path = ''
as $$
begin
    if pg_catalog.to_regclass('storage.buckets') is null then
        return;
    end if;
    return query execute
        'select b.id::text, b.name::text from storage.buckets as b where b.public';
end
$$;

comment on function advisor.public_buckets() is
    'Id and name of each public Storage bucket; none when Storage is not installed.';


-- LG0012: files in a public bucket are served to anyone who knows their URL; a SELECT policy
-- on storage.objects that covers the bucket also lets clients list it, turning unguessable
-- URLs into an index of every file (file names often carry personal data).
create view advisor.lint_0012_public_bucket_allows_listing
with (security_invoker = true)
as
select
    'LG0012'::text as id,
    'public_bucket_allows_listing'::text as name,
    'WARN'::text as level,
    array['SECURITY', 'PRIVACY']::text[] as categories,
    pg_catalog.format('storage.buckets:%s', b.bucket_id) as object,
    pg_catalog.format(
        'Public bucket "%s" can be listed: %s %s on storage.objects %s it, so API roles can '
            'enumerate its files.',
        b.bucket_id,
        case when pg_catalog.count(*) = 1 then 'the SELECT policy' else 'the SELECT policies' end,
        pg_catalog.string_agg(pg_catalog.format('"%s"', p.policy_name), ', '
            order by p.policy_name),
        case when pg_catalog.count(*) = 1 then 'covers' else 'cover' end
    ) as detail,
    'Public buckets need no SELECT policy to serve files by URL: drop or narrow the policy '
        '(for example to the caller''s own folder), or make the bucket private. '
        'See docs/advisor/LG0012.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', 'storage',
        'name', b.bucket_name,
        'type', 'bucket',
        'bucket_id', b.bucket_id,
        'policies', pg_catalog.array_agg(p.policy_name order by p.policy_name)
    ) as metadata,
    pg_catalog.format('LG0012:storage.buckets:%s', b.bucket_id) as cache_key
from advisor.public_buckets() as b
join advisor.policies as p
    on p.schema_name = 'storage'
    and p.table_name = 'objects'
    and p.command in ('SELECT', 'ALL')
    and p.permissive
    and p.roles && array['public', 'anon', 'authenticated']
    -- The policy covers the bucket when it names it, or names no bucket at all.
    and (
        p.using_expr is null
        or p.using_expr !~ '\mbucket_id\M'
        or pg_catalog.strpos(p.using_expr, pg_catalog.quote_literal(b.bucket_id)) > 0
    )
group by b.bucket_id, b.bucket_name;

comment on view advisor.lint_0012_public_bucket_allows_listing is
    'LG0012 (WARN): public Storage buckets covered by a SELECT policy on storage.objects for '
    'API roles.';
