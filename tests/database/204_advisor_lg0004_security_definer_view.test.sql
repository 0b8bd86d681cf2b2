-- LG0004 security_definer_view: a view in an exposed schema without security_invoker that
-- reads an RLS table, directly or through another view, is flagged; an invoker view, and a
-- definer view over a table without RLS, are not.

begin;
set local search_path = public, extensions;
select plan(3);

create table private.advisor_t_secret (id integer primary key, owner_id uuid);
alter table private.advisor_t_secret enable row level security;
create table private.advisor_t_plain (id integer primary key);

create view public.advisor_t_definer_view as
select id from private.advisor_t_secret;

create view public.advisor_t_invoker_view
with (security_invoker = on)
as
select id from private.advisor_t_secret;

-- Read through the invoker view, the table is still checked as the outer view's owner.
create view public.advisor_t_definer_over_invoker as
select id from public.advisor_t_invoker_view;

create view public.advisor_t_definer_plain as
select id from private.advisor_t_plain;

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0004_security_definer_view
    where object like '%advisor\_t\_%'),
    array[
        'LG0004:public.advisor_t_definer_over_invoker',
        'LG0004:public.advisor_t_definer_view'
    ],
    'LG0004: definer views reaching an RLS table are flagged, directly or through a view; '
        || 'the invoker view and the definer view over a table without RLS are not'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0004_security_definer_view
    where object = 'public.advisor_t_definer_view'),
    'ERROR View public.advisor_t_definer_view runs with its owner''s rights (security_invoker '
        || 'is off) and reads private.advisor_t_secret, which has row-level security: callers '
        || 'of the view bypass those policies.',
    'LG0004: the finding is an ERROR naming the view and the RLS table it bypasses'
);

alter view public.advisor_t_definer_view set (security_invoker = true);
select is_empty(
    $$select 1 from advisor.lint_0004_security_definer_view
      where object = 'public.advisor_t_definer_view'$$,
    'LG0004: setting security_invoker clears the finding'
);

select * from finish();
rollback;
