-- Audit capture compares values NULL-aware: a change to or from NULL is a change, and an
-- update that leaves every column as it was records nothing.
--
-- The rows are created in this transaction, so now() is fixed and the updated_at stamps
-- that triggers write do not move: what is recorded is exactly what the statements changed.

begin;
set local search_path = public, extensions;
select plan(11);

select
    tests.create_member('t_audit302_one') as one,
    tests.create_member('t_audit302_two') as two
\gset

-- The changed_fields of the service's update events about one row, oldest first, as text
-- (the fixtures were written by the system).
create function pg_temp.updates(target text, key text)
returns text[]
language sql
as $$
    select coalesce(pg_catalog.array_agg(l.changed_fields::text order by l.id), '{}')
    from audit.audit_log as l
    where l.target_type = target
        and l.target_id = key
        and l.action = 'update'
        and l.actor_type = 'SERVICE'
$$;

select pg_catalog.set_config('request.jwt.claims', '{"role": "service_role"}', true);


-- Service: school and region (personal data) go to NULL, to a value and back to NULL.
update public.users set school = null where id = :'one';
update public.users set school = 'SD Negeri 302' where id = :'one';
update public.users set school = null where id = :'one';

select is(
    pg_temp.updates('public.users', :'one'),
    array['{school}', '{school}', '{school}'],
    'service: users.school value -> null -> value -> null records three changes'
);

update public.users set region = null where id = :'two';
update public.users set region = 'Bali' where id = :'two';
update public.users set region = null where id = :'two';

select is(
    pg_temp.updates('public.users', :'two'),
    array['{region}', '{region}', '{region}'],
    'service: users.region value -> null -> value -> null records three changes'
);

select is(
    (select pg_catalog.count(*)
    from audit.audit_log as l
    where l.target_type = 'public.users' and l.target_id in (:'one', :'two')
        and l.action = 'update' and l.actor_type = 'SERVICE'
        and l.metadata <> '{"new": {}}'::jsonb),
    0::bigint,
    'service: those changes keep no school or region value, not even null'
);


-- Service: cohort (not personal) goes from NULL to a value and back; the new value, null
-- included, is kept.
update public.users set cohort = null where id = :'one';
update public.users set cohort = 'angkatan-302' where id = :'one';
update public.users set cohort = null where id = :'one';

select is(
    (select pg_catalog.array_agg(l.metadata -> 'new' order by l.id)
    from audit.audit_log as l
    where l.target_type = 'public.users' and l.target_id = :'one'
        and l.changed_fields = array['cohort']),
    array['{"cohort": null}', '{"cohort": "angkatan-302"}', '{"cohort": null}']::jsonb[],
    'service: users.cohort value -> null -> value -> null keeps each new value, null as null'
);


-- Updates that change nothing.
create temporary table before_count on commit drop as
select pg_catalog.count(*) as n
from audit.audit_log as l
where l.txid = pg_catalog.pg_current_xact_id()::text::bigint;

create function pg_temp.new_events()
returns bigint
language sql
as $$
    select pg_catalog.count(*) - (select n from before_count)
    from audit.audit_log as l
    where l.txid = pg_catalog.pg_current_xact_id()::text::bigint
$$;

update public.users set school = null where id = :'one';
select is(pg_temp.new_events(), 0::bigint,
    'service: setting a NULL column to NULL again records nothing');

update public.users set name = name, region = region, handle = handle where id = :'one';
select is(pg_temp.new_events(), 0::bigint,
    'service: writing every column back with its own value records nothing');

select tests.create_submission(:'one', 'Audit 302') as submission \gset
truncate before_count;
insert into before_count
select pg_catalog.count(*) from audit.audit_log as l
where l.txid = pg_catalog.pg_current_xact_id()::text::bigint;

update public.submissions set payload = '{"hours": 2}' where id = :'submission';
select is(pg_temp.new_events(), 0::bigint,
    'service: an equal jsonb payload written again records nothing');

update public.submissions set title = title where owner_id = pg_catalog.gen_random_uuid();
select is(pg_temp.new_events(), 0::bigint,
    'service: an update matching no row records nothing');

update public.users set cohort = 'angkatan-302b' where id in (:'one', :'two');
update public.users set cohort = 'angkatan-302b' where id in (:'one', :'two');
select is(pg_temp.new_events(), 2::bigint,
    'service: an update of two rows records two events; repeating it records none');


-- Member: edits their own profile; only what changed is listed.
select pg_catalog.set_config('request.jwt.claims', '', true);
select tests.act_as(:'two');
update public.users set region = 'Bali', school = school where id = :'two';
select tests.clear_actor();

select is(
    (select l.changed_fields
    from audit.audit_log as l
    where l.target_type = 'public.users' and l.target_id = :'two'
    order by l.id desc
    limit 1),
    array['region'],
    'member: null -> value on region is listed, an unchanged school is not'
);

select is(
    (select pg_catalog.count(*)
    from audit.audit_log as l
    where l.target_type = 'public.users' and l.target_id = :'two'
        and l.actor_type = 'USER'),
    1::bigint,
    'member: that edit is one USER event'
);

select * from finish();
rollback;
