-- LG0010 rls_policy_always_true: a permissive write policy for an API role whose USING or
-- WITH CHECK is true is flagged; a read policy using true, a restrictive policy using true,
-- a write policy with a condition, and one for a server-side role are not.

begin;
set local search_path = public, extensions;
select plan(2);

create table public.advisor_t_notes (id integer primary key, owner_id uuid);
alter table public.advisor_t_notes enable row level security;

create policy "anyone updates notes"
    on public.advisor_t_notes
    for update
    to authenticated
    using (owner_id = (select auth.uid()))
    with check (true);

create policy "anyone inserts notes"
    on public.advisor_t_notes
    for insert
    to anon
    with check (true);

create policy "everyone reads notes"
    on public.advisor_t_notes
    for select
    to authenticated
    using (true);

create policy "always allowed"
    on public.advisor_t_notes
    as restrictive
    for all
    to authenticated
    using (true);

create policy "owners delete own notes"
    on public.advisor_t_notes
    for delete
    to authenticated
    using (owner_id = (select auth.uid()));

create policy "auth service writes notes"
    on public.advisor_t_notes
    for all
    to supabase_auth_admin
    using (true);

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0010_rls_policy_always_true
    where object like '%advisor\_t\_%'),
    array[
        'LG0010:public.advisor_t_notes:anyone inserts notes',
        'LG0010:public.advisor_t_notes:anyone updates notes'
    ],
    'LG0010: only the permissive write policies for API roles with a true expression are '
        || 'flagged'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0010_rls_policy_always_true
    where cache_key = 'LG0010:public.advisor_t_notes:anyone updates notes'),
    'WARN Policy "anyone updates notes" on public.advisor_t_notes lets authenticated update '
        || 'any row: its WITH CHECK is true.',
    'LG0010: the finding is a WARN naming the policy, its roles and the true expression'
);

select * from finish();
rollback;
