-- Erasure of a member (sql/81_personal_data_registry.sql), as the dsar-delete function runs
-- it through the service role.
--
-- A dry run changes nothing. Erasing a member who owns submissions, attachments, ledger rows
-- and badges leaves none of them, ends their sessions, queues their files for Storage, keeps
-- the deletion event under a pseudonymous id and completes the request. A legal hold on one
-- submission keeps exactly that submission and the rows tied to it, says so, and the profile
-- is pseudonymised rather than deleted; a hold on the member keeps everything. Members may
-- not run or plan erasures; admins at aal1 may not plan them.

begin;
set local search_path = public, extensions;
select plan(18);

select tests.create_member('t_erase342_siti') as siti \gset
select tests.create_member('t_erase342_dewi') as dewi \gset
select tests.create_member('t_erase342_admin', 'ADMIN', mfa_verified => true) as admin \gset
select tests.create_badge('t_erase342_badge');

-- siti: two submissions, each with a file, points and a badge, and a session.
select tests.create_submission(:'siti', 'Kelas membaca') as s1 \gset
select tests.create_submission(:'siti', 'Projek numerasi') as s2 \gset
select tests.create_attachment(:'s1', 'foto-kelas.jpg') as a1 \gset
select tests.create_attachment(:'s2', 'lembar-kerja.pdf') as a2 \gset
select a.storage_path as a1_path from public.submission_attachments as a where a.id = :'a1' \gset
insert into public.points_ledger (user_id, delta, reason, submission_id)
values (:'siti', 10, 'test', :'s1'), (:'siti', 20, 'test', :'s2');
select tests.give_badge(:'siti', 't_erase342_badge');
insert into auth.sessions (id, user_id, aal) values (extensions.gen_random_uuid(), :'siti', 'aal1');
-- dewi: the same, to be held whole.
select tests.create_submission(:'dewi', 'Refleksi') as d1 \gset

create temporary table before_counts on commit drop as
select 'submissions' as t, pg_catalog.count(*) as n from public.submissions
union all select 'attachments', pg_catalog.count(*) from public.submission_attachments
union all select 'ledger', pg_catalog.count(*) from public.points_ledger
union all select 'badges', pg_catalog.count(*) from public.earned_badges;


-- Who may ----------------------------------------------------------------------------------------

select tests.act_as(:'siti');
select throws_ok(format($$select * from public.erasure_dry_run(%L)$$, :'siti'), '42501', null,
    'participant: planning an erasure, even their own, is refused (42501)');
select throws_ok(
    format($$select * from private.carry_out_erasure(%L, 'erase', false)$$, :'dewi'),
    '42501', null,
    'participant: carrying out an erasure is refused (42501)');
select public.file_dsar_request('deletion', 'Hapus akun saya') as request \gset
select tests.act_as(:'admin', 'aal1');
select throws_ok(format($$select * from public.erasure_dry_run(%L)$$, :'siti'), '42501', null,
    'admin at aal1: planning an erasure is refused (42501)');


-- A hold on one submission, and a dry run ---------------------------------------------------------

select tests.act_as(:'admin', 'aal2');
select public.place_legal_hold('SUBMISSION', 'Sengketa nilai, kasus 12/2026',
    target_id => :'s2') as hold \gset
create temporary table plan on commit drop as
select * from public.erasure_dry_run(:'siti', 'erase');
select tests.clear_actor();

select tests.act_as(:'siti');
select throws_ok(format('delete from public.submissions where id = %L', :'s2'), 'LGH01', null,
    'participant: deleting their held submission is refused (LGH01)');
select throws_ok(format($$update public.submissions set title = 'x' where id = %L$$, :'s2'),
    'LGH01', null,
    'participant: rewriting their held submission is refused (LGH01)');
select tests.act_as_service();
select throws_ok(format('delete from public.submission_attachments where id = %L', :'a2'),
    'LGH01', null,
    'service role: deleting a held submission''s file is refused (LGH01)');
select tests.clear_actor();

