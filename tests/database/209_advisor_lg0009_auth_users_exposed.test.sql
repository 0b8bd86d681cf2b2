-- LG0009 auth_users_exposed: a view in an exposed schema that reads auth.users (directly or
-- through another view) and that an API role may select is flagged; one without such a
-- grant, and an invoker view whose readers cannot read auth.users, are not.

begin;
set local search_path = public, extensions;
select plan(3);

create view public.advisor_t_member_emails as
select u.id, u.email from auth.users as u;
grant select on public.advisor_t_member_emails to authenticated;

create view private.advisor_t_emails as
select u.id, u.email from auth.users as u;
create view public.advisor_t_emails_again as
select e.id, e.email from private.advisor_t_emails as e;
grant select on public.advisor_t_emails_again to anon;

create view public.advisor_t_emails_ungranted as
select u.id, u.email from auth.users as u;
revoke all on public.advisor_t_emails_ungranted from anon, authenticated;

create view public.advisor_t_emails_invoker
with (security_invoker = true)
as
select u.id, u.email from auth.users as u;
grant select on public.advisor_t_emails_invoker to authenticated;

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0009_auth_users_exposed
    where object like '%advisor\_t\_%'),
    array[
        'LG0009:public.advisor_t_emails_again',
        'LG0009:public.advisor_t_member_emails'
    ],
    'LG0009: views exposing auth.users to API roles are flagged, directly or through a view; '
        || 'the ungranted view and the invoker view are not'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0009_auth_users_exposed
    where object = 'public.advisor_t_member_emails'),
    'ERROR View public.advisor_t_member_emails in the exposed schema public reads auth.users '
        || 'and authenticated can select from it, exposing account data through the Data API.',
    'LG0009: the finding is an ERROR naming the view and the role that can read it'
);

revoke select on public.advisor_t_member_emails from authenticated;
select is_empty(
    $$select 1 from advisor.lint_0009_auth_users_exposed
      where object = 'public.advisor_t_member_emails'$$,
    'LG0009: revoking select from the API roles clears the finding'
);

select * from finish();
rollback;
