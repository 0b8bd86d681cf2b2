-- The security advisor: the DBA's lint of the live schema.
--
-- Each rule is one view, advisor.lint_<nnnn>_<name>, reading the system catalogs and the
-- project's registries and returning one row per finding with a fixed set of columns (id,
-- name, level, categories, object, detail, remediation, metadata, cache_key). Rules live in
-- sql/61_advisor_rules_*.sql, one file per concern, and each has docs/advisor/<id>.md.
-- advisor.findings gathers every rule and marks what a reviewed exception suppresses.
--
-- This file also holds the two registries the privacy rules read, in schema private:
-- private.data_classification (which columns hold personal data, and how sensitive) and
-- private.retention_rules (how long personal data is kept). Their rows live in sql/data/.
--
-- The schema is for the DBA and server-side tools only: it is not exposed through the Data
-- API, and only postgres and service_role may read it.


create schema if not exists advisor;
comment on schema advisor is
    'Security advisor: one view per lint rule, their union in advisor.findings, and the '
    'reviewed exceptions. Never exposed through the Data API; postgres and service_role only.';

revoke all on schema advisor from public, anon, authenticated;
grant usage on schema advisor to postgres, service_role;

-- Rule views and helpers created later (sql/61_*) are readable by service_role without a
-- grant of their own; nothing here is ever granted to anon or authenticated.
alter default privileges for role postgres in schema advisor
    grant select on tables to service_role;
alter default privileges for role postgres in schema advisor
    revoke execute on functions from public;
alter default privileges for role postgres in schema advisor
    grant execute on functions to service_role;


-- Registries --------------------------------------------------------------------------------

create table private.data_classification (
    schema_name text not null,
    table_name text not null,
    column_name text not null,
    sensitivity text not null
        check (sensitivity in ('HIGH', 'MEDIUM', 'LOW')),
    category text not null
        check (category ~ '^[a-z_]+$'),
    note text,
    primary key (schema_name, table_name, column_name)
);

comment on table private.data_classification is
    'Columns holding personal data and how sensitive they are. The advisor, and later '
    'encryption, audit redaction and data exports, read it. Rows: '
    'sql/data/20_data_classification.sql.';
comment on column private.data_classification.sensitivity is
    'HIGH: contact or identity data whose leak enables fraud (email, phone, NIK, NPWP, bank '
    'account); must be stored encrypted. MEDIUM: identifies a person (full name, address, '
    'birth date, school). LOW: pseudonymous or self-published (handle, avatar, bio).';
comment on column private.data_classification.category is
    'Kind of data, lowercase (contact, identity, employment, location, pseudonym, content, '
    'file); lets exports and redaction group columns.';


create table private.retention_rules (
    schema_name text not null,
    table_name text not null,
    retention interval
        check (retention > interval '0'),
    basis text not null
        check (pg_catalog.length(basis) between 1 and 200),
    description text not null,
    primary key (schema_name, table_name)
);

comment on table private.retention_rules is
    'How long the rows of a table holding personal data are kept. Retention jobs read this '
    'table; the advisor (LG0103) reports personal-data tables that have no rule here.';
comment on column private.retention_rules.retention is
    'How long a row is kept after the event named in basis; null when basis alone decides '
    '(for example "until the account is erased").';
comment on column private.retention_rules.basis is
    'The event the retention period runs from, for example "account deletion" or '
    '"submission decided". Never the row''s creation time alone for member data.';

revoke all on private.data_classification, private.retention_rules
    from public, anon, authenticated;
grant select on private.data_classification, private.retention_rules to service_role;


-- Exceptions --------------------------------------------------------------------------------

create table advisor.exceptions (
    cache_key text primary key
        check (cache_key ~ '^LG[0-9]{4}:.+'),
    reason text not null
        check (pg_catalog.length(reason) >= 10),
    reviewer text not null
        check (pg_catalog.length(reviewer) >= 1),
    created_at timestamptz not null default pg_catalog.now()
);

comment on table advisor.exceptions is
    'Reviewed decisions not to report one finding, matched on its cache_key. Rows: '
    'sql/data/80_advisor_exceptions.sql. A known gap is recorded here with the condition '
    'for removing the exception, never a defect that could be fixed now.';
comment on column advisor.exceptions.cache_key is
    'The cache_key of the suppressed finding, "<rule id>:<schema>.<object>[:<detail>]".';
comment on column advisor.exceptions.reason is
    'Why the finding is accepted for now, and what removes the need for the exception.';

revoke all on advisor.exceptions from public, anon, authenticated;
grant select on advisor.exceptions to service_role;


-- Scope -------------------------------------------------------------------------------------

