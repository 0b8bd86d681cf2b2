-- audit.enable_tracking(regclass): which tables are tracked, and how.
--
-- The seven tables holding members' data and the history of their roles and statuses have
-- the three capture triggers. Enabling refuses a table without a primary key (55000, the
-- rows could not be followed) and is idempotent; disabling stops recording. Events of one
-- row share a record_id derived from table and key, also for a composite key. An update
-- that would change a tracked row's primary key is refused (0A000) rather than recorded
-- under no key. Only the owner manages tracking.

begin;
set local search_path = public, extensions;
select plan(13);

select is(
    (select pg_catalog.array_agg(x.tracked order by x.tracked)
    from (
        select c.oid::regclass::text || ': ' || pg_catalog.string_agg(t.tgname::text, ' '
                order by t.tgname) as tracked
        from pg_catalog.pg_class as c
        left join pg_catalog.pg_trigger as t
            on t.tgrelid = c.oid
            and t.tgname in ('audit_insert', 'audit_update', 'audit_delete')
            and t.tgenabled = 'O'
            and t.tgfoid = 'audit.capture_changes()'::regprocedure
        where c.oid in ('public.users'::regclass, 'public.submissions'::regclass,
            'public.submission_attachments'::regclass, 'public.points_ledger'::regclass,
            'public.earned_badges'::regclass, 'private.role_changes'::regclass,
            'private.status_changes'::regclass)
        group by c.oid
    ) as x),
    array[
        'earned_badges: audit_delete audit_insert audit_update',
        'points_ledger: audit_delete audit_insert audit_update',
        'private.role_changes: audit_delete audit_insert audit_update',
        'private.status_changes: audit_delete audit_insert audit_update',
        'submission_attachments: audit_delete audit_insert audit_update',
        'submissions: audit_delete audit_insert audit_update',
        'users: audit_delete audit_insert audit_update'
    ],
    'system: the seven member-data tables have enabled insert, update and delete triggers'
);


-- System (the owner): a table without a primary key.
create table public.audit_t_nokey (label text);

select throws_ok(
    $$select audit.enable_tracking('public.audit_t_nokey')$$,
    '55000',
    'table public.audit_t_nokey has no primary key, so its rows cannot be followed',
    'system: enable_tracking refuses a table without a primary key (55000)'
);

select is(
    (select pg_catalog.count(*) from pg_catalog.pg_trigger
    where tgrelid = 'public.audit_t_nokey'::regclass),
    0::bigint,
    'system: the refused table gets no trigger'
);


-- System: enabling twice leaves one set of triggers, so a change is recorded once.
create table public.audit_t_tracked (
    region text not null,
    code integer not null,
    note text,
    primary key (region, code)
);
select audit.enable_tracking('public.audit_t_tracked');
select audit.enable_tracking('public.audit_t_tracked');

select is(
    (select pg_catalog.count(*) from pg_catalog.pg_trigger
    where tgrelid = 'public.audit_t_tracked'::regclass and not tgisinternal),
    4::bigint,
    'system: enable_tracking twice leaves four triggers (insert, update, delete, truncate)'
);

insert into public.audit_t_tracked values ('bali', 7, 'first');
update public.audit_t_tracked set note = 'second' where region = 'bali' and code = 7;
delete from public.audit_t_tracked where region = 'bali';

select is(
    (select pg_catalog.array_agg(l.action || ' ' || l.target_id order by l.id)
    from audit.audit_log as l
    where l.target_type = 'public.audit_t_tracked'),
    array['insert bali,7', 'update bali,7', 'delete bali,7'],
    'system: each change is recorded once, keyed by the composite key in key order'
);

select is(
    (select pg_catalog.array_agg(distinct l.record_id)
    from audit.audit_log as l
    where l.target_type = 'public.audit_t_tracked'),
    array[pg_catalog.md5('public.audit_t_tracked:bali,7')::uuid],
    'system: the three events share one record_id derived from table and key'
);

select audit.disable_tracking('public.audit_t_tracked');
insert into public.audit_t_tracked values ('jawa', 1, 'untracked');
select is(
    (select pg_catalog.count(*) from audit.audit_log as l
    where l.target_type = 'public.audit_t_tracked' and l.target_id = 'jawa,1'),
    0::bigint,
    'system: after disable_tracking changes are no longer recorded'
);


-- Service: a primary key cannot change on a tracked table.
select tests.create_member('t_audit304') as member \gset
select tests.create_submission(:'member', 'Audit 304') as submission \gset
select tests.create_badge('audit_304'), tests.create_badge('audit_304_other');
select tests.give_badge(:'member', 'audit_304');
create temporary table before_count on commit drop as
select pg_catalog.count(*) as n from audit.audit_log as l
where l.txid = pg_catalog.pg_current_xact_id()::text::bigint;

select tests.act_as_service();
select throws_ok(
    pg_catalog.format('update public.submissions set id = %L where id = %L',
        extensions.gen_random_uuid(), :'submission'),
    '0A000',
    'the primary key of public.submissions cannot change: its audit trail follows it',
    'service_role: changing a submission''s id is refused (0A000)'
);
select throws_ok(
    pg_catalog.format('update public.earned_badges set badge_id = %L where user_id = %L',
        'audit_304_other', :'member'),
    '0A000',
    'the primary key of public.earned_badges cannot change: its audit trail follows it',
    'service_role: changing part of a composite key is refused (0A000)'
);
select lives_ok(
    pg_catalog.format('update public.earned_badges set awarded_at = awarded_at - interval '
        || '''1 hour'' where user_id = %L', :'member'),
    'service_role: other columns of the same row still change'
);
select tests.clear_actor();

select is(
    (select pg_catalog.count(*) - (select n from before_count) from audit.audit_log as l
    where l.txid = pg_catalog.pg_current_xact_id()::text::bigint),
    1::bigint,
    'service_role: the refused updates recorded nothing, the allowed one one event'
);


-- API roles do not manage tracking.
select tests.act_as_service();
select throws_ok(
    $$select audit.disable_tracking('public.users')$$,
    '42501', null,
    'service_role: disable_tracking is refused (42501)'
);
select tests.act_as(:'member');
select throws_ok(
    $$select audit.enable_tracking('public.users')$$,
    '42501', null,
    'authenticated: enable_tracking is refused (42501)'
);
select tests.clear_actor();

select * from finish();
rollback;
