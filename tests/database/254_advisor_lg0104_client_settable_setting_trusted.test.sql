-- LG0104 client_settable_setting_trusted: a policy or a project function reading an app.*
-- setting is flagged; a function reading request.jwt.claims (set by the gateway from a
-- verified token) and a policy using auth.uid() are not.

begin;
set local search_path = public, extensions;
select plan(3);

create function private.advisor_t_role_from_setting()
returns text
language plpgsql
stable
set search_path = ''
as $$
begin
    return pg_catalog.current_setting('app.current_user_role', true);
end
$$;

create function private.advisor_t_claims()
returns jsonb
language sql
stable
set search_path = ''
as $$
    select pg_catalog.current_setting('request.jwt.claims', true)::jsonb
$$;

create table public.advisor_t_reports (id integer primary key, owner_id uuid);
alter table public.advisor_t_reports enable row level security;

create policy "admins by setting"
    on public.advisor_t_reports
    for select
    to authenticated
    using ((select current_setting('app.current_user_role', true)) = 'ADMIN');

create policy "owners read own reports"
    on public.advisor_t_reports
    for select
    to authenticated
    using (owner_id = (select auth.uid()));

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0104_client_settable_setting_trusted
    where object like '%advisor\_t\_%'),
    array[
        'LG0104:private.advisor_t_role_from_setting()',
        'LG0104:public.advisor_t_reports:admins by setting'
    ],
    'LG0104: the function and the policy reading app.* are flagged; the request.jwt.claims '
        || 'function and the auth.uid() policy are not'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0104_client_settable_setting_trusted
    where object = 'private.advisor_t_role_from_setting()'),
    'ERROR Function private.advisor_t_role_from_setting() reads the client-settable setting '
        || 'app.current_user_role.',
    'LG0104: the function finding is an ERROR naming the function and the setting'
);

select is(
    (select detail
    from advisor.lint_0104_client_settable_setting_trusted
    where cache_key = 'LG0104:public.advisor_t_reports:admins by setting'),
    'Policy "admins by setting" on public.advisor_t_reports reads the client-settable setting '
        || 'app.current_user_role.',
    'LG0104: the policy finding names the policy, the table and the setting'
);

select * from finish();
rollback;
