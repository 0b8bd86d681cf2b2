-- Advisor rules: what RLS costs. A policy is part of every query on its table, so a policy
-- that forces a sequential scan or re-evaluates the caller's identity on every row turns
-- into statement timeouts as tables grow: slow for everyone, and a cheap denial of service.


-- LG0013: a column the policy compares with the caller's identity (owner_id = (select
-- auth.uid())) is the filter of every query on the table; without an index whose first
-- column it is, each query reads the whole table. The match is deliberately narrow (see the
-- doc): `column = <identity call or scalar subquery>`, either way round, in USING only.
create view advisor.lint_0013_policy_column_unindexed
with (security_invoker = true)
as
with candidates as (
    select
        p.schema_name,
        p.table_name,
        p.table_ident,
        p.table_oid,
        p.policy_name,
        p.using_expr,
        a.attname::text as column_name,
        a.attnum,
        -- The column name as it appears in the deparsed text, escaped for a regex.
        pg_catalog.regexp_replace(pg_catalog.quote_ident(a.attname),
            '([.^$*+?()[\]{}|\\])', '\\\1', 'g') as col_re
    from advisor.policies as p
    join pg_catalog.pg_class as c
        on c.oid = p.table_oid
        and c.relkind in ('r', 'p')
    join pg_catalog.pg_attribute as a
        on a.attrelid = p.table_oid
        and a.attnum > 0
        and not a.attisdropped
    where p.using_expr is not null
)
select
    'LG0013'::text as id,
    'policy_column_unindexed'::text as name,
    'WARN'::text as level,
    array['PERFORMANCE']::text[] as categories,
    pg_catalog.format('%s.%I', x.table_ident, x.column_name) as object,
    pg_catalog.format(
        'Column %I of %s is compared with the caller''s identity by %s %s but no index '
            'starts with it, so every query on the table scans all of it.',
        x.column_name, x.table_ident,
        case when pg_catalog.count(*) = 1 then 'policy' else 'policies' end,
        pg_catalog.string_agg(pg_catalog.format('"%s"', x.policy_name), ', '
            order by x.policy_name)
    ) as detail,
    pg_catalog.format(
        'Create an index on %s (%I). See docs/advisor/LG0013.md.',
        x.table_ident, x.column_name
    ) as remediation,
    pg_catalog.jsonb_build_object(
        'schema', x.schema_name,
        'name', x.table_name,
        'type', 'column',
        'column', x.column_name,
        'policies', pg_catalog.array_agg(x.policy_name order by x.policy_name)
    ) as metadata,
    pg_catalog.format('LG0013:%s:%s', x.table_ident, x.column_name) as cache_key
from candidates as x
where (
        x.using_expr ~ ('(^|[^[:alnum:]_."])([[:alnum:]_"]+\.)?' || x.col_re
            || '\s*=\s*(\(\s*SELECT\M|auth\.[a-z_]+\(|current_setting\()')
        or x.using_expr ~ ('(auth\.[a-z_]+\(\)|AS [[:alnum:]_"]+\)|current_setting\([^()]*\))'
            || '\s*=\s*([[:alnum:]_"]+\.)?' || x.col_re || '($|[^[:alnum:]_"(])')
    )
    and not exists (
        select 1
        from pg_catalog.pg_index as i
        where i.indrelid = x.table_oid
            and i.indisvalid
            and i.indkey[0] = x.attnum
    )
group by x.schema_name, x.table_name, x.table_ident, x.column_name;

comment on view advisor.lint_0013_policy_column_unindexed is
    'LG0013 (WARN): columns a policy compares with the caller''s identity that no index '
    'starts with.';


-- LG0014: auth.uid(), auth.jwt(), auth.role(), auth.email() and current_setting() called
-- bare in a policy run once for every row the query touches; wrapped in a scalar subquery,
-- (select auth.uid()), they run once per statement as an InitPlan. Unlike a plain text
-- search, the scan reports a bare call even when the same policy also wraps another one.
create view advisor.lint_0014_auth_function_per_row
with (security_invoker = true)
as
select
    'LG0014'::text as id,
    'auth_function_per_row'::text as name,
    'WARN'::text as level,
    array['PERFORMANCE']::text[] as categories,
    x.table_ident as object,
    pg_catalog.format(
        'Policy "%s" on %s calls %s once per row instead of once per statement.',
        x.policy_name, x.table_ident,
        pg_catalog.array_to_string(array(
            select c || '()'
            from pg_catalog.unnest(x.calls) as c
            order by 1
        ), ', ')
    ) as detail,
    'Wrap each call in a scalar subquery, for example (select auth.uid()), so it is '
        'evaluated once per statement. See docs/advisor/LG0014.md.'::text as remediation,
    pg_catalog.jsonb_build_object(
        'schema', x.schema_name,
        'name', x.table_name,
        'type', 'policy',
        'policy', x.policy_name,
        'calls', x.calls
    ) as metadata,
    pg_catalog.format('LG0014:%s:%s', x.table_ident, x.policy_name) as cache_key
from (
    select
        p.schema_name,
        p.table_name,
        p.table_ident,
        p.policy_name,
        array(
            select distinct c
            from pg_catalog.unnest(
                advisor.unwrapped_calls(p.using_expr, w.callees)
                || advisor.unwrapped_calls(p.check_expr, w.callees)
            ) as c
            order by 1
        ) as calls
    from advisor.policies as p
    cross join (
        select array[
            'auth.uid', 'auth.jwt', 'auth.role', 'auth.email', 'current_setting'
        ] as callees
    ) as w
) as x
where pg_catalog.cardinality(x.calls) > 0;

comment on view advisor.lint_0014_auth_function_per_row is
    'LG0014 (WARN): policies calling auth.*() or current_setting() outside a subquery.';
