-- The registry of where personal data lives (sql/81_personal_data_registry.sql) covers the
-- schema: every column of public, private and audit that refers to a member (a foreign key to
-- a users table, or a uuid named like one) is located or excluded with a reason. A new table
-- with a member foreign key shows up as unregistered until it is added, so this file fails,
-- naming it, the day someone forgets.

begin;
set local search_path = public, extensions;
select plan(5);

select is_empty(
    $$select schema_name || '.' || table_name || '.' || column_name
      from private.unregistered_member_columns$$,
    'every column that refers to a member is in personal_data_locations or excluded'
);

select is_empty(
    $$select l.schema_name || '.' || l.table_name || '.' || l.subject_column
      from private.personal_data_locations as l
      where not exists (select 1 from private.member_reference_columns as r
                        where r.schema_name = l.schema_name and r.table_name = l.table_name
                            and r.column_name = l.subject_column)$$,
    'every registered location is a real column that refers to a member'
);

select ok(
    (select pg_catalog.bool_and(l.export_section is not null)
    from private.personal_data_locations as l
    where 'delete' in (l.on_pseudonymise, l.on_erase) or l.on_pseudonymise = 'pseudonymise'),
    'every location erasure touches has an export section: export and erasure cover the same data'
);

create table public.t340_notes (
    id bigint primary key,
    author uuid references public.users (id),
    member_id uuid
);
select set_eq(
    $$select table_name || '.' || column_name from private.unregistered_member_columns$$,
    array['t340_notes.author', 't340_notes.member_id'],
    'a new table with a member foreign key (or a member-like uuid) is reported unregistered'
);

insert into private.personal_data_exclusions (schema_name, table_name, column_name, reason)
values ('public', 't340_notes', 'member_id', 'test: the editor is a service account id');
select set_eq(
    $$select table_name || '.' || column_name from private.unregistered_member_columns$$,
    array['t340_notes.author'],
    'an exclusion with a reason takes a column off the list'
);

select * from finish();
rollback;
