-- audit.record_event(): acts that are not row changes (an export, a refused attempt).
--
-- Only the service role (and definer functions) may record: authenticated and anon are
-- refused with 42501. The actor is the service unless the call names the member it acts
-- for; the request context comes from request.headers, the request id given wins over the
-- header's, and malformed context is dropped rather than failing the act. An action name
-- outside the dotted lowercase form violates the table's CHECK (23514).

begin;
set local search_path = public, extensions;
select plan(11);

select tests.create_member('t_audit305') as member \gset

\set record_call 'select audit.record_event(''dsar.export'', ''user'', ''x'', ''SUCCESS'', ''{}'')'

-- anon and authenticated
select tests.act_as_anon();
select throws_ok(:'record_call', '42501', null, 'anon: record_event is refused (42501)');
select tests.act_as(:'member');
select throws_ok(:'record_call', '42501', null,
    'authenticated: record_event is refused (42501), even for a real member');
select tests.clear_actor();


-- service_role, as a function calls it: claims, request headers, an explicit request id.
select tests.act_as_service();
select pg_catalog.set_config('request.headers', pg_catalog.jsonb_build_object(
    'x-forwarded-for', '198.51.100.23, 10.0.0.2',
    'user-agent', 'leaps-app/2.1 (Android)',
    'x-request-id', 'header-request-id')::text, true);

select audit.record_event('dsar.export', 'user', :'member', 'SUCCESS',
    '{"request_kind": "access", "for_self": false}', null, 'req-305-service')
    as service_event \gset
select audit.record_event('dsar.export', 'user', :'member', 'FAILURE',
    '{"request_kind": "access", "reason": "forbidden"}', :'member')
    as for_member_event \gset
select tests.clear_actor();

select is(
    (select pg_catalog.jsonb_build_object('action', l.action, 'target', l.target_type || ':'
        || l.target_id, 'outcome', l.outcome, 'actor', l.actor_type || ':'
        || coalesce(l.actor_id::text, '-'), 'metadata', l.metadata)
    from audit.audit_log as l where l.id = :service_event),
    pg_catalog.jsonb_build_object('action', 'dsar.export', 'target', 'user:' || :'member',
        'outcome', 'SUCCESS', 'actor', 'SERVICE:-',
        'metadata', '{"request_kind": "access", "for_self": false}'::jsonb),
    'service_role: an act is recorded with action, target, outcome, metadata and the service'
);

select is(
    (select pg_catalog.concat_ws(' | ', l.ip_address, l.user_agent, l.request_id)
    from audit.audit_log as l where l.id = :service_event),
    '198.51.100.23 | leaps-app/2.1 (Android) | req-305-service',
    'service_role: first forwarded address and user agent recorded; the given request id wins'
);

select is(
    (select l.actor_type || ':' || l.actor_id || ' ' || l.outcome || ' ' || l.request_id
    from audit.audit_log as l where l.id = :for_member_event),
    'USER:' || :'member' || ' FAILURE header-request-id',
    'service_role: naming the member acted for records a USER act; the header''s request id '
        || 'is used when none is given'
);


-- service_role: malformed or oversized context does not fail the act.
select tests.act_as_service();
select pg_catalog.set_config('request.headers', pg_catalog.jsonb_build_object(
    'x-forwarded-for', 'not-an-address',
    'user-agent', pg_catalog.repeat('u', 600))::text, true);
select audit.record_event('file.download', 'attachment', 'a-305') as odd_context \gset
select pg_catalog.set_config('request.headers', '{not json', true);
select audit.record_event('file.download', 'attachment', 'b-305') as bad_headers \gset
select tests.clear_actor();

select is(
    (select (l.ip_address is null) || ' ' || pg_catalog.length(l.user_agent)
    from audit.audit_log as l where l.id = :odd_context),
    'true 512',
    'service_role: an unparseable address is dropped and a long user agent cut to 512'
);

select is(
    (select pg_catalog.concat_ws(',', l.action, l.ip_address, l.user_agent, l.request_id)
    from audit.audit_log as l where l.id = :bad_headers),
    'file.download',
    'service_role: headers that are not JSON leave the context empty, the act is recorded'
);


-- service_role: what the log refuses.
select tests.act_as_service();
select throws_ok(
    $$select audit.record_event('DSAR Export!', 'user')$$,
    '23514', null,
    'service_role: an action outside the dotted lowercase form is refused (23514)'
);
select throws_ok(
    pg_catalog.format('select audit.record_event(%L, %L, null, %L, %L, null, %L)',
        'dsar.export', 'user', 'SUCCESS', '{}', pg_catalog.repeat('r', 65)),
    '23514', null,
    'service_role: a request id over 64 characters is refused (23514)'
);
select throws_ok(
    $$select audit.record_event('dsar.export', 'user', null, 'MAYBE')$$,
    '22P02', null,
    'service_role: an outcome outside SUCCESS, FAILURE, PARTIAL is refused (22P02)'
);
select tests.clear_actor();


-- System: the owner's definer functions record too, as the system.
select audit.record_event('maintenance.reindex', 'table', 'public.users') as system_event \gset
select is(
    (select l.actor_type || ' ' || l.outcome || ' ' || l.metadata::text
    from audit.audit_log as l where l.id = :system_event),
    'SYSTEM SUCCESS {}',
    'system: without claims the act is recorded as SYSTEM with empty metadata by default'
);

select * from finish();
rollback;
