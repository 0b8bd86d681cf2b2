-- public.badges: the badge catalogue.
--
-- Every active member reads it; only a SUPERADMIN (system:configure) changes it.

revoke all on public.badges from public, anon, authenticated, service_role;
grant select, insert, update, delete on public.badges to authenticated;
grant select, insert, update, delete on public.badges to service_role;

alter table public.badges enable row level security;

create policy "active sessions only, privileged ones at aal2"
    on public.badges
    as restrictive
    for all
    to authenticated
    using ((select private.session_allowed()))
    with check ((select private.session_allowed()));

create policy "members read the badge catalogue"
    on public.badges
    for select
    to authenticated
    using ((select private.authorize('leaderboard:view_public')));

create policy "superadmins add badges"
    on public.badges
    for insert
    to authenticated
    with check ((select private.authorize('system:configure')));

create policy "superadmins edit badges"
    on public.badges
    for update
    to authenticated
    using ((select private.authorize('system:configure')))
    with check ((select private.authorize('system:configure')));

create policy "superadmins remove badges"
    on public.badges
    for delete
    to authenticated
    using ((select private.authorize('system:configure')));
