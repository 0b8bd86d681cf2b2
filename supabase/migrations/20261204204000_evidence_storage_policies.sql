-- evidence_storage_policies: written by hand. `npm run db:migration` does not generate
-- policies on platform tables, nor new enum values; the rest of this change follows in the
-- next, generated migration.

-- Files stored while scanning was switched off in the upload function's configuration.
alter type public.scan_status add value if not exists 'SKIPPED';

comment on type public.scan_status is
    'Virus-scan state of an uploaded file. CLEAN: the scanner found nothing; SKIPPED: scanning '
    'was switched off in the upload function''s configuration when the file was stored. '
    'Infected files and failed scans are refused, so their rows are never written.';

-- Carried verbatim from policies/storage_objects.sql.

create policy "evidence: active sessions only, privileged ones at aal2"
    on storage.objects
    as restrictive
    for all
    to authenticated
    using (bucket_id <> 'evidence' or (select private.session_allowed()))
    with check (bucket_id <> 'evidence' or (select private.session_allowed()));

create policy "evidence: members read their own folder"
    on storage.objects
    for select
    to authenticated
    using (bucket_id = 'evidence'
        and (storage.foldername(name))[1] = (select auth.uid())::text);

create policy "evidence: reviewers read all evidence"
    on storage.objects
    for select
    to authenticated
    using (bucket_id = 'evidence'
        and (select private.authorize('submission:view_all'))
        and exists (
            select 1 from public.submission_attachments as a
            where a.storage_bucket = objects.bucket_id and a.storage_path = objects.name));
