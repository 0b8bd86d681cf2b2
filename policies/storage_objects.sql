-- storage.objects, the evidence bucket: who may see and change stored evidence files.
--
-- Objects live at <owner id>/<submission id>/<random uuid>.<extension> in the private bucket
-- `evidence`. Members see the objects in their own folder; reviewers and above see every
-- object that has its submission_attachments row (the upload function writes the row only
-- once the virus scan said clean, so bytes still being scanned are seen by nobody else). No
-- member writes, replaces or deletes an object directly: files arrive only through the
-- evidence-upload function (service role) after their content has been checked and scanned,
-- and leave through erasure. Other buckets are not governed here.
--
-- Storage lists a folder by reading these rows, so the select policies are also what decides
-- who can list which folder.

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