-- Schemas served by the Data API. `public` always is (supabase/config.toml [api] schemas).
-- A deployment that exposes more declares them to PostgREST as pgrst.db_schemas on the
-- authenticator role, or the caller names them for one session in advisor.exposed_schemas
-- (npm run advisor passes the schemas of config.toml). Either can only add schemas, never
-- hide public: a setting cannot make a finding disappear.
create function advisor.exposed_schemas()
returns text[]
language sql
stable
set search_path = ''
as $$
    select pg_catalog.array_agg(distinct pg_catalog.btrim(s.name) order by pg_catalog.btrim(s.name))
    from (
        select 'public' as name
        union all
        select pg_catalog.unnest(pg_catalog.string_to_array(
            pg_catalog.current_setting('advisor.exposed_schemas', true), ','))
        union all
        select pg_catalog.unnest(pg_catalog.string_to_array(pg_catalog.substr(c.setting, 18), ','))
        from pg_catalog.pg_db_role_setting as drs
        join pg_catalog.pg_roles as r
            on r.oid = drs.setrole
        cross join lateral pg_catalog.unnest(drs.setconfig) as c(setting)
        where r.rolname = 'authenticator'
            and drs.setdatabase in (0, (
                select d.oid
                from pg_catalog.pg_database as d
                where d.datname = pg_catalog.current_database()
            ))
            and c.setting like 'pgrst.db\_schemas=%'
    ) as s
    where pg_catalog.btrim(s.name) <> ''
$$;

comment on function advisor.exposed_schemas() is
    'Schemas served by the Data API: public, plus pgrst.db_schemas of the authenticator role, '
    'plus the session setting advisor.exposed_schemas (comma-separated).';


-- Schemas the platform (Supabase) owns and migrates: the project's rules about its own code
-- (function hygiene, personal data) skip them, because the project cannot change them.
-- Rules about what clients can reach still look at any exposed schema.
create function advisor.platform_schemas()
returns text[]
language sql
immutable
set search_path = ''
as $$
    select array[
        'auth', 'storage', 'vault', 'vault_internal', 'extensions', 'cron',
        'supabase_migrations', 'supabase_functions', 'realtime', '_realtime', 'graphql',
        'graphql_public', 'pgsodium', 'pgsodium_masks', 'pgbouncer', 'net', '_analytics'
    ]
$$;

comment on function advisor.platform_schemas() is
    'Schemas owned by the Supabase platform; rules about the project''s own code skip them.';


create view advisor.schema_scope
with (security_invoker = true)
as
select
    n.oid as schema_oid,
    n.nspname::text as schema_name,
    n.nspname = any (advisor.exposed_schemas()) as is_exposed,
    n.nspname = any (advisor.platform_schemas()) as is_platform,
    n.nspname in ('pg_catalog', 'information_schema', 'advisor')
        or n.nspname ~ '^pg_(toast|temp_|toast_temp_)' as is_system
from pg_catalog.pg_namespace as n;

comment on view advisor.schema_scope is
    'Every schema and how the rules treat it: exposed through the Data API, owned by the '
    'platform, or a system schema (catalogs, temporary schemas, the advisor itself) that no '
    'rule looks at.';
comment on column advisor.schema_scope.is_system is
    'pg_catalog, information_schema, toast and temporary schemas, and advisor: never linted.';


-- Expression helpers --------------------------------------------------------------------------

-- With an empty search_path every name outside pg_catalog prints schema-qualified
-- (auth.uid(), public.app_role), so the pattern rules read the same text whatever the
-- caller's own search_path is.
create function advisor.deparse(expr pg_catalog.pg_node_tree, relation oid)
returns text
language sql
stable
set search_path = ''
as $$
    select pg_catalog.pg_get_expr(expr, relation)
$$;

comment on function advisor.deparse(pg_catalog.pg_node_tree, oid) is
    'pg_get_expr() with an empty search_path: names outside pg_catalog are schema-qualified.';


-- Which of the given calls occur outside every subquery of a deparsed expression. A call in
-- a scalar subquery, `( SELECT auth.uid() AS uid)`, becomes an InitPlan and runs once per
-- statement; a bare call runs once per row. The scan skips string literals and quoted
-- identifiers and tracks which parenthesis opens a subquery (SELECT or WITH after it).
create function advisor.unwrapped_calls(expr text, callees text[])
returns text[]
language plpgsql
immutable
set search_path = ''
as $$
declare
    found text[] := '{}'::text[];
    -- One entry per open parenthesis: does it open a subquery?
    opens_subquery boolean[] := '{}'::boolean[];
    subquery_depth integer := 0;
    n integer := coalesce(pg_catalog.length(expr), 0);
    i integer := 1;
    ch text;
    quote text;
    callee text;
    top integer;
