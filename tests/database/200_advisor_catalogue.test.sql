-- The advisor as a whole: every rule view has the fixed column set and an id and name that
-- match its view name; advisor.findings gathers every rule and honours exceptions; the
-- schema is closed to the API roles. Each rule's own behaviour is tested in 2NN_advisor_*.

begin;
set local search_path = public, extensions;
select plan(14);

create temporary view rule_views as
select
    c.oid,
    c.relname::text as view_name,
    'LG' || pg_catalog.substr(c.relname, 6, 4) as rule_id,
    pg_catalog.substr(c.relname, 11) as rule_name,
    pg_catalog.pg_get_viewdef(c.oid) as definition
from pg_catalog.pg_class as c
where c.relnamespace = 'advisor'::regnamespace
    and c.relkind = 'v'
    and c.relname like 'lint\_%';


-- Shape ------------------------------------------------------------------------------------

select ok(
    (select pg_catalog.count(*) from rule_views) >= 20,
    'catalogue: the advisor has at least 20 rule views'
);

select is(
    (select coalesce(pg_catalog.array_agg(view_name order by view_name), '{}')
    from rule_views
    where view_name !~ '^lint_[0-9]{4}_[a-z0-9_]+$'),
    '{}'::text[],
    'catalogue: every rule view is named lint_<nnnn>_<name> (offenders under "have")'
);

select is(
    (select coalesce(pg_catalog.array_agg(v.view_name order by v.view_name), '{}')
    from rule_views as v
    where array(
        select a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
        from pg_catalog.pg_attribute as a
        where a.attrelid = v.oid
            and a.attnum > 0
        order by a.attnum
    ) <> array(
        select a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
        from pg_catalog.pg_attribute as a
        where a.attrelid = 'advisor.finding'::regclass
            and a.attnum > 0
        order by a.attnum
    )),
    '{}'::text[],
    'catalogue: every rule view returns exactly the columns of advisor.finding, in order and '
        || 'with their types (offenders under "have")'
);

select is(
    array(
        select a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
        from pg_catalog.pg_attribute as a
        where a.attrelid = 'advisor.finding'::regclass
            and a.attnum > 0
        order by a.attnum
    ),
    array[
        'id text', 'name text', 'level text', 'categories text[]', 'object text',
        'detail text', 'remediation text', 'metadata jsonb', 'cache_key text'
    ],
    'catalogue: a finding is id, name, level, categories, object, detail, remediation, '
        || 'metadata, cache_key'
);

select is(
    (select coalesce(pg_catalog.array_agg(view_name order by view_name), '{}')
    from rule_views
    where pg_catalog.strpos(definition, pg_catalog.format('%L::text AS id', rule_id)) = 0
        or pg_catalog.strpos(definition, pg_catalog.format('%L::text AS name', rule_name)) = 0
        or definition !~ '''(ERROR|WARN|INFO)''::text AS level'
        or pg_catalog.strpos(definition, pg_catalog.format('docs/advisor/%s.md', rule_id)) = 0),
    '{}'::text[],
    'catalogue: every rule view returns the id and name of its view name, a constant level, '
        || 'and points to docs/advisor/<id>.md (offenders under "have")'
);

select is(
    (select coalesce(pg_catalog.array_agg(view_name order by view_name), '{}')
    from rule_views
    where pg_catalog.strpos(
        coalesce(pg_catalog.obj_description(oid, 'pg_class'), ''),
        rule_id || ' ('
            || pg_catalog.substring(definition, '''(ERROR|WARN|INFO)''::text AS level')
            || '): '
    ) <> 1),
    '{}'::text[],
    'catalogue: every rule view has a comment starting with "<id> (<level>): " '
        || '(offenders under "have")'
);

select is(
    (select pg_catalog.count(distinct rule_id) from rule_views),
    (select pg_catalog.count(*) from rule_views),
    'catalogue: no two rule views share an id'
);


-- Findings and exceptions ----------------------------------------------------------------

create table public.advisor_t_open (id integer primary key);
create table public.advisor_t_excused (id integer primary key);

select is(
    (select pg_catalog.array_agg(cache_key || ' ' || suppressed::text order by cache_key)
    from advisor.findings
    where object like 'public.advisor\_t\_%'),
    array['LG0001:public.advisor_t_excused false', 'LG0001:public.advisor_t_open false'],
    'findings: a rule''s finding appears in advisor.findings, not suppressed'
);

insert into advisor.exceptions (cache_key, reason, reviewer)
values
    ('LG0001:public.advisor_t_excused', 'fixture: accepted for the test', 'tests'),
    ('LG0001:public.advisor_t_gone', 'fixture: matches no finding', 'tests');

select is(
    (select pg_catalog.array_agg(cache_key || ' ' || suppressed::text order by cache_key)
    from advisor.findings
    where object like 'public.advisor\_t\_%'),
    array['LG0001:public.advisor_t_excused true', 'LG0001:public.advisor_t_open false'],
    'findings: an exception suppresses exactly the finding whose cache_key it names'
);

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.stale_exceptions
    where cache_key like 'LG0001:public.advisor\_t\_%'),
    array['LG0001:public.advisor_t_gone'],
    'findings: an exception that matches no finding is listed in advisor.stale_exceptions'
);


-- Exposed schemas --------------------------------------------------------------------------

do $$
begin
    perform pg_catalog.set_config('advisor.exposed_schemas', 'private, graphql_public', true);
end
$$;
select is(
    advisor.exposed_schemas(),
    array['graphql_public', 'private', 'public'],
    'scope: advisor.exposed_schemas adds the schemas named in the session setting'
);

do $$
begin
    perform pg_catalog.set_config('advisor.exposed_schemas', '', true);
end
$$;
select is(
    advisor.exposed_schemas(),
    array['public'],
    'scope: an empty setting cannot take public out of the exposed schemas'
);


-- Privileges -------------------------------------------------------------------------------

select is(
    array[
        has_schema_privilege('anon', 'advisor', 'usage'),
        has_schema_privilege('authenticated', 'advisor', 'usage'),
        has_schema_privilege('service_role', 'advisor', 'usage')
    ],
    array[false, false, true],
    'privileges: anon and authenticated cannot use schema advisor; service_role can'
);

select tests.act_as_service();
select lives_ok(
    'select pg_catalog.count(*) from advisor.findings',
    'privileges: service_role reads advisor.findings'
);

select * from finish();
rollback;
