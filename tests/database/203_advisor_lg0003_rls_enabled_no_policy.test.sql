-- LG0003 rls_enabled_no_policy: an exposed table with RLS on and no policy is reported as
-- INFO; one with a policy, and an unexposed one without, are not.

begin;
set local search_path = public, extensions;
select plan(2);

create table public.advisor_t_closed (id integer primary key);
alter table public.advisor_t_closed enable row level security;

create table public.advisor_t_open_to_members (id integer primary key);
alter table public.advisor_t_open_to_members enable row level security;
create policy "members read rows"
    on public.advisor_t_open_to_members
    for select
    to authenticated
    using ((select auth.uid()) is not null);

create table private.advisor_t_closed (id integer primary key);
alter table private.advisor_t_closed enable row level security;

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0003_rls_enabled_no_policy
    where object like '%advisor\_t\_%'),
    array['LG0003:public.advisor_t_closed'],
    'LG0003: only the exposed table with RLS and no policy is reported'
);

select is(
    (select level from advisor.lint_0003_rls_enabled_no_policy
    where object = 'public.advisor_t_closed'),
    'INFO',
    'LG0003: the finding is INFO (the table is closed, not leaking)'
);

select * from finish();
rollback;
