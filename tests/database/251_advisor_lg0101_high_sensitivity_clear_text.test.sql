-- LG0101 high_sensitivity_clear_text: a column classified HIGH stored as text is flagged; a
-- HIGH column stored as bytea ciphertext, a MEDIUM text column, and auth.users.email (HIGH,
-- but owned by the platform) are not.

begin;
set local search_path = public, extensions;
select plan(3);

create table public.advisor_t_contacts (
    id integer primary key,
    email text,
    phone_encrypted bytea,
    full_name varchar(200)
);

insert into private.data_classification
    (schema_name, table_name, column_name, sensitivity, category)
values
    ('public', 'advisor_t_contacts', 'email', 'HIGH', 'contact'),
    ('public', 'advisor_t_contacts', 'phone_encrypted', 'HIGH', 'contact'),
    ('public', 'advisor_t_contacts', 'full_name', 'MEDIUM', 'identity');

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0101_high_sensitivity_clear_text
    where object like '%advisor\_t\_%' or object like 'auth.%'),
    array['LG0101:public.advisor_t_contacts.email'],
    'LG0101: only the HIGH text column is flagged (not bytea, not MEDIUM, not auth.users)'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0101_high_sensitivity_clear_text
    where object = 'public.advisor_t_contacts.email'),
    'ERROR Column public.advisor_t_contacts.email is classified HIGH (contact) but is stored '
        || 'in clear text as text.',
    'LG0101: the finding is an ERROR naming the column, its category and its type'
);

select ok(
    exists (
        select 1
        from private.data_classification
        where schema_name = 'auth' and table_name = 'users' and column_name = 'email'
            and sensitivity = 'HIGH'
    ),
    'LG0101: auth.users.email is in the registry as HIGH, and skipped as platform-owned'
);

select * from finish();
rollback;
