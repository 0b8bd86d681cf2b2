-- Removes the helpers 000_helpers.test.sql installed. They switch roles and must not outlive
-- a test run in any database the suite was pointed at.
set search_path = public, extensions;
select plan(1);

drop schema tests cascade;

select ok(
    pg_catalog.to_regnamespace('tests') is null,
    'cleanup: the tests helper schema is gone after the run'
);

select * from finish();
