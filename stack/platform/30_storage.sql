-- A stand-in for the tables Supabase Storage keeps in the database. Objects' bytes live in the
-- storage service; these rows are what RLS on `storage.objects` decides over.

create schema if not exists storage authorization supabase_storage_admin;
grant usage on schema storage to postgres, anon, authenticated, service_role;

create table if not exists storage.buckets (
    id text primary key,
    name text not null unique,
    owner uuid,
    public boolean not null default false,
    file_size_limit bigint,
    allowed_mime_types text[],
    created_at timestamptz not null default pg_catalog.now(),
    updated_at timestamptz not null default pg_catalog.now()
);

create table if not exists storage.objects (
    id uuid primary key default extensions.gen_random_uuid(),
    bucket_id text references storage.buckets (id),
    name text,
    owner uuid,
    owner_id text,
    metadata jsonb,
    path_tokens text[] generated always as (pg_catalog.string_to_array(name, '/')) stored,
    version text,
    created_at timestamptz not null default pg_catalog.now(),
    updated_at timestamptz not null default pg_catalog.now(),
    last_accessed_at timestamptz default pg_catalog.now(),
    unique (bucket_id, name)
);

alter table storage.buckets owner to supabase_storage_admin;
alter table storage.objects owner to supabase_storage_admin;
alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;
grant all on storage.buckets, storage.objects to postgres, service_role;
grant select, insert, update, delete on storage.buckets, storage.objects to anon, authenticated;

create or replace function storage.foldername(name text)
returns text[]
language sql
immutable
as $$
    select (pg_catalog.string_to_array(name, '/'))[1:pg_catalog.array_length(
        pg_catalog.string_to_array(name, '/'), 1) - 1]
$$;

create or replace function storage.filename(name text)
returns text
language sql
immutable
as $$
    select (pg_catalog.string_to_array(name, '/'))[pg_catalog.array_length(
        pg_catalog.string_to_array(name, '/'), 1)]
$$;

create or replace function storage.extension(name text)
returns text
language sql
immutable
as $$
    select pg_catalog.reverse(
        pg_catalog.split_part(pg_catalog.reverse(storage.filename(name)), '.', 1)
    )
$$;

alter function storage.foldername(text) owner to supabase_storage_admin;
alter function storage.filename(text) owner to supabase_storage_admin;
alter function storage.extension(text) owner to supabase_storage_admin;
