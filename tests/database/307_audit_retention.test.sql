-- Legal holds and the retention of the audit trail.
--
-- Holds are placed and lifted only by legal_hold:manage at aal2, with clear errors for bad
-- input, and are recorded in the audit trail without their reason. The retention job drops
-- whole months past the retention period (log and chain together), keeps a month under a legal
-- hold or with unsealed events, says why, records the drop, and leaves a chain that still
-- verifies. Old months are made here by the owner, inside this rolled-back transaction.

begin;
set local search_path = public, extensions;
select plan(28);

select tests.create_member('t_audit307_admin', 'ADMIN', mfa_verified => true) as admin \gset
select tests.create_member('t_audit307_member') as member \gset


-- Who may place a hold -----------------------------------------------------------------------

select tests.act_as(:'member');
select throws_ok(
    $$select public.place_legal_hold('AUDIT_RANGE', 'Police request 12/2014 about fraud',
        audit_from => '2014-02-10', audit_to => '2014-02-11')$$,
    '42501', null,
    'participant: placing a legal hold is refused (42501)'
);
select tests.act_as(:'admin', 'aal1');
select throws_ok(
    $$select public.place_legal_hold('AUDIT_RANGE', 'Police request 12/2014 about fraud',
        audit_from => '2014-02-10', audit_to => '2014-02-11')$$,
    '42501', null,
    'admin at aal1: placing a legal hold is refused (42501)'
);

select tests.act_as(:'admin', 'aal2');
select throws_ok(
    $$select public.place_legal_hold('AUDIT_RANGE', 'Police request 12/2014 about fraud')$$,
    '22023', 'an audit hold needs audit_from before audit_to and no target_id',
    'admin aal2: an audit hold without its range is refused (22023)'
);
select throws_ok(
    $$select public.place_legal_hold('AUDIT_RANGE', 'short', audit_from => '2014-02-10',
        audit_to => '2014-02-11')$$,
    '22023', 'a legal hold needs a reason of 10 to 1000 characters',
    'admin aal2: a hold without a real reason is refused (22023)'
);
select throws_ok(
    $$select public.place_legal_hold('USER', 'Court order 7/2026 on a dispute',
        target_id => '00000000-0000-0000-0000-000000000307')$$,
    'P0002', null,
    'admin aal2: a hold on a member who does not exist is refused (no_data_found)'
);
select public.place_legal_hold('AUDIT_RANGE', 'Police request 12/2014 about fraud',
    audit_from => '2014-02-10', audit_to => '2014-02-11') as hold \gset
select isnt(:'hold'::uuid, null,
    'admin aal2: places a hold on an audit time range and gets its id');
select tests.clear_actor();

select is(
    (select pg_catalog.jsonb_build_object('actor', l.actor_id, 'reason_named',
        'reason' = any(l.changed_fields), 'reason_value', l.metadata ? 'reason')
    from audit.audit_log as l
    where l.target_type = 'private.legal_holds' and l.target_id = :'hold'
        and l.action = 'insert'),
    pg_catalog.jsonb_build_object('actor', :'admin', 'reason_named', true,
        'reason_value', false),
    'the hold is in the audit trail with its author, its reason named but not copied'
);


-- Old months, made by the owner: January and February 2014 sealed (interleaved in the chain),
-- March 2014 not sealed. -----------------------------------------------------------------------

create table audit_partitions.audit_log_2014_01 partition of audit.audit_log
    for values from ('2014-01-01') to ('2014-02-01');
create table audit_partitions.chain_2014_01 partition of audit.chain
    for values from ('2014-01-01') to ('2014-02-01');
create table audit_partitions.audit_log_2014_02 partition of audit.audit_log
    for values from ('2014-02-01') to ('2014-03-01');
create table audit_partitions.chain_2014_02 partition of audit.chain
    for values from ('2014-02-01') to ('2014-03-01');
create table audit_partitions.audit_log_2014_03 partition of audit.audit_log
    for values from ('2014-03-01') to ('2014-04-01');

-- txid 1 stands for long-finished transactions; the bookmark is reset so the sealer looks.
insert into audit.audit_log (occurred_at, txid, actor_type, action, target_type, target_id)
select
    case when g % 2 = 0 then timestamptz '2014-01-15' else timestamptz '2014-02-15' end,
    1, 'SYSTEM', 'test.old_event', 'test', 'old-' || g
from pg_catalog.generate_series(1, 6) as g;
update audit.chain_head set next_txid = 0;
select audit.seal() > 0 as sealed \gset
insert into audit.audit_log (occurred_at, actor_type, action, target_type, target_id)
values ('2014-03-15', 'SYSTEM', 'test.unsealed_event', 'test', 'old-unsealed');

select is(
    (select v.valid from audit.verify_chain() as v),
    true,
    'before retention the chain, old months included, verifies'
);


-- Who may run retention ----------------------------------------------------------------------

