-- Per-database platform objects: ownership, extensions and default privileges as Supabase
-- sets them. Runs as `supabase_admin` in the application database, idempotently.

do $$
begin
    execute format('alter database %I owner to postgres', pg_catalog.current_database());
end
$$;

alter schema public owner to postgres;

create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
alter default privileges in schema extensions
    grant execute on functions to postgres, anon, authenticated, service_role;

create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgtap with schema extensions;
create extension if not exists pgaudit with schema extensions;
create extension if not exists pg_stat_statements with schema extensions;
-- Query texts of every role are for the database owner, not for API users.
revoke all on extensions.pg_stat_statements, extensions.pg_stat_statements_info
    from public, anon, authenticated, service_role;
revoke all on function extensions.pg_stat_statements(boolean),
    extensions.pg_stat_statements_info(), extensions.pg_stat_statements_reset(oid, oid, bigint)
    from public, anon, authenticated, service_role;
grant select on extensions.pg_stat_statements, extensions.pg_stat_statements_info to postgres;
-- Used by `supabase db lint`; available on Supabase, created here by the platform's superuser.
do $$
begin
    if exists (select 1 from pg_catalog.pg_available_extensions where name = 'plpgsql_check') then
        create extension if not exists plpgsql_check with schema extensions;
    end if;
end
$$;
-- pg_cron always installs into its own `cron` schema of the database named by
-- cron.database_name; the project schedules jobs there as `postgres`.
-- Other databases of the cluster (scratch databases of benchmarks) go without it.
do $$
begin
    if pg_catalog.current_database() = pg_catalog.current_setting('cron.database_name') then
        create extension if not exists pg_cron;
        grant usage on schema cron to postgres;
        grant all on all tables in schema cron to postgres;
        grant all on all sequences in schema cron to postgres;
    end if;
end
$$;

-- Supabase grants everything that `postgres` creates in `public` to the API roles by default.
-- The project's migrations must revoke and grant deliberately; this default is reproduced so
-- that forgetting to do so fails here exactly as it would in production. Like Supabase, it is
-- set once, when the database is first prepared (before the migrations table exists), so a
-- migration that changes it is not undone by the next start.
do $$
begin
    if pg_catalog.to_regclass('supabase_migrations.schema_migrations') is null then
        alter default privileges for role postgres in schema public
            grant all on tables to anon, authenticated, service_role;
        alter default privileges for role postgres in schema public
            grant all on sequences to anon, authenticated, service_role;
        alter default privileges for role postgres in schema public
            grant all on functions to anon, authenticated, service_role;
    end if;
end
$$;
grant usage on schema public to anon, authenticated, service_role;

-- Migrations are recorded the way the Supabase CLI records them.
create schema if not exists supabase_migrations;
alter schema supabase_migrations owner to postgres;
create table if not exists supabase_migrations.schema_migrations (
    version text primary key,
    name text,
    statements text[]
);
alter table supabase_migrations.schema_migrations owner to postgres;
