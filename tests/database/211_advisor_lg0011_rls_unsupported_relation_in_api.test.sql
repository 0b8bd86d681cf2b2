-- LG0011 rls_unsupported_relation_in_api: a materialized view (or foreign table) in an
-- exposed schema that an API role may select is flagged; one without such a grant, and one in
-- an unexposed schema, are not. Foreign tables need a foreign data wrapper, which only a
-- superuser can create: that case runs only where one is available to the test role.

begin;
set local search_path = public, extensions;
select plan(4);

create materialized view public.advisor_t_totals as
select 1 as total;
grant select on public.advisor_t_totals to authenticated;

create materialized view public.advisor_t_totals_ungranted as
select 1 as total;
revoke all on public.advisor_t_totals_ungranted from anon, authenticated;

create materialized view private.advisor_t_totals as
select 1 as total;
grant select on private.advisor_t_totals to authenticated;

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0011_rls_unsupported_relation_in_api
    where object like '%advisor\_t\_%'),
    array['LG0011:public.advisor_t_totals'],
    'LG0011: only the exposed materialized view an API role may select is flagged'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0011_rls_unsupported_relation_in_api
    where object = 'public.advisor_t_totals'),
    'ERROR Materialized view public.advisor_t_totals in the exposed schema public cannot have '
        || 'row-level security, and authenticated can select every row of it.',
    'LG0011: the finding is an ERROR naming the relation and the role that reads it'
);

revoke select on public.advisor_t_totals from authenticated;
select is_empty(
    $$select 1 from advisor.lint_0011_rls_unsupported_relation_in_api
      where object = 'public.advisor_t_totals'$$,
    'LG0011: revoking select from the API roles clears the finding'
);

-- A foreign table, where a wrapper usable by this role exists.
do $$
declare
    wrapper name := (
        select w.fdwname
        from pg_catalog.pg_foreign_data_wrapper as w
        where pg_catalog.has_foreign_data_wrapper_privilege(w.oid, 'usage')
        order by w.fdwname
        limit 1
    );
begin
    if wrapper is not null then
        execute pg_catalog.format(
            'create server advisor_t_server foreign data wrapper %I', wrapper);
        execute 'create foreign table public.advisor_t_remote (id integer) '
            'server advisor_t_server';
        execute 'grant select on public.advisor_t_remote to anon';
    end if;
end
$$;

select case
    when pg_catalog.to_regclass('public.advisor_t_remote') is null then
        skip('no foreign data wrapper is usable by the test role (creating one needs a '
            || 'superuser)', 1)
    else
        is(
            (select cache_key
            from advisor.lint_0011_rls_unsupported_relation_in_api
            where object = 'public.advisor_t_remote'),
            'LG0011:public.advisor_t_remote',
            'LG0011: a foreign table in public that anon may select is flagged'
        )
end;

select * from finish();
rollback;
