-- The audit trigger keeps up with the table it records, and a row's history can be read back.
--
-- The trigger runs a statement written for the table's shape (columns, types, key, hidden
-- columns) and cached in audit.capture_statements. A column added after the first write, or a
-- column classified as personal data after it, is handled at the next write, with no stale
-- statement in between. Types without = (json) are compared through their text. Emptying the
-- cache is harmless. audit.record_history() returns one row's events, oldest first, to admins
-- at aal2 and the service, and refuses members (42501).

begin;
set local search_path = public, extensions;
select plan(13);

select tests.create_member('t_audit308_admin', 'ADMIN', mfa_verified => true) as admin \gset
select tests.create_member('t_audit308_member') as member \gset

create table public.audit_t_shapes (
    id integer primary key,
    settings json,
    label text
);
select audit.enable_tracking('public.audit_t_shapes');

insert into public.audit_t_shapes values (1, '{"a": 1}', 'first');
update public.audit_t_shapes set settings = '{"a": 2}' where id = 1;
update public.audit_t_shapes set settings = '{"a": 2}' where id = 1;

select is(
    (select pg_catalog.array_agg(l.action || ' ' || pg_catalog.array_to_string(l.changed_fields,
        ',') order by l.id)
    from audit.audit_log as l
    where l.target_type = 'public.audit_t_shapes'),
    array['insert id,label,settings', 'update settings'],
    'a json column (no = operator) is compared by its text: a change is seen, a rewrite of '
        || 'the same value is not'
);

select is(
    (select pg_catalog.count(*) from audit.capture_statements as s
    where s.relid = 'public.audit_t_shapes'::regclass),
    2::bigint,
    'the statements written for the table (insert, update) are cached'
);

-- A column added after the statements were cached.
alter table public.audit_t_shapes add column grade text;
update public.audit_t_shapes set grade = 'B' where id = 1;

select is(
    (select l.changed_fields || array[l.metadata -> 'new' ->> 'grade']
    from audit.audit_log as l
    where l.target_type = 'public.audit_t_shapes' and l.action = 'update'
    order by l.id desc limit 1),
    array['grade', 'B'],
    'a column added after the first writes is recorded at the next write, with its value'
);

-- The same column classified as personal data afterwards: named, never copied.
insert into private.data_classification
    (schema_name, table_name, column_name, sensitivity, category, note)
values ('public', 'audit_t_shapes', 'grade', 'MEDIUM', 'education', 'test column');
update public.audit_t_shapes set grade = 'A' where id = 1;

select is(
    (select pg_catalog.jsonb_build_object('fields', l.changed_fields,
        'value_copied', (l.metadata -> 'new') ? 'grade')
    from audit.audit_log as l
    where l.target_type = 'public.audit_t_shapes' and l.action = 'update'
    order by l.id desc limit 1),
    '{"fields": ["grade"], "value_copied": false}'::jsonb,
    'a column classified after the first writes is hidden at the next write'
);

select ok(
    (select s.shape like '%|' || 'id|grade' from audit.capture_statements as s
    where s.relid = 'public.audit_t_shapes'::regclass and s.operation = 'UPDATE'),
    'the cached update statement was rewritten for the new shape (key id, hidden grade)'
);

-- Emptying the cache: the next write writes its statement again.
delete from audit.capture_statements;
delete from public.audit_t_shapes where id = 1;
select is(
    (select pg_catalog.array_agg(s.operation order by s.operation)
    from audit.capture_statements as s
    where s.relid = 'public.audit_t_shapes'::regclass),
    array['DELETE'],
    'an emptied cache is filled again by the next write'
);
select is(
    (select l.action from audit.audit_log as l
    where l.target_type = 'public.audit_t_shapes' order by l.id desc limit 1),
    'delete',
    'and that write is recorded'
);


-- TRUNCATE leaves no row events: it is recorded once, on the table, with its actor.
insert into public.audit_t_shapes (id, label) values (2, 'second'), (3, 'third');
truncate public.audit_t_shapes;
select is(
    (select l.action || ' ' || l.target_type || ' ' || l.actor_type
    from audit.audit_log as l
    where l.target_type = 'public.audit_t_shapes' order by l.id desc limit 1),
    'truncate public.audit_t_shapes SYSTEM',
    'TRUNCATE of a tracked table is recorded as one truncate event with its actor'
);


-- A row's history -------------------------------------------------------------------------------

select is(
    audit.record_key('public.audit_t_shapes', '1'),
    pg_catalog.md5('public.audit_t_shapes:1')::uuid,
    'record_key is the md5 of "<schema>.<table>:<key>" as a uuid'
);

select audit.seal() >= 0 as sealed \gset

select tests.act_as(:'admin', 'aal2');
select is(
    (select pg_catalog.array_agg(h.action order by h.id)
    from audit.record_history('public.audit_t_shapes', '1') as h),
    array['insert', 'update', 'update', 'update', 'delete'],
    'admin aal2: record_history gives every event of the row, oldest first'
);
select tests.act_as(:'admin', 'aal1');
select throws_ok($$select * from audit.record_history('public.audit_t_shapes', '1')$$,
    '42501', null, 'admin at aal1: record_history is refused (42501)');
select tests.act_as(:'member');
select throws_ok($$select * from audit.record_history('public.users', 'x')$$,
    '42501', null, 'participant: record_history is refused (42501)');
select tests.act_as_service();
select is(
    (select pg_catalog.count(*) from audit.record_history('public.audit_t_shapes', '1')),
    5::bigint,
    'service_role: record_history gives the same five events'
);
select tests.clear_actor();

select * from finish();
rollback;
