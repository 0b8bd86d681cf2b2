-- LG0001 rls_disabled_in_public: a table in an exposed schema without row-level security is
-- flagged, whatever its grants; one with RLS, and one without RLS in an unexposed schema,
-- are not.

begin;
set local search_path = public, extensions;
select plan(3);

create table public.advisor_t_no_rls (id integer primary key);
create table public.advisor_t_with_rls (id integer primary key);
alter table public.advisor_t_with_rls enable row level security;
create table private.advisor_t_no_rls (id integer primary key);

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0001_rls_disabled_in_public
    where object like '%advisor\_t\_%'),
    array['LG0001:public.advisor_t_no_rls'],
    'LG0001: only the public table without RLS is flagged (not the RLS one, not private)'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0001_rls_disabled_in_public
    where object = 'public.advisor_t_no_rls'),
    'ERROR Table public.advisor_t_no_rls is in the exposed schema public but row-level '
        || 'security is disabled, so every API role with a grant on it reads and writes all '
        || 'of its rows.',
    'LG0001: the finding is an ERROR whose detail names the table and the problem'
);

grant select on public.advisor_t_no_rls to anon;
select is(
    (select metadata -> 'api_roles_with_grants'
    from advisor.lint_0001_rls_disabled_in_public
    where object = 'public.advisor_t_no_rls'),
    '["anon"]'::jsonb,
    'LG0001: the metadata lists the API roles holding grants on the table'
);

select * from finish();
rollback;
