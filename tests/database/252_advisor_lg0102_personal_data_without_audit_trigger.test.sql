-- LG0102 personal_data_without_audit_trigger: a table with a classified column and no
-- enabled trigger whose function lives in schema audit is flagged; one with such a trigger
-- is not; disabling the trigger brings the finding back.

begin;
set local search_path = public, extensions;
select plan(3);

create schema if not exists audit;
create function audit.advisor_t_record_change()
returns trigger
language plpgsql
set search_path = ''
as $$ begin return null; end $$;

create table public.advisor_t_unaudited (id integer primary key, name text);
create table public.advisor_t_audited (id integer primary key, name text);
create trigger advisor_t_audit
    after insert or update or delete on public.advisor_t_audited
    for each row execute function audit.advisor_t_record_change();

insert into private.data_classification
    (schema_name, table_name, column_name, sensitivity, category)
values
    ('public', 'advisor_t_unaudited', 'name', 'MEDIUM', 'identity'),
    ('public', 'advisor_t_audited', 'name', 'MEDIUM', 'identity');

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0102_personal_data_without_audit_trigger
    where object like '%advisor\_t\_%'),
    array['LG0102:public.advisor_t_unaudited'],
    'LG0102: the personal-data table without an audit trigger is flagged, the audited one '
        || 'is not'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0102_personal_data_without_audit_trigger
    where object = 'public.advisor_t_unaudited'),
    'WARN Table public.advisor_t_unaudited holds personal data (name) but no enabled trigger '
        || 'records its changes in the audit trail (schema audit).',
    'LG0102: the finding is a WARN naming the table and its classified columns'
);

alter table public.advisor_t_audited disable trigger advisor_t_audit;
select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0102_personal_data_without_audit_trigger
    where object like '%advisor\_t\_%'),
    array['LG0102:public.advisor_t_audited', 'LG0102:public.advisor_t_unaudited'],
    'LG0102: a disabled audit trigger does not count'
);

select * from finish();
rollback;
