-- public.earned_badges: badges members hold.
--
-- Threshold badges are awarded by a trigger. Through the API, members read their own badges;
-- administrators read all, and give or take back badges of other members, never their own.

revoke all on public.earned_badges from public, anon, authenticated, service_role;
grant select on public.earned_badges to authenticated;
grant insert (user_id, badge_id) on public.earned_badges to authenticated;
grant delete on public.earned_badges to authenticated;
grant select, insert, update, delete on public.earned_badges to service_role;

alter table public.earned_badges enable row level security;

create policy "active sessions only, privileged ones at aal2"
    on public.earned_badges
    as restrictive
    for all
    to authenticated
    using ((select private.session_allowed()))
    with check ((select private.session_allowed()));

create policy "members read own badges"
    on public.earned_badges
    for select
    to authenticated
    using (user_id = (select auth.uid()));

create policy "admins read all earned badges"
    on public.earned_badges
    for select
    to authenticated
    using ((select private.authorize('analytics:view_all')));

create policy "admins give badges to other members"
    on public.earned_badges
    for insert
    to authenticated
    with check (
        (select private.authorize('user:manage'))
        and user_id <> (select auth.uid())
        and awarded_by = (select auth.uid())
    );

create policy "admins take back badges of other members"
    on public.earned_badges
    for delete
    to authenticated
    using (
        (select private.authorize('user:manage'))
        and user_id <> (select auth.uid())
    );
