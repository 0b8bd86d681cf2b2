-- LG0007 extension_in_public: an extension whose objects sit in an exposed schema is flagged;
-- one installed into schema extensions is not, and neither is pg_cron, which records public
-- as its schema but puts its objects into schema cron.

begin;
set local search_path = public, extensions;
select plan(3);

-- citext and seg are trusted extensions: the database owner may create them.
create extension citext with schema public;
create extension seg with schema extensions;

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0007_extension_in_public
    where object in ('extension:citext', 'extension:seg', 'extension:pgcrypto')),
    array['LG0007:extension:citext'],
    'LG0007: the extension created in public is flagged, not those in schema extensions'
);

select is(
    (select level || ' ' || (metadata ->> 'schema')
    from advisor.lint_0007_extension_in_public
    where object = 'extension:citext'),
    'WARN public',
    'LG0007: the finding is a WARN and names the exposed schema'
);

select is_empty(
    $$select 1 from advisor.lint_0007_extension_in_public where object = 'extension:pg_cron'$$,
    'LG0007: pg_cron (objects in schema cron) is not flagged'
);

select * from finish();
rollback;
