-- Every SECURITY DEFINER function in schemas public, private, auth, storage and vault pins
-- its search_path, so a caller cannot put their own objects in front of the ones the
-- function means. The project's own functions pin it to '' and qualify every name.

begin;
set local search_path = public, extensions;
select plan(3);

create temporary view definer_functions as
select
    p.oid::regprocedure::text as function_name,
    p.proconfig,
    exists (
        select 1
        from pg_catalog.pg_depend as d
        where d.classid = 'pg_catalog.pg_proc'::regclass
            and d.objid = p.oid
            and d.deptype = 'e'
    ) as from_extension
from pg_catalog.pg_proc as p
where p.prosecdef
    and p.pronamespace::regnamespace::text in ('public', 'private', 'auth', 'storage', 'vault');


-- The check is not vacuous: the project's definer functions are in the list.
select set_has(
    $$select function_name from definer_functions$$,
    $$values
        ('set_user_role(uuid,app_role)'),
        ('set_user_status(uuid,account_status)'),
        ('private.authorize(text)'),
        ('private.session_allowed()'),
        ('private.refresh_leaderboard(uuid)'),
        ('private.create_profile_for_new_user()'),
        ('private.credit_approved_submission()')$$,
    'security definer: the catalogue scan finds the project''s SECURITY DEFINER functions'
);

-- Functions the project and the platform define: search_path pinned to the empty string.
select is(
    (select coalesce(array_agg(function_name order by function_name), '{}')
    from definer_functions
    where not from_extension
        and not coalesce(proconfig @> array['search_path=""'], false)),
    '{}'::text[],
    'security definer: every non-extension SECURITY DEFINER function sets search_path = '''' '
        || '(offenders listed under "have")'
);

-- Functions an extension installs into these schemas (pgaudit's event trigger functions sit
-- in public): their search_path is pinned by the extension, to trusted schemas only.
select is(
    (select coalesce(array_agg(f.function_name order by f.function_name), '{}')
    from definer_functions as f
    where f.from_extension
        and not exists (
            select 1
            from unnest(coalesce(f.proconfig, '{}')) as c(setting)
            where c.setting like 'search_path=%'
                and not exists (
                    select 1
                    from unnest(string_to_array(substr(c.setting, 13), ',')) as s(part)
                    where btrim(part, ' "') not in ('', 'pg_catalog', 'pg_temp')
                )
        )),
    '{}'::text[],
    'security definer: every extension SECURITY DEFINER function pins search_path to '
        || 'pg_catalog/pg_temp at most (offenders listed under "have")'
);

select * from finish();
rollback;
