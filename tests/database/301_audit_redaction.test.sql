-- Audit redaction: personal and secret columns enter the log by name only.
--
-- A change to a column listed in private.data_classification (users.name, school, region,
-- handle; submissions.title, payload, review_note; attachment file names and paths) or of
-- type bytea is recorded in changed_fields, and its value, old or new, appears nowhere in
-- any audit row: each check searches the whole text of every row this transaction wrote.
-- Values of other columns are kept, so the trail stays useful.

begin;
set local search_path = public, extensions;
select plan(14);

select
    tests.create_member('t_audit301_member') as member,
    tests.create_member('t_audit301_reviewer', 'REVIEWER') as reviewer
\gset

-- Rows of this transaction whose text contains the value.
create function pg_temp.rows_containing(value text)
returns bigint
language sql
as $$
    select pg_catalog.count(*)
    from audit.audit_log as l
    where l.txid = pg_catalog.pg_current_xact_id()::text::bigint
        and pg_catalog.strpos(l::text, value) > 0
$$;

-- The last event about one row.
create function pg_temp.last_event(target text, key text)
returns audit.audit_log
language sql
as $$
    select l
    from audit.audit_log as l
    where l.target_type = target
        and l.target_id = key
    order by l.id desc
    limit 1
$$;


-- Member: edits their own profile through the API.
select tests.act_as(:'member');
update public.users
set name = 'Siti Rahasia Tiga Nol Satu',
    school = 'SD Negeri Rahasia 301',
    region = 'Kabupaten Rahasia 301',
    handle = 't_audit301_renamed'
where id = :'member';
select tests.clear_actor();

select is(
    (pg_temp.last_event('public.users', :'member')).changed_fields,
    array['handle', 'name', 'region', 'school'],
    'member: a profile edit names handle, name, region and school in changed_fields'
);

select is(
    (pg_temp.last_event('public.users', :'member')).metadata,
    '{"new": {}}'::jsonb,
    'member: the profile edit keeps no value of those columns in metadata'
);

select is(
    (select pg_catalog.sum(pg_temp.rows_containing(v))
    from pg_catalog.unnest(array[
        'Siti Rahasia Tiga Nol Satu', 'SD Negeri Rahasia 301', 'Kabupaten Rahasia 301',
        't_audit301_renamed', 'Name of t_audit301_member', 'School of t_audit301_member',
        'Region of t_audit301_member', 't_audit301_member'
    ]) as v),
    0::numeric,
    'member: no old or new name, school, region or handle appears in any audit row'
);


-- Member: creates and edits a submission that names a pupil.
select tests.act_as(:'member');
insert into public.submissions (activity_code, title, payload)
values ('LEARN', 'Kelas 5B bersama Andi Rahasia', '{"pupil": "Andi Rahasia Murid"}')
returning id as submission \gset
update public.submissions
set title = 'Kelas 5B bersama Budi Rahasia',
    payload = '{"pupil": "Budi Rahasia Murid", "hours": 2}'
where id = :'submission';
select tests.clear_actor();

select is(
    (select pg_catalog.array_agg(l.action || ' ' || pg_catalog.array_to_string(
        array(select f from pg_catalog.unnest(l.changed_fields) as f
              where f in ('title', 'payload') order by f), ',') order by l.id)
    from audit.audit_log as l
    where l.target_type = 'public.submissions' and l.target_id = :'submission'),
    array['insert payload,title', 'update payload,title'],
    'member: creating and editing a submission name title and payload in changed_fields'
);

select is(
    (select pg_catalog.array_agg(pg_catalog.jsonb_build_object(
        'title', l.metadata ? 'title', 'payload', l.metadata ? 'payload',
        'activity_code', l.metadata ->> 'activity_code', 'status', l.metadata ->> 'status'))
    from audit.audit_log as l
    where l.target_type = 'public.submissions' and l.target_id = :'submission'
        and l.action = 'insert'),
    array['{"title": false, "payload": false, "activity_code": "LEARN", "status": "PENDING"}'
        ::jsonb],
    'member: the insert event keeps activity and status but not title or payload'
);