select tests.act_as_service();
select throws_ok('select * from audit.retire_expired_partitions()', '42501', null,
    'service_role: running the retention job is refused (42501)');
select tests.act_as(:'admin', 'aal2');
select throws_ok('select * from audit.retire_expired_partitions()', '42501', null,
    'admin aal2: running the retention job is refused (42501)');
select tests.clear_actor();


-- A dry run changes nothing ---------------------------------------------------------------------

select is(
    (select pg_catalog.array_agg(r.month || ' ' || r.events || ' ' || r.action order by r.month)
    from audit.retire_expired_partitions(dry_run => true) as r),
    array['2014-01-01 3 would drop', '2014-02-01 3 kept', '2014-03-01 1 kept'],
    'dry run: January would go, February (hold) and March (unsealed) stay'
);
select isnt(pg_catalog.to_regclass('audit_partitions.audit_log_2014_01'), null,
    'dry run: the January partition is still there');
select ok(
    (select pg_catalog.bool_or(r.action = 'would drop' and r.month = (pg_catalog.date_trunc(
        'month', pg_catalog.now()) + interval '1 month')::date)
    from audit.retire_expired_partitions(dry_run => true,
        as_of => pg_catalog.now() + interval '11 years') as r),
    'dry run as of eleven years on: next month (made ahead, empty) would be dropped then'
);
select throws_ok(
    $$select * from audit.retire_expired_partitions(
        as_of => pg_catalog.now() + interval '11 years')$$,
    '22023', 'as_of is for dry runs only: retention never runs ahead of time',
    'as_of without a dry run is refused (22023)'
);


-- The job itself ----------------------------------------------------------------------------

create temporary table outcome on commit drop as
select * from audit.retire_expired_partitions();

select is(
    (select pg_catalog.array_agg(o.month || ' ' || o.events || ' ' || o.action
        order by o.month) from outcome as o),
    array['2014-01-01 3 dropped', '2014-02-01 3 kept', '2014-03-01 1 kept'],
    'retention drops only the expired month neither held nor unsealed'
);
select matches(
    (select o.reason from outcome as o where o.month = '2014-02-01'),
    '^legal hold ' || :'hold' || ' \(until lifted\)$',
    'the kept February names the legal hold that keeps it'
);
select is(
    (select o.reason from outcome as o where o.month = '2014-03-01'),
    'holds events not yet sealed into the hash chain',
    'the kept March says it holds unsealed events'
);
select is(
    (select o.reason from outcome as o where o.month = '2014-01-01'),
    'older than the retention period (10 years)',
    'the dropped January gives the retention period as the reason'
);
select ok(
    pg_catalog.to_regclass('audit_partitions.audit_log_2014_01') is null
        and pg_catalog.to_regclass('audit_partitions.chain_2014_01') is null
        and pg_catalog.to_regclass('audit_partitions.audit_log_2014_02') is not null,
    'January''s log and chain partitions are gone, February''s remain'
);
select is(
    (select pg_catalog.sum(r.last_seq - r.first_seq + 1)::integer
    from audit.retired_links as r where r.partition_month = '2014-01-01'),
    3,
    'the three retired positions of January are recorded as retired runs'
);
select is(
    (select l.metadata ->> 'events'
    from audit.audit_log as l
    where l.action = 'audit.partition_retired' and l.target_id = '2014-01'),
    '3',
    'the drop is itself recorded as an event, with the number of events dropped'
);

select audit.seal() >= 0 as sealed_again \gset
select is(
    (select v.valid || ' ' || coalesce(v.problem, '') from audit.verify_chain() as v),
    'true ',
    'after retention the chain still verifies, stepping over the retired runs'
);
select is(
    (select audit.digest_matches(r.first_seq, pg_catalog.repeat('0', 64))
    from audit.retired_links as r where r.partition_month = '2014-01-01'
        and r.last_seq > r.first_seq
    limit 1),
    null::boolean,
    'a digest naming a retired position inside a run cannot be compared (null)'
);


-- Lifting the hold lets February go on the next run -------------------------------------------

select tests.act_as(:'member');
select throws_ok(format('select public.lift_legal_hold(%L)', :'hold'), '42501', null,
    'participant: lifting a legal hold is refused (42501)');
select tests.act_as(:'admin', 'aal2');
select ok(public.lift_legal_hold(:'hold'), 'admin aal2: lifts the hold');
select throws_ok(format('select public.lift_legal_hold(%L)', :'hold'), 'P0002', null,
    'admin aal2: lifting it again is refused (no hold in force)');
select tests.clear_actor();

select is(
    (select pg_catalog.array_agg(r.month || ' ' || r.action order by r.month)
    from audit.retire_expired_partitions() as r),
    array['2014-02-01 dropped', '2014-03-01 kept'],
    'with the hold lifted, February is dropped; March still waits for its seal'
);
select is(
    (select v.valid from audit.verify_chain() as v),
    true,
    'the chain still verifies with both months retired'
);

select * from finish();
rollback;
