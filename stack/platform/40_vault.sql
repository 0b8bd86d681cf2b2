-- A stand-in for Supabase Vault: secrets stored encrypted, readable in clear only through
-- `vault.decrypted_secrets`, which only `postgres` may query: the project's keys are read by
-- its definer functions, and a leaked service-role key must not reach them. The root key
-- sits in a table that no role but the bootstrap superuser can read; on Supabase it lives
-- outside the database altogether.

create schema if not exists vault;
create schema if not exists vault_internal;
revoke all on schema vault_internal from public;

create table if not exists vault_internal.root_key (
    id boolean primary key default true check (id),
    key text not null
);
insert into vault_internal.root_key (key)
values (pg_catalog.encode(extensions.gen_random_bytes(32), 'hex'))
on conflict (id) do nothing;

create table if not exists vault.secrets (
    id uuid primary key default extensions.gen_random_uuid(),
    name text unique,
    description text not null default '',
    secret bytea not null,
    created_at timestamptz not null default pg_catalog.now(),
    updated_at timestamptz not null default pg_catalog.now()
);
revoke all on vault.secrets from public;

-- The secret is encrypted in a plain expression, never as a parameter of a statement that
-- touches a table: pgaudit with log_parameter (and auto_explain) would otherwise write it to
-- the server log. Only its ciphertext reaches the INSERT or UPDATE.
create or replace function vault.create_secret(
    new_secret text,
    new_name text default null,
    new_description text default ''
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    root text;
    sealed bytea;
    new_id uuid;
begin
    select k.key into root from vault_internal.root_key as k;
    sealed := extensions.pgp_sym_encrypt(new_secret, root);
    insert into vault.secrets (name, description, secret)
    values (new_name, new_description, sealed)
    returning id into new_id;
    return new_id;
end
$$;

create or replace function vault.update_secret(
    secret_id uuid,
    new_secret text default null,
    new_name text default null,
    new_description text default null
)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    root text;
    sealed bytea;
begin
    select k.key into root from vault_internal.root_key as k;
    if new_secret is not null then
        sealed := extensions.pgp_sym_encrypt(new_secret, root);
    end if;
    update vault.secrets as s
    set secret = coalesce(sealed, s.secret),
        name = coalesce(new_name, s.name),
        description = coalesce(new_description, s.description),
        updated_at = pg_catalog.now()
    where s.id = secret_id;
end
$$;

create or replace view vault.decrypted_secrets as
select
    s.id,
    s.name,
    s.description,
    extensions.pgp_sym_decrypt(s.secret, k.key) as decrypted_secret,
    s.created_at,
    s.updated_at
from vault.secrets as s
cross join vault_internal.root_key as k;

revoke all on schema vault from public;
grant usage on schema vault to postgres;
revoke usage on schema vault from service_role;
revoke all on vault.decrypted_secrets from public;
grant select on vault.decrypted_secrets to postgres;
revoke all on vault.decrypted_secrets from service_role;
grant select, delete on vault.secrets to postgres;
revoke all on vault.secrets from service_role;
revoke all on function vault.create_secret(text, text, text) from public;
revoke all on function vault.update_secret(uuid, text, text, text) from public;
grant execute on function vault.create_secret(text, text, text) to postgres;
revoke all on function vault.create_secret(text, text, text) from service_role;
grant execute on function vault.update_secret(uuid, text, text, text) to postgres;
revoke all on function vault.update_secret(uuid, text, text, text) from service_role;
