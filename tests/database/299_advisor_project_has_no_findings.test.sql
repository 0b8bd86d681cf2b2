-- The project's own schema passes the advisor: no unsuppressed ERROR or WARN finding, and no
-- exception left over after its gap was closed. Offenders are listed under "have".

begin;
set local search_path = public, extensions;
select plan(3);

select is(
    (select coalesce(pg_catalog.array_agg(cache_key || ' ' || detail order by cache_key), '{}')
    from advisor.findings
    where not suppressed
        and level = 'ERROR'),
    '{}'::text[],
    'project: no unsuppressed ERROR finding (offenders under "have")'
);

select is(
    (select coalesce(pg_catalog.array_agg(cache_key || ' ' || detail order by cache_key), '{}')
    from advisor.findings
    where not suppressed
        and level = 'WARN'),
    '{}'::text[],
    'project: no unsuppressed WARN finding (offenders under "have")'
);

select is(
    (select coalesce(pg_catalog.array_agg(cache_key order by cache_key), '{}')
    from advisor.stale_exceptions),
    '{}'::text[],
    'project: every exception still matches a finding; remove the stale ones listed under '
        || '"have" from sql/data/80_advisor_exceptions.sql'
);

select * from finish();
rollback;