-- Reviewer: rejects it with a note.
select tests.act_as(:'reviewer');
update public.submissions
set status = 'REJECTED',
    review_note = 'Catatan rahasia tentang Budi'
where id = :'submission';
select tests.clear_actor();

select is(
    (pg_temp.last_event('public.submissions', :'submission')).changed_fields,
    array['review_note', 'reviewed_at', 'reviewer_id', 'status'],
    'reviewer: a decision names review_note with the stamped columns'
);

select is(
    (select pg_catalog.array_agg(k order by k)
    from pg_catalog.jsonb_object_keys(
        (pg_temp.last_event('public.submissions', :'submission')).metadata -> 'new') as k),
    array['reviewed_at', 'reviewer_id', 'status'],
    'reviewer: the decision keeps status, reviewer and time, but not the note'
);

select is(
    (select pg_catalog.sum(pg_temp.rows_containing(v))
    from pg_catalog.unnest(array[
        'Andi Rahasia', 'Budi Rahasia', 'Kelas 5B', 'Catatan rahasia'
    ]) as v),
    0::numeric,
    'member, reviewer: no title, payload or review note text appears in any audit row'
);


-- Service: stores an attachment whose file name holds a name; then the member's submission
-- is withdrawn (deleted) with it.
select tests.act_as_service();
insert into public.submission_attachments
    (submission_id, owner_id, storage_path, file_name, mime_type, byte_size, sha256)
values (:'submission', :'member', 'rahasia-path-301/foto.jpg', 'Foto Andi Rahasia.jpg',
    'image/jpeg', 2048, pg_catalog.repeat('c', 64))
returning id as attachment \gset
delete from public.submissions where id = :'submission';
select tests.clear_actor();

select ok(
    (pg_temp.last_event('public.submission_attachments', :'attachment')).action = 'delete'
        and (select l.changed_fields @> array['file_name', 'storage_path']
            from audit.audit_log as l
            where l.target_type = 'public.submission_attachments'
                and l.target_id = :'attachment' and l.action = 'insert'),
    'service: the attachment insert names file_name and storage_path; its cascade delete is '
        || 'recorded'
);

select is(
    pg_temp.rows_containing('Foto Andi') + pg_temp.rows_containing('rahasia-path-301'),
    0::bigint,
    'service: no file name or storage path appears in any audit row'
);

select is(
    (select pg_catalog.array_agg(distinct pg_catalog.concat(l.metadata::text, ' ',
        coalesce(l.changed_fields::text, 'null')))
    from audit.audit_log as l
    where l.txid = pg_catalog.pg_current_xact_id()::text::bigint and l.action = 'delete'),
    array['{} null'],
    'every delete event carries no values and no field list'
);


-- System: a table holding a secret as bytea and a label that becomes personal data.
create table public.audit_t_secrets (
    id integer primary key,
    token bytea not null,
    label text
);
select audit.enable_tracking('public.audit_t_secrets');
insert into public.audit_t_secrets values (1, '\xdeadbeefcafe0301', 'plain label');

select ok(
    (pg_temp.last_event('public.audit_t_secrets', '1')).changed_fields @> array['token']
        and not (pg_temp.last_event('public.audit_t_secrets', '1')).metadata ? 'token'
        and (pg_temp.last_event('public.audit_t_secrets', '1')).metadata ->> 'label'
            = 'plain label',
    'system: a bytea column is named in changed_fields and left out of metadata'
);

select is(
    pg_temp.rows_containing('deadbeefcafe0301'),
    0::bigint,
    'system: the bytea value (its hex digits) appears in no audit row'
);

-- Classifying a column takes effect on the next statement, without re-enabling tracking.
insert into private.data_classification
    (schema_name, table_name, column_name, sensitivity, category)
values ('public', 'audit_t_secrets', 'label', 'MEDIUM', 'identity');
update public.audit_t_secrets set label = 'Label Rahasia Baru' where id = 1;

select ok(
    (pg_temp.last_event('public.audit_t_secrets', '1')).changed_fields = array['label']
        and pg_temp.rows_containing('Label Rahasia Baru') = 0,
    'system: a newly classified column is redacted from the next statement on'
);

select * from finish();
rollback;
