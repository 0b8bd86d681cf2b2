-- The hash chain as the service and the owner use it: audit.seal(), verify_chain(),
-- chain_digest() and digest_matches().
--
-- Sealing links only rows of finished transactions, so this transaction's own rows stay
-- unsealed while the committed history is sealed here (and rolled back with the rest). A
-- clean chain verifies in any session time zone, the digest names the head and matches its
-- row, and members and anon may not seal, verify or read digests (42501). Tampering, which
-- needs a superuser, is tested by tests/stack/audit-cli.test.ts.

begin;
set local search_path = public, extensions;
select plan(15);

select tests.create_member('t_audit306_super', 'SUPERADMIN', mfa_verified => true) as super
\gset


-- anon and authenticated (even a superadmin at aal2, who reads the log)
select tests.act_as_anon();
select throws_ok('select audit.seal()', '42501', null, 'anon: seal is refused (42501)');
select throws_ok('select * from audit.verify_chain()', '42501', null,
    'anon: verify_chain is refused (42501)');
select tests.act_as(:'super', 'aal2');
select throws_ok('select audit.seal()', '42501', null,
    'superadmin aal2: seal is refused (42501)');
select throws_ok('select * from audit.verify_chain()', '42501', null,
    'superadmin aal2: verify_chain is refused (42501)');
select throws_ok('select * from audit.chain_digest()', '42501', null,
    'superadmin aal2: chain_digest is refused (42501)');
select throws_ok($$select audit.digest_matches(1, '00')$$, '42501', null,
    'superadmin aal2: digest_matches is refused (42501)');
select tests.clear_actor();


-- service_role: seals the committed history; its own fresh row waits for a later run.
select tests.act_as_service();
select audit.record_event('test.chain', 'test', 'own-306') as own_event \gset
-- Every transaction older than this one's snapshot has finished: seal must link their rows.
select pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()) as finished_before \gset
select audit.seal() as sealed \gset

select is(
    (select pg_catalog.count(*) from audit.chain as c where c.log_id = :own_event),
    0::bigint,
    'service_role: seal leaves the rows of a transaction still running unsealed'
);

select is(
    (select pg_catalog.count(*) from audit.audit_log as l
    where l.txid < :'finished_before'::text::bigint
        and not exists (select 1 from audit.chain as c
                        where c.log_id = l.id and c.occurred_at = l.occurred_at)),
    0::bigint,
    'service_role: after seal no row of a finished transaction is left unsealed'
);

select ok(
    (select h.last_seq = (select pg_catalog.max(c.seq) from audit.chain as c)
        and h.last_seq > 0
        and h.last_hash = (select c.row_hash from audit.chain as c where c.seq = h.last_seq)
        and h.next_txid = :'finished_before'::text::bigint
    from audit.chain_head as h),
    'service_role: the head names the last link, its hash, and the sealer''s bookmark'
);

select is(
    (select pg_catalog.jsonb_build_object('valid', v.valid, 'all_checked',
        v.rows_checked = (select h.last_seq from audit.chain_head as h),
        'first_bad_seq', v.first_bad_seq, 'problem', v.problem)
    from audit.verify_chain() as v),
    '{"valid": true, "all_checked": true, "first_bad_seq": null, "problem": null}'::jsonb,
    'service_role: the clean chain verifies, every sealed row checked'
);

select tests.clear_actor();


-- postgres: hashes do not depend on the session's time zone.
set local timezone = 'Asia/Jakarta';
select is(
    (select v.valid || ' ' || coalesce(v.problem, '') from audit.verify_chain() as v),
    'true ',
    'postgres: the chain verifies in a session at Asia/Jakarta time as well'
);
reset timezone;

select is(
    (select pg_catalog.count(*)
    from audit.chain as c
    join audit.audit_log as l on l.id = c.log_id and l.occurred_at = c.occurred_at
    left join audit.chain as p on p.seq = c.seq - 1
    where c.row_hash is distinct from extensions.digest(
            coalesce(p.row_hash, '\x'::bytea) || audit.canonical(l, c.seq), 'sha256')),
    0::bigint,
    'postgres: every link''s hash is sha256(previous hash || canonical row)'
);


select is(
    pg_catalog.array_agg(p.provolatile::text || ' ' || p.proname order by p.proname),
    array['i canonical', 's verify_chain'],
    'postgres: canonical is immutable (UTC pinned) and verify_chain stable (one snapshot)'
)
from pg_catalog.pg_proc as p
where p.oid in ('audit.canonical(audit.audit_log, bigint)'::regprocedure,
    'audit.verify_chain()'::regprocedure)
    and (p.proname <> 'canonical' or p.proconfig @> array['TimeZone=UTC']);


-- service_role: the digest to keep elsewhere.
select tests.act_as_service();
select d.last_seq as digest_seq, d.last_hash as digest_hash from audit.chain_digest() as d
\gset

select ok(
    :digest_seq = (select h.last_seq from audit.chain_head as h)
        and :'digest_hash' = pg_catalog.encode((select h.last_hash from audit.chain_head as h),
            'hex'),
    'service_role: chain_digest gives the head''s position and hash (hex)'
);

select is(
    array[
        audit.digest_matches(:digest_seq, :'digest_hash'),
        audit.digest_matches(:digest_seq, pg_catalog.repeat('0', 64)),
        audit.digest_matches(:digest_seq + 1000000, :'digest_hash')
    ],
    array[true, false, false],
    'service_role: digest_matches is true for the digest, false for another hash or position'
);
select tests.clear_actor();

select * from finish();
rollback;
