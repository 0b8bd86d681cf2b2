-- LG0008 rls_references_user_metadata: a policy reading user_metadata from the JWT, or
-- raw_user_meta_data from auth.users, is flagged; one reading app_metadata is not.

begin;
set local search_path = public, extensions;
select plan(3);

create table public.advisor_t_docs (id integer primary key, owner_id uuid);
alter table public.advisor_t_docs enable row level security;

create policy "admins by jwt user_metadata"
    on public.advisor_t_docs
    for select
    to authenticated
    using (((select auth.jwt()) -> 'user_metadata' ->> 'role') = 'admin');

create policy "admins by raw_user_meta_data"
    on public.advisor_t_docs
    for delete
    to authenticated
    using (exists (
        select 1
        from auth.users as u
        where u.id = (select auth.uid())
            and u.raw_user_meta_data ->> 'role' = 'admin'
    ));

create policy "admins by app_metadata"
    on public.advisor_t_docs
    for update
    to authenticated
    using (((select auth.jwt()) -> 'app_metadata' ->> 'role') = 'admin');

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0008_rls_references_user_metadata
    where object like '%advisor\_t\_%'),
    array[
        'LG0008:public.advisor_t_docs:admins by jwt user_metadata',
        'LG0008:public.advisor_t_docs:admins by raw_user_meta_data'
    ],
    'LG0008: policies reading user_metadata are flagged, the app_metadata one is not'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0008_rls_references_user_metadata
    where cache_key = 'LG0008:public.advisor_t_docs:admins by jwt user_metadata'),
    'ERROR Policy "admins by jwt user_metadata" on public.advisor_t_docs reads user_metadata, '
        || 'which users can edit themselves, so they can satisfy it at will.',
    'LG0008: the finding is an ERROR naming the policy and the table'
);

select is(
    (select metadata ->> 'command'
    from advisor.lint_0008_rls_references_user_metadata
    where cache_key = 'LG0008:public.advisor_t_docs:admins by raw_user_meta_data'),
    'DELETE',
    'LG0008: the metadata names the policy''s command'
);

select * from finish();
rollback;
