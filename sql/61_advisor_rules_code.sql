-- Advisor rules: code that runs with privileges. SECURITY DEFINER functions, extensions that
-- put objects where the Data API serves them, and code that trusts settings a client can
-- set. These rules look at the project's own code: objects of platform schemas and of
-- extensions are skipped, since the project cannot change them (docs/advisor/README.md).


-- LG0005: a SECURITY DEFINER function without a pinned search_path resolves unqualified
-- names through the caller's search_path, so a caller who can create objects earlier on the
-- path runs their own code with the owner's rights.
create view advisor.lint_0005_function_search_path_mutable
with (security_invoker = true)
as
select
    'LG0005'::text as id,
    'function_search_path_mutable'::text as name,
    'WARN'::text as level,
    array['SECURITY']::text[] as categories,
    advisor.function_signature(p.oid) as object,
    pg_catalog.format(
        'SECURITY DEFINER function %s does not pin its search_path, so it resolves names '
            'through the caller''s search_path with its owner''s rights.',
        advisor.function_signature(p.oid)
    ) as detail,
    'Add set search_path = '''' to the function and schema-qualify every name in its body. '
        'See docs/advisor/LG0005.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', s.schema_name,
        'name', p.proname,
        'type', 'function',
        'owner', pg_catalog.pg_get_userbyid(p.proowner)
    ) as metadata,
    pg_catalog.format('LG0005:%s', advisor.function_signature(p.oid)) as cache_key
from pg_catalog.pg_proc as p
join advisor.schema_scope as s
    on s.schema_oid = p.pronamespace
where p.prosecdef
    and not s.is_system
    and not s.is_platform
    and not exists (
        select 1
        from pg_catalog.pg_depend as d
        where d.classid = 'pg_catalog.pg_proc'::regclass
            and d.objid = p.oid
            and d.deptype = 'e'
    )
    and not exists (
        select 1
        from pg_catalog.unnest(p.proconfig) as c(setting)
        where c.setting like 'search\_path=%'
    );

comment on view advisor.lint_0005_function_search_path_mutable is
    'LG0005 (WARN): SECURITY DEFINER functions of the project without a pinned search_path.';


-- LG0006: anyone holding the public anon key can call a function anon may execute; a
-- SECURITY DEFINER one then runs with its owner's rights for an unauthenticated caller.
-- Trigger functions are left out: they cannot be called directly.
create view advisor.lint_0006_anon_security_definer_function_executable
with (security_invoker = true)
as
select
    'LG0006'::text as id,
    'anon_security_definer_function_executable'::text as name,
    'WARN'::text as level,
    array['SECURITY']::text[] as categories,
    advisor.function_signature(p.oid) as object,
    pg_catalog.format(
        'SECURITY DEFINER function %s can be executed by anon, so unauthenticated callers '
            'run it with the rights of %s.',
        advisor.function_signature(p.oid), pg_catalog.pg_get_userbyid(p.proowner)
    ) as detail,
    'Revoke execute on the function from public and anon, grant it to the roles that need '
        'it, or make it SECURITY INVOKER. See docs/advisor/LG0006.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', s.schema_name,
        'name', p.proname,
        'type', 'function',
        'owner', pg_catalog.pg_get_userbyid(p.proowner)
    ) as metadata,
    pg_catalog.format('LG0006:%s', advisor.function_signature(p.oid)) as cache_key
from pg_catalog.pg_proc as p
join advisor.schema_scope as s
    on s.schema_oid = p.pronamespace
join pg_catalog.pg_roles as anon
    on anon.rolname = 'anon'
where p.prosecdef
    and not s.is_system
    and (s.is_exposed or not s.is_platform)
    and p.prorettype not in ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype)
    and pg_catalog.has_schema_privilege(anon.oid, p.pronamespace, 'usage')
    and pg_catalog.has_function_privilege(anon.oid, p.oid, 'execute')
    and not exists (
        select 1
        from pg_catalog.pg_depend as d
        where d.classid = 'pg_catalog.pg_proc'::regclass
            and d.objid = p.oid
            and d.deptype = 'e'
    );

comment on view advisor.lint_0006_anon_security_definer_function_executable is
    'LG0006 (WARN): SECURITY DEFINER functions that anon may execute.';


-- LG0007: objects an extension installs into an exposed schema become part of the API
-- (functions are callable as RPC) and sit on every search_path that includes public. What
-- counts is where the extension's objects are: pg_cron, for one, records the schema it was
-- created from but puts everything into its own schema cron.
create view advisor.lint_0007_extension_in_public
with (security_invoker = true)
as
select
    'LG0007'::text as id,
    'extension_in_public'::text as name,
    'WARN'::text as level,
    array['SECURITY']::text[] as categories,
    pg_catalog.format('extension:%s', e.extname) as object,
    pg_catalog.format(
        'Extension %s installs %s %s into the exposed schema %s, where the Data API serves '
            'them.',
        e.extname, pg_catalog.count(*),
        case when pg_catalog.count(*) = 1 then 'object' else 'objects' end,
        pg_catalog.string_agg(distinct o.schema_name, ', ')
    ) as detail,
    'Install the extension into schema extensions (drop and create it with schema '
        'extensions, or alter extension ... set schema extensions). '
        'See docs/advisor/LG0007.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', pg_catalog.min(o.schema_name),
        'name', e.extname,
        'type', 'extension',
        'objects', (pg_catalog.array_agg(o.identity order by o.identity))[1:20]
    ) as metadata,
    pg_catalog.format('LG0007:extension:%s', e.extname) as cache_key
from pg_catalog.pg_extension as e
join pg_catalog.pg_depend as d
    on d.refclassid = 'pg_catalog.pg_extension'::regclass
    and d.refobjid = e.oid
    and d.deptype = 'e'
cross join lateral (
    select
        i.schema as schema_name,
        i.identity
    from pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid) as i
) as o
join advisor.schema_scope as s
    on s.schema_name = o.schema_name
where s.is_exposed
    and e.extname <> 'plpgsql'
group by e.extname;

comment on view advisor.lint_0007_extension_in_public is
    'LG0007 (WARN): extensions with objects in an exposed schema.';


-- LG0104: a custom setting such as app.current_user_role can be set by any session
-- (set app.x = ..., set_config()), so code that decides access from it trusts the caller's
-- word. Only request.jwt.* is set by the API gateway from a verified token.
create view advisor.lint_0104_client_settable_setting_trusted
with (security_invoker = true)
as
select
    'LG0104'::text as id,
    'client_settable_setting_trusted'::text as name,
    'ERROR'::text as level,
    array['SECURITY']::text[] as categories,
    f.object,
    f.detail,
    'Decide from the caller''s verified identity (auth.uid(), a role-of-record table read by a '
        'helper) instead of a setting the client can set. '
        'See docs/advisor/LG0104.md.'::text as remediation,
    f.metadata,
    pg_catalog.format('LG0104:%s', f.key_suffix) as cache_key
from (
    select
        p.table_ident as object,
        pg_catalog.format(
            'Policy "%s" on %s reads the client-settable setting %s.',
            p.policy_name, p.table_ident,
            pg_catalog.array_to_string(array(
                select distinct m[1]
                from pg_catalog.regexp_matches(
                    coalesce(p.using_expr, '') || ' ' || coalesce(p.check_expr, ''),
                    'current_setting\(\s*''(app\.[^'']*)''', 'gi') as m
                order by 1
            ), ', ')
        ) as detail,
        pg_catalog.jsonb_build_object(
            'schema', p.schema_name,
            'name', p.table_name,
            'type', 'policy',
            'policy', p.policy_name
        ) as metadata,
        p.table_ident || ':' || p.policy_name as key_suffix
    from advisor.policies as p
    where coalesce(p.using_expr, '') || ' ' || coalesce(p.check_expr, '')
        ~* 'current_setting\(\s*''app\.'
    union all
    select
        advisor.function_signature(fn.oid),
        pg_catalog.format(
            'Function %s reads the client-settable setting %s.',
            advisor.function_signature(fn.oid),
            pg_catalog.array_to_string(array(
                select distinct m[1]
                from pg_catalog.regexp_matches(
                    fn.prosrc, 'current_setting\s*\(\s*E?''(app\.[^'']*)''', 'gi') as m
                order by 1
            ), ', ')
        ),
        pg_catalog.jsonb_build_object(
            'schema', s.schema_name,
            'name', fn.proname,
            'type', 'function'
        ),
        advisor.function_signature(fn.oid)
    from pg_catalog.pg_proc as fn
    join advisor.schema_scope as s
        on s.schema_oid = fn.pronamespace
    join pg_catalog.pg_language as l
        on l.oid = fn.prolang
    where not s.is_system
        and not s.is_platform
        and l.lanname not in ('c', 'internal')
        and fn.prosrc ~* 'current_setting\s*\(\s*E?''app\.'
        and not exists (
            select 1
            from pg_catalog.pg_depend as d
            where d.classid = 'pg_catalog.pg_proc'::regclass
                and d.objid = fn.oid
                and d.deptype = 'e'
        )
) as f;

comment on view advisor.lint_0104_client_settable_setting_trusted is
    'LG0104 (ERROR): policies and project functions that read app.* settings, which any '
    'session can set.';
