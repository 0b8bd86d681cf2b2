-- With only the anon key, every table and view in the exposed schema `public` returns
-- nothing or is refused. The list is read from the catalogue, so a relation added later
-- without thought is caught here.

begin;
set local search_path = public, extensions;

select plan(
    1 + (
        select count(*)::int
        from pg_catalog.pg_class as c
        where c.relnamespace = 'public'::regnamespace
            and c.relkind in ('r', 'v', 'm', 'p', 'f')
    )
);

-- Rows exist to be leaked: the check is meaningful only if the tables are not empty.
select tests.create_member('t_public_member', visibility => 'PUBLIC') as member \gset
select tests.create_submission(:'member', 'Public work', 'APPROVED', 'PUBLIC') as work \gset
select tests.add_points(:'member', 10) as points \gset

select set_has(
    $$select c.relname::text
    from pg_catalog.pg_class as c
    where c.relnamespace = 'public'::regnamespace
        and c.relkind in ('r', 'v', 'm', 'p', 'f')$$,
    $$values ('users'), ('submissions'), ('submission_attachments'), ('points_ledger'),
        ('badges'), ('earned_badges'), ('leaderboard_totals')$$,
    'anon key: the catalogue loop covers every exposed table and view of the app'
);

select tests.act_as_anon();

select ok(
    o.outcome in ('refused', 'empty'),
    pg_catalog.format(
        'anon key: select from %s (relkind %s) returns nothing or is refused (got: %s)',
        c.oid::regclass, c.relkind, o.outcome
    )
)
from pg_catalog.pg_class as c
cross join lateral (select tests.select_outcome(c.oid::regclass) as outcome) as o
where c.relnamespace = 'public'::regnamespace
    and c.relkind in ('r', 'v', 'm', 'p', 'f')
order by c.relname;

select * from finish();
rollback;
