-- LG0013 policy_column_unindexed: a column a policy's USING compares with the caller's
-- identity (either way round) is flagged when no index starts with it; the same column with
-- an index, a column compared with a constant, and a column only in WITH CHECK are not.

begin;
set local search_path = public, extensions;
select plan(3);

create table public.advisor_t_tasks (
    id integer primary key,
    owner_id uuid,
    assignee_id uuid,
    team_id uuid,
    author_id uuid,
    status text
);
alter table public.advisor_t_tasks enable row level security;
create index advisor_t_tasks_team_idx on public.advisor_t_tasks (team_id, status);

create policy "owners read own tasks"
    on public.advisor_t_tasks
    for select
    to authenticated
    using (owner_id = (select auth.uid()) and status = 'open');

create policy "assignees read assigned tasks"
    on public.advisor_t_tasks
    for select
    to authenticated
    using ((select auth.uid()) = assignee_id);

create policy "team members read team tasks"
    on public.advisor_t_tasks
    for select
    to authenticated
    using (team_id = (select auth.uid()));

create policy "members add tasks they author"
    on public.advisor_t_tasks
    for insert
    to authenticated
    with check (author_id = (select auth.uid()));

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0013_policy_column_unindexed
    where object like '%advisor\_t\_%'),
    array[
        'LG0013:public.advisor_t_tasks:assignee_id',
        'LG0013:public.advisor_t_tasks:owner_id'
    ],
    'LG0013: identity-compared columns without an index are flagged; the indexed column, '
        || 'the column compared with a constant and the WITH CHECK column are not'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0013_policy_column_unindexed
    where object = 'public.advisor_t_tasks.owner_id'),
    'WARN Column owner_id of public.advisor_t_tasks is compared with the caller''s identity by '
        || 'policy "owners read own tasks" but no index starts with it, so every query on the '
        || 'table scans all of it.',
    'LG0013: the finding is a WARN naming the column, the table and the policy'
);

create index advisor_t_tasks_owner_idx on public.advisor_t_tasks (owner_id);
select is_empty(
    $$select 1 from advisor.lint_0013_policy_column_unindexed
      where object = 'public.advisor_t_tasks.owner_id'$$,
    'LG0013: an index starting with the column clears the finding'
);

select * from finish();
rollback;
