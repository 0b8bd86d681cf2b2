-- public.dsar_requests and public.overdue_dsar_requests: data-subject requests.
--
-- Members read their own requests; request handlers (dsar:manage, ADMIN and above at aal2)
-- read all of them. Nobody writes through the Data API: requests are filed and moved on by
-- public.file_dsar_request() and public.set_dsar_request_status().

revoke all on public.dsar_requests from public, anon, authenticated, service_role;
grant select on public.dsar_requests to authenticated, service_role;

alter table public.dsar_requests enable row level security;
create policy "active sessions only, privileged ones at aal2"
    on public.dsar_requests
    as restrictive
    for all
    to authenticated
    using ((select private.session_allowed()))
    with check ((select private.session_allowed()));

create policy "members read their own requests"
    on public.dsar_requests
    for select
    to authenticated
    using (subject_id = (select auth.uid()));

create policy "request handlers read every request"
    on public.dsar_requests
    for select
    to authenticated
    using ((select private.authorize('dsar:manage')));


-- The overdue list reads through the caller's own rights on the table (security invoker).
revoke all on public.overdue_dsar_requests from public, anon, authenticated;
grant select on public.overdue_dsar_requests to authenticated, service_role;
