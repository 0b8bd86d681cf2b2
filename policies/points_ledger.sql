-- public.points_ledger: append-only points.
--
-- The platform credits points when a submission is approved (a trigger, as the table owner).
-- Through the API, members read their own rows, administrators read all rows and add manual
-- adjustments for other members, never for themselves. Nobody updates or deletes a row.

revoke all on public.points_ledger from public, anon, authenticated, service_role;
grant select on public.points_ledger to authenticated;
grant insert (user_id, delta, reason) on public.points_ledger to authenticated;
grant select, insert on public.points_ledger to service_role;
-- Erasure of a member removes their rows; the service role needs DELETE for that alone.
grant delete on public.points_ledger to service_role;

alter table public.points_ledger enable row level security;

create policy "active sessions only, privileged ones at aal2"
    on public.points_ledger
    as restrictive
    for all
    to authenticated
    using ((select private.session_allowed()))
    with check ((select private.session_allowed()));

create policy "members read own points"
    on public.points_ledger
    for select
    to authenticated
    using (user_id = (select auth.uid()));

create policy "admins read all points"
    on public.points_ledger
    for select
    to authenticated
    using ((select private.authorize('analytics:view_all')));

create policy "admins adjust other members' points"
    on public.points_ledger
    for insert
    to authenticated
    with check (
        (select private.authorize('user:manage'))
        and user_id <> (select auth.uid())
        and awarded_by = (select auth.uid())
        and submission_id is null
    );
