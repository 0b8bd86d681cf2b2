-- LG0006 anon_security_definer_function_executable: a SECURITY DEFINER function anon may
-- execute is flagged; the same function without the grant, a trigger function granted to
-- anon, and an invoker function granted to anon are not.

begin;
set local search_path = public, extensions;
select plan(3);

create function public.advisor_t_for_anon()
returns integer
language sql
security definer
set search_path = ''
as $$ select 1 $$;
grant execute on function public.advisor_t_for_anon() to anon;

create function public.advisor_t_not_for_anon()
returns integer
language sql
security definer
set search_path = ''
as $$ select 1 $$;
revoke all on function public.advisor_t_not_for_anon() from public, anon;

create function public.advisor_t_trigger_fn()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$ begin return new; end $$;
grant execute on function public.advisor_t_trigger_fn() to anon;

create function public.advisor_t_invoker_for_anon()
returns integer
language sql
set search_path = ''
as $$ select 1 $$;
grant execute on function public.advisor_t_invoker_for_anon() to anon;

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0006_anon_security_definer_function_executable
    where object like '%advisor\_t\_%'),
    array['LG0006:public.advisor_t_for_anon()'],
    'LG0006: only the definer function anon may execute is flagged'
);

select is(
    (select level
    from advisor.lint_0006_anon_security_definer_function_executable
    where object = 'public.advisor_t_for_anon()'),
    'WARN',
    'LG0006: the finding is a WARN'
);

revoke execute on function public.advisor_t_for_anon() from anon;
select is_empty(
    $$select 1 from advisor.lint_0006_anon_security_definer_function_executable
      where object = 'public.advisor_t_for_anon()'$$,
    'LG0006: revoking execute from anon clears the finding'
);

select * from finish();
rollback;
