-- regional_rule_keys: written by hand (a generated column needs its function first, which
-- the schema diff does not order). Matching a profile's region to a rule normalised every
-- name and alias of every rule on each submission; the keys are now stored with the rule.

-- Every key a rule answers to: its name's and its aliases'.
create function private.region_keys(name text, aliases text[])
returns text[]
language sql
immutable
set search_path = ''
as $$
    select pg_catalog.array_agg(distinct private.region_key(n))
    from pg_catalog.unnest(aliases || name) as n
$$;


alter table private.regional_rules
    add column name_keys text[] generated always as (private.region_keys(name, aliases)) stored;

create or replace function private.regional_rule(region text)
returns private.regional_rules
language sql
stable
security definer
set search_path = ''
as $$
    select r.*
    from private.regional_rules as r
    where private.region_key(region) = any(r.name_keys)
    limit 1
$$;

revoke all on function private.region_keys(text, text[]) from public, anon;
