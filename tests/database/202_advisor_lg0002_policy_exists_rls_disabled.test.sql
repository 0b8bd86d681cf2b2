-- LG0002 policy_exists_rls_disabled: a table with policies but RLS disabled is flagged, in
-- any schema; the same table with RLS enabled is not.

begin;
set local search_path = public, extensions;
select plan(3);

create table public.advisor_t_unenforced (id integer primary key, owner_id uuid);
create policy "owners read own rows"
    on public.advisor_t_unenforced
    for select
    to authenticated
    using (owner_id = (select auth.uid()));

create table private.advisor_t_unenforced (id integer primary key);
create policy "anyone reads"
    on private.advisor_t_unenforced
    for select
    to authenticated
    using (true);

create table public.advisor_t_enforced (id integer primary key, owner_id uuid);
alter table public.advisor_t_enforced enable row level security;
create policy "owners read own rows"
    on public.advisor_t_enforced
    for select
    to authenticated
    using (owner_id = (select auth.uid()));

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0002_policy_exists_rls_disabled
    where object like '%advisor\_t\_%'),
    array['LG0002:private.advisor_t_unenforced', 'LG0002:public.advisor_t_unenforced'],
    'LG0002: tables with policies and RLS off are flagged in any schema, not the RLS one'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0002_policy_exists_rls_disabled
    where object = 'public.advisor_t_unenforced'),
    'ERROR Table public.advisor_t_unenforced has 1 row-level security policy (owners read own '
        || 'rows) but RLS is disabled, so none of them is enforced.',
    'LG0002: the finding is an ERROR naming the table and its unenforced policy'
);

alter table public.advisor_t_unenforced enable row level security;
select is_empty(
    $$select 1 from advisor.lint_0002_policy_exists_rls_disabled
      where object = 'public.advisor_t_unenforced'$$,
    'LG0002: enabling RLS clears the finding'
);

select * from finish();
rollback;
