-- rows of: private.personal_data_locations, private.personal_data_exclusions
--
-- Where data about a member lives, and what each erasure mode does to it. Idempotent:
-- re-applying it leaves exactly these rows, so a change here is carried into the next
-- migration as this whole file. Every column of public, private and audit that refers to a
-- member must be listed here or excluded below, or the suite fails
-- (tests/database/340_personal_data_registry.test.sql).
--
-- pseudonymise keeps the educational record (activities, statuses, dates, points, badges) for
-- programme evaluation and removes what identifies the member or what they wrote; erase
-- deletes. The sign-in account (auth.users, auth.sessions) and files in Storage are removed
-- through the platform's interfaces by the dsar-delete function, not here.

with listed (schema_name, table_name, subject_column, on_pseudonymise, on_erase,
    pseudonymise_set, hold_column, step, export_section, reason) as (
    values
        ('public', 'submission_attachments', 'owner_id', 'delete', 'delete', null,
            'submission_id', 10, 'attachments',
            'Files the member uploaded: evidence about their classroom, never kept.'),
        ('public', 'points_ledger', 'user_id', 'keep', 'delete', null,
            'submission_id', 20, 'points',
            'Points are the educational record kept for programme evaluation.'),
        ('public', 'points_ledger', 'awarded_by', 'keep', 'keep', null, null, 20, null,
            'An administrator''s act on another member''s record; the foreign key clears it '
                || 'when the administrator''s profile is deleted.'),
        ('public', 'earned_badges', 'user_id', 'keep', 'delete', null, null, 20, 'badges',
            'Badges are the educational record kept for programme evaluation.'),
        ('public', 'earned_badges', 'awarded_by', 'keep', 'keep', null, null, 20, null,
            'An administrator''s act on another member''s record; the foreign key clears it '
                || 'when the administrator''s profile is deleted.'),
        ('public', 'submissions', 'owner_id', 'pseudonymise', 'delete',
            'title = ''[removed]'', review_note = null, visibility = ''PRIVATE'', payload = '
                || '(select coalesce(pg_catalog.jsonb_object_agg(e.key, e.value), ''{}'') '
                || 'from pg_catalog.jsonb_each(payload) as e where e.key in (''hours'', '
                || '''studentsData'', ''consentDocumented'', ''institutionalApproval'', '
                || '''additionalConsent''))',
            'id', 30, 'submissions',
            'Activities, statuses and dates stay for evaluation; titles, notes and free text '
                || 'go.'),
        ('public', 'submissions', 'reviewer_id', 'keep', 'keep', null, null, 30, null,
            'A reviewer''s decision on another member''s work; the foreign key clears it when '
                || 'the reviewer''s profile is deleted.'),
        ('private', 'leaderboard_entries', 'user_id', 'delete', 'delete', null, null, 40,
            'leaderboard_entry',
            'Derived from points and the profile; rebuilt from them when needed.'),
        ('private', 'member_identifiers', 'user_id', 'delete', 'delete', null, null, 40,
            'identifiers', 'Phone, NIK, NPWP and bank account are never kept after erasure.'),
        ('private', 'role_changes', 'user_id', 'keep', 'delete', null, null, 40,
            'role_changes', 'Who held which privileges when: kept while the profile exists.'),
        ('private', 'role_changes', 'changed_by', 'keep', 'keep', null, null, 40, null,
            'An administrator''s act on another member''s account.'),
        ('private', 'status_changes', 'user_id', 'keep', 'delete', null, null, 40,
            'status_changes', 'Suspensions and reinstatements: kept while the profile exists.'),
        ('private', 'status_changes', 'changed_by', 'keep', 'keep', null, null, 40, null,
            'An administrator''s act on another member''s account.'),
        ('private', 'legal_holds', 'user_id', 'keep', 'keep', null, null, 40, null,
            'A legal hold outlives the account: kept until a year after it is lifted.'),
        ('private', 'legal_holds', 'placed_by', 'keep', 'keep', null, null, 40, null,
            'The administrator who placed a legal hold: part of its record.'),
        ('private', 'legal_holds', 'lifted_by', 'keep', 'keep', null, null, 40, null,
            'The administrator who lifted a legal hold: part of its record.'),
        ('private', 'platform_switches', 'changed_by', 'keep', 'keep', null, null, 40, null,
            'The administrator who last flipped a platform switch: part of its record.'),
        ('public', 'dsar_requests', 'subject_id', 'pseudonymise', 'pseudonymise',
            'details = null', null, 50, 'requests',
            'Proof that requests were answered in time; the subject''s own words go.'),
        ('public', 'dsar_requests', 'requester_id', 'keep', 'keep', null, null, 50, null,
            'Who filed a request: part of its record.'),
        ('public', 'dsar_requests', 'handled_by', 'keep', 'keep', null, null, 50, null,
            'The administrator who handled a request: part of its record.'),
        ('private', 'sign_in_attempts', 'user_id', 'delete', 'delete', null, null, 40,
            'sign_in_attempts', 'Sign-in attempts serve security only; they go with the account.'),
        ('private', 'incidents', 'opened_by', 'keep', 'keep', null, null, 40, null,
            'The administrator who opened an incident: part of its record.'),
        ('private', 'incident_timeline', 'actor_id', 'keep', 'keep', null, null, 40, null,
            'Who acted on an incident: the record investigators and the authority rely on.'),
        ('private', 'incident_evidence', 'created_by', 'keep', 'keep', null, null, 40, null,
            'Who collected an evidence package: the start of its chain of custody.'),
        ('private', 'notification_outbox', 'recipient_user_id', 'keep', 'keep', null, null, 40,
            null, 'Proof that a breach notice went to the member in time (UU 27/2022); holds '
                || 'no address, only the id.'),
        ('audit', 'audit_log', 'actor_id', 'keep', 'keep', null, null, 60, 'processing_history',
            'Append-only, hash-chained evidence; the id names nobody once the profile and '
                || 'identifiers are gone.'),
        ('public', 'users', 'id', 'pseudonymise', 'delete',
            'name = '''', school = null, region = null, cohort = null, visibility = '
                || '''PRIVATE'', handle = ''erased_'' || pg_catalog.substr(pg_catalog.md5('
                || 'id::text), 1, 12), deleted_at = coalesce(deleted_at, pg_catalog.now())',
            null, 100, 'profile',
            'The profile: pseudonymised to a tombstone, or deleted with everything above.')
),
removed as (
    delete from private.personal_data_locations as p
    where not exists (
        select 1 from listed as l
        where l.schema_name = p.schema_name and l.table_name = p.table_name
            and l.subject_column = p.subject_column)
)
insert into private.personal_data_locations (schema_name, table_name, subject_column,
    on_pseudonymise, on_erase, pseudonymise_set, hold_column, step, export_section, reason)
select schema_name, table_name, subject_column, on_pseudonymise, on_erase, pseudonymise_set,
    hold_column, step, export_section, reason
from listed
on conflict (schema_name, table_name, subject_column) do update
set on_pseudonymise = excluded.on_pseudonymise,
    on_erase = excluded.on_erase,
    pseudonymise_set = excluded.pseudonymise_set,
    hold_column = excluded.hold_column,
    step = excluded.step,
    export_section = excluded.export_section,
    reason = excluded.reason;

-- Member-referring columns that are neither exported nor erased, each with its reason.
with listed (schema_name, table_name, column_name, reason) as (
    values
        ('private', 'rate_limit_counters', 'user_id',
            'Request counts of the current minute for rate limiting: no content, removed a day '
                || 'after their window by the rate-limit-counters retention policy.')
),
removed as (
    delete from private.personal_data_exclusions as e
    where not exists (
        select 1 from listed as l
        where l.schema_name = e.schema_name and l.table_name = e.table_name
            and l.column_name = e.column_name)
)
insert into private.personal_data_exclusions (schema_name, table_name, column_name, reason)
select schema_name, table_name, column_name, reason
from listed
on conflict (schema_name, table_name, column_name) do update
set reason = excluded.reason;