select is(
    (select pg_catalog.jsonb_object_agg(p.table_name, p.action || ' ' || p.affected || '/'
        || p.kept)
    from plan as p
    where p.subject_column in ('owner_id', 'user_id', 'id')
        and p.table_name in ('submissions', 'submission_attachments', 'points_ledger',
            'earned_badges', 'users')),
    '{"submissions": "delete 1/1", "submission_attachments": "delete 1/1",
      "points_ledger": "delete 1/1", "users": "pseudonymise 1/0"}'::jsonb
        || pg_catalog.jsonb_build_object('earned_badges', 'delete '
            || (select pg_catalog.count(*) from public.earned_badges where user_id = :'siti')
            || '/0'),
    'dry run: counts what goes and what the held submission keeps; the profile would be '
        || 'pseudonymised since held rows point at it'
);
select matches(
    (select p.kept_reason from plan as p where p.table_name = 'submissions'
        and p.subject_column = 'owner_id'),
    'legal hold on the submission',
    'dry run: the kept submission names the legal hold'
);
select is(
    (select pg_catalog.array_agg(b.n order by b.t) from before_counts as b),
    array[(select pg_catalog.count(*) from public.submission_attachments),
        (select pg_catalog.count(*) from public.earned_badges),
        (select pg_catalog.count(*) from public.points_ledger),
        (select pg_catalog.count(*) from public.submissions)],
    'dry run: nothing changed'
);


-- The erasure itself, as the function runs it -----------------------------------------------------

select tests.act_as_service();
create temporary table outcome on commit drop as
select * from private.carry_out_erasure(:'siti', 'erase', false, :'request', :'admin');
select tests.clear_actor();

select is(
    (select pg_catalog.array_agg(x order by x) from (
        select 'submission ' || s.title as x from public.submissions as s where s.owner_id = :'siti'
        union all select 'attachment ' || a.file_name from public.submission_attachments as a
            where a.owner_id = :'siti'
        union all select 'points ' || l.delta from public.points_ledger as l
            where l.user_id = :'siti'
        union all select 'badge ' || b.badge_id from public.earned_badges as b
            where b.user_id = :'siti') as rows),
    array['attachment lembar-kerja.pdf', 'points 20', 'submission Projek numerasi'],
    'erase: exactly the held submission, its file and its points remain'
);
select is(
    (select u.handle ~ '^erased_[0-9a-f]{12}$' and u.name = '' and u.deleted_at is not null
    from public.users as u where u.id = :'siti'),
    true,
    'erase: the profile is a tombstone (held rows still point at it)'
);
select is(
    (select pg_catalog.count(*) from auth.sessions where user_id = :'siti')
        + (select pg_catalog.count(*) from private.member_identifiers where user_id = :'siti'),
    0::bigint,
    'erase: sessions ended, identifiers gone'
);
select is(
    (select pg_catalog.array_agg(d.path order by d.path) from private.storage_deletions as d
     where d.subject_key = private.subject_key(:'siti')),
    array[:'a1_path'],
    'erase: the removed file is queued for Storage (not the held one)'
);
select is(
    (select l.target_type || ' ' || (l.target_id = private.subject_key(:'siti'))
        || ' ' || (l.target_id !~ :'siti') || ' ' || l.actor_id
    from audit.audit_log as l where l.action = 'dsar.delete'),
    'user true true ' || :'admin',
    'erase: the deletion event stays, under a pseudonymous subject id, with the admin as actor'
);
select is(
    (select r.status::text from public.dsar_requests as r where r.id = :'request'),
    'completed',
    'erase: the deletion request is completed'
);
select throws_ok(
    format($$select * from private.carry_out_erasure(%L, 'erase', false, %L)$$,
        :'siti', :'request'),
    'LGD02', null,
    'a completed request cannot be used for a second erasure (LGD02)');


-- A hold on the member keeps everything -----------------------------------------------------------

select tests.act_as(:'admin', 'aal2');
select public.place_legal_hold('USER', 'Penyelidikan kepolisian 3/2026',
    target_id => :'dewi') as dewi_hold \gset
select tests.act_as_service();
create temporary table dewi_outcome on commit drop as
select * from private.carry_out_erasure(:'dewi', 'erase', false);
select tests.clear_actor();
select is(
    (select pg_catalog.count(*) from public.submissions where owner_id = :'dewi'),
    1::bigint,
    'member hold: their submission is kept'
);
select ok(
    (select pg_catalog.bool_and(o.action = 'keep' and o.affected = 0
        and (o.kept = 0 or o.kept_reason like 'legal hold % on the member'))
    from dewi_outcome as o),
    'member hold: every location is kept, naming the hold'
);

select * from finish();
rollback;
