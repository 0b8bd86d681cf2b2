-- The audit log is append-only for every application role: anon, authenticated,
-- service_role and postgres (the owner, which functions and migrations use) are refused
-- UPDATE, DELETE and TRUNCATE with 42501, on the partitioned table and on a partition, and
-- the row is unchanged afterwards. Sealing never updates the log (it appends to audit.chain),
-- so no update at all gets through; the chain and its retired runs are append-only too.

begin;
set local search_path = public, extensions;
select plan(38);

select audit.record_event('test.append_only', 'test', 'row-303', 'SUCCESS',
    '{"kept": true}') as event_id
\gset
select l.tableoid::regclass as partition
from audit.audit_log as l
where l.id = :event_id
\gset

create temporary table original on commit drop as
select pg_catalog.to_jsonb(l) as row
from audit.audit_log as l
where l.id = :event_id;

\set update_log 'update audit.audit_log set outcome = ''FAILURE'' where id = ' :event_id
\set delete_log 'delete from audit.audit_log where id = ' :event_id
\set truncate_log 'truncate audit.audit_log'
select pg_catalog.format('update %s set outcome = ''FAILURE'' where id = %s', :'partition',
    :event_id) as update_part,
    pg_catalog.format('delete from %s where id = %s', :'partition', :event_id) as delete_part,
    pg_catalog.format('truncate %s', :'partition') as truncate_part
\gset


-- anon
select tests.act_as_anon();
select throws_ok(:'update_log', '42501', null, 'anon: UPDATE on audit.audit_log is refused');
select throws_ok(:'delete_log', '42501', null, 'anon: DELETE on audit.audit_log is refused');
select throws_ok(:'truncate_log', '42501', null, 'anon: TRUNCATE audit.audit_log is refused');
select throws_ok(:'update_part', '42501', null, 'anon: UPDATE on its partition is refused');
select throws_ok(:'delete_part', '42501', null, 'anon: DELETE on its partition is refused');
select throws_ok(:'truncate_part', '42501', null, 'anon: TRUNCATE of its partition is refused');
select tests.clear_actor();

-- authenticated: a superadmin at aal2, who may read the log
select tests.create_member('t_audit303_super', 'SUPERADMIN', mfa_verified => true) as super
\gset
select tests.act_as(:'super', 'aal2');
select is(
    (select pg_catalog.count(*) from audit.audit_log where id = :event_id),
    1::bigint,
    'superadmin aal2: reads the event'
);
select throws_ok(:'update_log', '42501', null,
    'superadmin aal2: UPDATE on audit.audit_log is refused');
select throws_ok(:'delete_log', '42501', null,
    'superadmin aal2: DELETE on audit.audit_log is refused');
select throws_ok(:'truncate_log', '42501', null,
    'superadmin aal2: TRUNCATE audit.audit_log is refused');
select throws_ok(:'update_part', '42501', null,
    'superadmin aal2: UPDATE on its partition is refused');
select throws_ok(:'delete_part', '42501', null,
    'superadmin aal2: DELETE on its partition is refused');
select throws_ok(:'truncate_part', '42501', null,
    'superadmin aal2: TRUNCATE of its partition is refused');
select tests.clear_actor();

-- service_role
select tests.act_as_service();
select throws_ok(:'update_log', '42501', null,
    'service_role: UPDATE on audit.audit_log is refused');
select throws_ok(:'delete_log', '42501', null,
    'service_role: DELETE on audit.audit_log is refused');
select throws_ok(:'truncate_log', '42501', null,
    'service_role: TRUNCATE audit.audit_log is refused');
select throws_ok(:'update_part', '42501', null,
    'service_role: UPDATE on its partition is refused');
select throws_ok(:'delete_part', '42501', null,
    'service_role: DELETE on its partition is refused');
select throws_ok(:'truncate_part', '42501', null,
    'service_role: TRUNCATE of its partition is refused');
select tests.clear_actor();

-- postgres, the owner: the guard triggers refuse what the grants would allow.
select throws_ok(:'update_log', '42501', 'the audit log is append-only: update refused',
    'postgres (owner): UPDATE on audit.audit_log is refused');
select throws_ok(:'delete_log', '42501', 'the audit log is append-only: delete refused',
    'postgres (owner): DELETE on audit.audit_log is refused');
select throws_ok(:'truncate_log', '42501', 'the audit log is append-only: truncate refused',
    'postgres (owner): TRUNCATE audit.audit_log is refused');
select throws_ok(:'update_part', '42501', 'the audit log is append-only: update refused',
    'postgres (owner): UPDATE on its partition is refused');
select throws_ok(:'delete_part', '42501', 'the audit log is append-only: delete refused',
    'postgres (owner): DELETE on its partition is refused');
select throws_ok(:'truncate_part', '42501', 'the audit log is append-only: truncate refused',
    'postgres (owner): TRUNCATE of its partition is refused');
select throws_ok('truncate audit_partitions.audit_log_default', '42501',
    'the audit log is append-only: truncate refused',
    'postgres (owner): TRUNCATE of the default partition is refused');

select is(
    (select pg_catalog.to_jsonb(l) from audit.audit_log as l where l.id = :event_id),
    (select row from original),
    'after every attempt the event is exactly as recorded'
);


-- The chain head: readable by the service, never removed.
select tests.act_as_service();
select throws_ok('update audit.chain_head set last_seq = 0', '42501', null,
    'service_role: UPDATE on audit.chain_head is refused');
select tests.clear_actor();
select throws_ok('delete from audit.chain_head', '42501', null,
    'postgres (owner): DELETE from audit.chain_head is refused');
select throws_ok('truncate audit.chain_head', '42501', null,
    'postgres (owner): TRUNCATE audit.chain_head is refused');


-- Sealing only appends to audit.chain: even a "seal" of the log row itself is an update, and
-- the chain's links are as fixed as the events.
select audit.seal() >= 0 as sealed \gset
select throws_ok(
    pg_catalog.format('update audit.audit_log set txid = txid where id = %s', :event_id),
    '42501', null,
    'postgres (owner): even an update that changes nothing is refused on the log'
);
select throws_ok($$update audit.chain set row_hash = '\x00'$$, '42501', null,
    'postgres (owner): UPDATE on audit.chain is refused');
select throws_ok('delete from audit.chain', '42501', null,
    'postgres (owner): DELETE from audit.chain is refused');
select throws_ok('truncate audit.chain', '42501', null,
    'postgres (owner): TRUNCATE audit.chain is refused');
select throws_ok(
    pg_catalog.format('truncate audit_partitions.chain_%s',
        pg_catalog.to_char(pg_catalog.now(), 'YYYY_MM')),
    '42501', null,
    'postgres (owner): TRUNCATE of this month''s chain partition is refused');
select throws_ok('delete from audit.retired_links', '42501', null,
    'postgres (owner): DELETE from audit.retired_links is refused');
select tests.act_as_service();
select throws_ok('delete from audit.chain', '42501', null,
    'service_role: DELETE from audit.chain is refused');
select is((select pg_catalog.count(*) from audit.chain) > 0, true,
    'service_role: reads the chain (so it can check digests)');
select tests.clear_actor();

select * from finish();
rollback;
