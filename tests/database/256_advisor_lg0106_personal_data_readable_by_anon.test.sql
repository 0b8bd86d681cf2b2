-- LG0106 personal_data_readable_by_anon: a classified column anon may select (by a table or
-- a column grant) is flagged; the same table's unclassified column, and a classified column
-- of a table anon has no grant on, are not.

begin;
set local search_path = public, extensions;
select plan(3);

create table public.advisor_t_teachers (id integer primary key, name text, cohort text);
grant select on public.advisor_t_teachers to anon;

create table public.advisor_t_schools (id integer primary key, school text, city text);
grant select (id, city) on public.advisor_t_schools to anon;

create table public.advisor_t_closed (id integer primary key, name text);
revoke all on public.advisor_t_closed from anon;

insert into private.data_classification
    (schema_name, table_name, column_name, sensitivity, category)
values
    ('public', 'advisor_t_teachers', 'name', 'MEDIUM', 'identity'),
    ('public', 'advisor_t_schools', 'school', 'MEDIUM', 'employment'),
    ('public', 'advisor_t_closed', 'name', 'MEDIUM', 'identity');

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0106_personal_data_readable_by_anon
    where object like '%advisor\_t\_%'),
    array['LG0106:public.advisor_t_teachers.name'],
    'LG0106: only the classified column anon may select is flagged'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0106_personal_data_readable_by_anon
    where object = 'public.advisor_t_teachers.name'),
    'ERROR anon may select public.advisor_t_teachers.name, classified MEDIUM (identity): '
        || 'unauthenticated callers can read personal data of every row.',
    'LG0106: the finding is an ERROR naming the column and its classification'
);

grant select (school) on public.advisor_t_schools to anon;
select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0106_personal_data_readable_by_anon
    where object like '%advisor\_t\_%'),
    array['LG0106:public.advisor_t_schools.school', 'LG0106:public.advisor_t_teachers.name'],
    'LG0106: a column grant on a classified column is flagged too'
);

select * from finish();
rollback;
