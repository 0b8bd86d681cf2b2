-- LG0014 auth_function_per_row: a policy calling auth.uid(), auth.jwt() or current_setting()
-- outside a subquery is flagged, also when it wraps another call; a policy wrapping every
-- call in (select ...) is not, nor one that only mentions a call inside a string.

begin;
set local search_path = public, extensions;
select plan(3);

create table public.advisor_t_posts (id integer primary key, owner_id uuid, team_id uuid);
alter table public.advisor_t_posts enable row level security;

create policy "owners read own posts, bare"
    on public.advisor_t_posts
    for select
    to authenticated
    using (owner_id = auth.uid());

create policy "owners or team read posts, half wrapped"
    on public.advisor_t_posts
    for select
    to authenticated
    using (owner_id = (select auth.uid()) or team_id = auth.uid());

create policy "members add posts, claims read per row"
    on public.advisor_t_posts
    for insert
    to authenticated
    with check (
        owner_id = (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')::uuid
    );

create policy "owners update own posts, wrapped"
    on public.advisor_t_posts
    for update
    to authenticated
    using (owner_id = (select auth.uid()) and (select auth.jwt()) ->> 'aal' = 'aal2')
    with check (owner_id = (select auth.uid()) and 'auth.uid()' <> '');

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0014_auth_function_per_row
    where object like '%advisor\_t\_%'),
    array[
        'LG0014:public.advisor_t_posts:members add posts, claims read per row',
        'LG0014:public.advisor_t_posts:owners or team read posts, half wrapped',
        'LG0014:public.advisor_t_posts:owners read own posts, bare'
    ],
    'LG0014: policies with a bare call are flagged (also next to a wrapped one); the fully '
        || 'wrapped policy is not'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0014_auth_function_per_row
    where cache_key = 'LG0014:public.advisor_t_posts:owners or team read posts, half wrapped'),
    'WARN Policy "owners or team read posts, half wrapped" on public.advisor_t_posts calls '
        || 'auth.uid() once per row instead of once per statement.',
    'LG0014: the finding is a WARN naming the policy and the bare call'
);

select is(
    (select metadata -> 'calls'
    from advisor.lint_0014_auth_function_per_row
    where cache_key = 'LG0014:public.advisor_t_posts:members add posts, claims read per row'),
    '["current_setting"]'::jsonb,
    'LG0014: a bare current_setting() in WITH CHECK is reported in the metadata'
);

select * from finish();
rollback;
