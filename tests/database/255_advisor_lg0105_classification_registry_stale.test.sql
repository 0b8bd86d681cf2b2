-- LG0105 classification_registry_stale: a registry row naming a column that does not exist
-- is flagged; a row naming an existing column is not; renaming a classified column makes its
-- row stale.

begin;
set local search_path = public, extensions;
select plan(2);

create table public.advisor_t_profiles (id integer primary key, phone text, bio text);

insert into private.data_classification
    (schema_name, table_name, column_name, sensitivity, category)
values
    ('public', 'advisor_t_profiles', 'phone', 'HIGH', 'contact'),
    ('public', 'advisor_t_profiles', 'bio', 'LOW', 'content'),
    ('public', 'advisor_t_missing', 'nik', 'HIGH', 'identity');

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0105_classification_registry_stale
    where object like '%advisor\_t\_%'),
    array['LG0105:public.advisor_t_missing.nik'],
    'LG0105: only the row naming a missing column is flagged'
);

alter table public.advisor_t_profiles rename column phone to phone_number;
select is(
    (select pg_catalog.array_agg(level || ' ' || cache_key order by cache_key)
    from advisor.lint_0105_classification_registry_stale
    where object like '%advisor\_t\_%'),
    array[
        'WARN LG0105:public.advisor_t_missing.nik',
        'WARN LG0105:public.advisor_t_profiles.phone'
    ],
    'LG0105: renaming a classified column makes its row a WARN finding'
);

select * from finish();
rollback;
