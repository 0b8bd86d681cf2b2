-- LG0005 function_search_path_mutable: a SECURITY DEFINER function without a pinned
-- search_path is flagged, in exposed and unexposed schemas; one with search_path = '' and an
-- invoker function without one are not.

begin;
set local search_path = public, extensions;
select plan(2);

create function public.advisor_t_definer_unpinned()
returns integer
language sql
security definer
as $$ select 1 $$;

create function private.advisor_t_definer_unpinned()
returns integer
language sql
security definer
as $$ select 1 $$;

create function public.advisor_t_definer_pinned()
returns integer
language sql
security definer
set search_path = ''
as $$ select 1 $$;

create function public.advisor_t_invoker_unpinned()
returns integer
language sql
as $$ select 1 $$;

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0005_function_search_path_mutable
    where object like '%advisor\_t\_%'),
    array[
        'LG0005:private.advisor_t_definer_unpinned()',
        'LG0005:public.advisor_t_definer_unpinned()'
    ],
    'LG0005: definer functions without a pinned search_path are flagged, not the pinned one '
        || 'nor the invoker one'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0005_function_search_path_mutable
    where object = 'public.advisor_t_definer_unpinned()'),
    'WARN SECURITY DEFINER function public.advisor_t_definer_unpinned() does not pin its '
        || 'search_path, so it resolves names through the caller''s search_path with its '
        || 'owner''s rights.',
    'LG0005: the finding is a WARN naming the function'
);

select * from finish();
rollback;
