-- Cluster-wide roles that Supabase provides and a project must never create itself.
-- Runs as the bootstrap superuser `supabase_admin`, once per cluster. Every statement is
-- idempotent so that `npm start` can re-apply the platform layer after an upgrade.

do $$
declare
    r record;
begin
    for r in
        select *
        from (
            values
                ('anon', 'nologin noinherit'),
                ('authenticated', 'nologin noinherit'),
                ('service_role', 'nologin noinherit bypassrls'),
                ('authenticator', 'login noinherit'),
                ('supabase_auth_admin', 'nologin noinherit createrole'),
                ('supabase_storage_admin', 'nologin noinherit createrole'),
                -- As on Supabase: the owner of the application schema is not a superuser, so
                -- anything in a migration that needs superuser rights fails here too.
                ('postgres', 'login createrole createdb replication bypassrls')
        ) as t(name, options)
    loop
        if not exists (select 1 from pg_catalog.pg_roles where rolname = r.name) then
            execute format('create role %I %s', r.name, r.options);
        end if;
    end loop;
end
$$;

alter role postgres nosuperuser;

grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;
grant supabase_auth_admin, supabase_storage_admin to postgres;

-- PostgREST times out client statements; the same limits keep a runaway policy visible here.
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

-- As on Supabase, the owner's sessions find extension functions without a schema prefix.
alter role postgres set search_path to "$user", public, extensions;
alter role supabase_admin set search_path to "$user", public, extensions;