begin
    while i <= n loop
        ch := pg_catalog.substr(expr, i, 1);
        if ch in ('''', '"') then
            -- Skip to the closing quote; a doubled quote is an escaped one.
            quote := ch;
            i := i + 1;
            while i <= n loop
                if pg_catalog.substr(expr, i, 1) = quote then
                    exit when pg_catalog.substr(expr, i + 1, 1) <> quote;
                    i := i + 1;
                end if;
                i := i + 1;
            end loop;
        elsif ch = '(' then
            opens_subquery := opens_subquery
                || (pg_catalog.substr(expr, i + 1, 40) ~* '^\s*(select|with)\M');
            if opens_subquery[pg_catalog.cardinality(opens_subquery)] then
                subquery_depth := subquery_depth + 1;
            end if;
        elsif ch = ')' then
            top := pg_catalog.cardinality(opens_subquery);
            if top > 0 then
                if opens_subquery[top] then
                    subquery_depth := subquery_depth - 1;
                end if;
                opens_subquery := opens_subquery[1:top - 1];
            end if;
        elsif subquery_depth = 0
            and (i = 1 or pg_catalog.substr(expr, i - 1, 1) !~ '[[:alnum:]_]')
        then
            foreach callee in array callees loop
                if pg_catalog.substr(expr, i, pg_catalog.length(callee) + 1) = callee || '('
                    and not callee = any (found)
                then
                    found := found || callee;
                end if;
            end loop;
        end if;
        i := i + 1;
    end loop;
    return found;
end
$$;

comment on function advisor.unwrapped_calls(text, text[]) is
    'The calls among callees (e.g. auth.uid) that a deparsed expression makes outside any '
    'subquery, i.e. once per row rather than once per statement.';


-- Whether reloptions turn security_invoker on (stored as written: true, on, 1, yes...).
create function advisor.is_security_invoker(options text[])
returns boolean
language sql
immutable
set search_path = ''
as $$
    select coalesce(
        pg_catalog.bool_or(pg_catalog.split_part(o.opt, '=', 2)::boolean)
            filter (where pg_catalog.split_part(o.opt, '=', 1) = 'security_invoker'),
        false
    )
    from pg_catalog.unnest(options) as o(opt)
$$;


-- A function's signature with schema-qualified types, the same whatever the search_path:
-- cache keys built from it stay stable.
create function advisor.function_signature(function_oid oid)
returns text
language sql
stable
set search_path = ''
as $$
    select function_oid::pg_catalog.regprocedure::text
$$;


-- Catalog helpers ----------------------------------------------------------------------------

create view advisor.policies
with (security_invoker = true)
as
select
    s.schema_name,
    c.relname::text as table_name,
    c.oid as table_oid,
    pg_catalog.format('%I.%I', s.schema_name, c.relname) as table_ident,
    p.polname::text as policy_name,
    case p.polcmd
        when 'r' then 'SELECT'
        when 'a' then 'INSERT'
        when 'w' then 'UPDATE'
        when 'd' then 'DELETE'
        else 'ALL'
    end as command,
    p.polpermissive as permissive,
    array(
        select case when r.oid = 0 then 'public' else pg_catalog.pg_get_userbyid(r.oid)::text end
        from pg_catalog.unnest(p.polroles) as r(oid)
        order by 1
    ) as roles,
    advisor.deparse(p.polqual, p.polrelid) as using_expr,
    advisor.deparse(p.polwithcheck, p.polrelid) as check_expr,
    s.is_exposed,
    s.is_platform
from pg_catalog.pg_policy as p
join pg_catalog.pg_class as c
    on c.oid = p.polrelid
join advisor.schema_scope as s
    on s.schema_oid = c.relnamespace
where not s.is_system;

comment on view advisor.policies is
    'Every RLS policy outside system schemas, with its expressions deparsed schema-qualified.';
comment on column advisor.policies.roles is
    'Role names the policy applies to; "public" means every role.';


-- Relations a view or materialized view reads, directly or through other (plain) views. A
-- view read through another view is checked as that outer view's owner unless the outer one
-- is security_invoker, so what matters is everything reachable.
create view advisor.view_dependencies
with (security_invoker = true)
as
with recursive reach (view_oid, relation_oid) as (
    select
        v.oid,
        d.refobjid
    from pg_catalog.pg_class as v
    join advisor.schema_scope as s
        on s.schema_oid = v.relnamespace
    join pg_catalog.pg_rewrite as r
        on r.ev_class = v.oid
    join pg_catalog.pg_depend as d
        on d.classid = 'pg_catalog.pg_rewrite'::regclass
        and d.objid = r.oid
        and d.refclassid = 'pg_catalog.pg_class'::regclass
        and d.refobjid <> v.oid
    where v.relkind in ('v', 'm')
        and not s.is_system
    union
    select
        reach.view_oid,
        d.refobjid
    from reach
    join pg_catalog.pg_class as inner_view
        on inner_view.oid = reach.relation_oid
        and inner_view.relkind = 'v'
    join pg_catalog.pg_rewrite as r
        on r.ev_class = inner_view.oid
    join pg_catalog.pg_depend as d
        on d.classid = 'pg_catalog.pg_rewrite'::regclass
        and d.objid = r.oid
        and d.refclassid = 'pg_catalog.pg_class'::regclass
        and d.refobjid <> inner_view.oid
)
select
    view_oid,
    relation_oid
from reach;

comment on view advisor.view_dependencies is
    'Each view or materialized view (outside system schemas) and every relation it reads, '
    'directly or through plain views.';


-- Tables holding personal data: those with at least one classified column that exists.
create view advisor.personal_data_tables
with (security_invoker = true)
as
select
    c.oid as table_oid,
    dc.schema_name,
    dc.table_name,
    pg_catalog.format('%I.%I', dc.schema_name, dc.table_name) as table_ident,
    pg_catalog.array_agg(dc.column_name order by dc.column_name) as columns,
    s.is_platform
from private.data_classification as dc
join pg_catalog.pg_namespace as n
    on n.nspname = dc.schema_name
join pg_catalog.pg_class as c
    on c.relnamespace = n.oid
    and c.relname = dc.table_name
    and c.relkind in ('r', 'p')
join pg_catalog.pg_attribute as a
    on a.attrelid = c.oid
    and a.attname = dc.column_name
    and a.attnum > 0
    and not a.attisdropped
join advisor.schema_scope as s
    on s.schema_oid = n.oid
group by c.oid, dc.schema_name, dc.table_name, s.is_platform;

comment on view advisor.personal_data_tables is
    'Tables with at least one existing column in private.data_classification.';


-- Findings ----------------------------------------------------------------------------------

-- The row every rule view returns; the catalogue test (tests/database/200_advisor_catalogue)
-- checks each view against it.
create type advisor.finding as (
    id text,
    name text,
    level text,
    categories text[],
    object text,
    detail text,
    remediation text,
    metadata jsonb,
    cache_key text
);

comment on type advisor.finding is
    'One finding: rule id and name, level, categories, the object at fault, a sentence naming '
    'it and the problem, the remediation, rule-specific metadata, and a stable cache_key.';


-- Every rule view, found by name, so a new rule cannot be left out of the report.
create function advisor.run_lints()
returns setof advisor.finding
language plpgsql
stable
set search_path = ''
as $$
declare
    rule_view regclass;
begin
    for rule_view in
        select c.oid::regclass
        from pg_catalog.pg_class as c
        where c.relnamespace = 'advisor'::regnamespace
            and c.relkind = 'v'
            and c.relname ~ '^lint_[0-9]{4}_[a-z0-9_]+$'
        order by c.relname
    loop
        return query execute pg_catalog.format(
            'select id, name, level, categories, object, detail, remediation, metadata, '
            'cache_key from %s',
            rule_view
        );
    end loop;
end
$$;

comment on function advisor.run_lints() is
    'The rows of every rule view advisor.lint_<nnnn>_<name>, in rule order.';


create view advisor.findings
with (security_invoker = true)
as
select
    l.id,
    l.name,
    l.level,
    l.categories,
    l.object,
    l.detail,
    l.remediation,
    l.metadata,
    l.cache_key,
    e.cache_key is not null as suppressed,
    e.reason as suppressed_reason
from advisor.run_lints() as l
left join advisor.exceptions as e
    on e.cache_key = l.cache_key;

comment on view advisor.findings is
    'Every finding of every rule; suppressed when a reviewed exception names its cache_key. '
    'npm run advisor reports the unsuppressed ones and counts the others.';
comment on column advisor.findings.suppressed_reason is
    'The reason recorded in advisor.exceptions; null when the finding is reported.';


create view advisor.stale_exceptions
with (security_invoker = true)
as
select
    e.cache_key,
    e.reason,
    e.reviewer,
    e.created_at
from advisor.exceptions as e
where not exists (
    select 1
    from advisor.run_lints() as l
    where l.cache_key = e.cache_key
);

comment on view advisor.stale_exceptions is
    'Exceptions that match no current finding: the gap was closed or the object renamed. '
    'Remove them from sql/data/80_advisor_exceptions.sql.';


revoke all on all tables in schema advisor from public, anon, authenticated;
revoke all on all functions in schema advisor from public, anon, authenticated;
grant select on all tables in schema advisor to service_role;
grant execute on all functions in schema advisor to service_role;
