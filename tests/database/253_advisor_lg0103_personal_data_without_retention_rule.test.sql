-- LG0103 personal_data_without_retention_rule: a table with a classified column and no row
-- in private.retention_rules is flagged; one with a rule is not; a table without classified
-- columns is not.

begin;
set local search_path = public, extensions;
select plan(2);

create table public.advisor_t_kept_forever (id integer primary key, school text);
create table public.advisor_t_kept_a_year (id integer primary key, school text);
create table public.advisor_t_no_personal_data (id integer primary key, school text);

insert into private.data_classification
    (schema_name, table_name, column_name, sensitivity, category)
values
    ('public', 'advisor_t_kept_forever', 'school', 'MEDIUM', 'employment'),
    ('public', 'advisor_t_kept_a_year', 'school', 'MEDIUM', 'employment');

insert into private.retention_rules (schema_name, table_name, retention, basis, description)
values
    ('public', 'advisor_t_kept_a_year', interval '1 year', 'account deletion',
        'fixture: removed a year after the member''s account is deleted');

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0103_personal_data_without_retention_rule
    where object like '%advisor\_t\_%'),
    array['LG0103:public.advisor_t_kept_forever'],
    'LG0103: only the personal-data table without a retention rule is flagged'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0103_personal_data_without_retention_rule
    where object = 'public.advisor_t_kept_forever'),
    'WARN Table public.advisor_t_kept_forever holds personal data (school) but '
        || 'private.retention_rules says nothing about how long its rows are kept.',
    'LG0103: the finding is a WARN naming the table and its classified columns'
);

select * from finish();
rollback;
