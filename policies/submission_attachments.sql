-- public.submission_attachments: metadata of evidence files.
--
-- Rows are written only by the upload function (service role) after the file has been
-- checked and scanned. Members read the metadata of their own files; reviewers read all.

revoke all on public.submission_attachments from public, anon, authenticated, service_role;
grant select on public.submission_attachments to authenticated;
grant select, insert, update, delete on public.submission_attachments to service_role;

alter table public.submission_attachments enable row level security;

create policy "active sessions only, privileged ones at aal2"
    on public.submission_attachments
    as restrictive
    for all
    to authenticated
    using ((select private.session_allowed()))
    with check ((select private.session_allowed()));

create policy "members read own attachments"
    on public.submission_attachments
    for select
    to authenticated
    using (owner_id = (select auth.uid()));

create policy "reviewers read all attachments"
    on public.submission_attachments
    for select
    to authenticated
    using ((select private.authorize('submission:view_all')));
