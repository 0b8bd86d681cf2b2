-- public.users: member profiles and the role of record.
--
-- Members read and edit their own profile; reviewers read the profiles of members not
-- deleted, administrators every profile; administrators edit the profiles of members below
-- ADMIN, superadmins any profile, and only the member makes their profile public
-- (private.guard_profile_update). Nobody writes role, status, cohort, ids or timestamps
-- through the API: the column grants below leave them out, and set_user_role() and
-- set_user_status() are the only way to change a role or a status. Profiles are created by
-- a trigger on auth.users and removed with them, so clients have no INSERT or DELETE.

revoke all on public.users from public, anon, authenticated, service_role;
grant select on public.users to authenticated;
grant update (handle, name, school, region, visibility) on public.users to authenticated;
grant select, insert, update, delete on public.users to service_role;
-- The access token hook reads the role of record while Supabase Auth issues a token.
grant select (id, role, status, deleted_at) on public.users to supabase_auth_admin;

alter table public.users enable row level security;

create policy "active sessions only, privileged ones at aal2"
    on public.users
    as restrictive
    for all
    to authenticated
    using ((select private.session_allowed()))
    with check ((select private.session_allowed()));

create policy "members read own profile"
    on public.users
    for select
    to authenticated
    using (id = (select auth.uid()));

create policy "reviewers read undeleted profiles, admins all profiles"
    on public.users
    for select
    to authenticated
    using (
        ((select private.authorize('user:view_basic')) and deleted_at is null)
        or (select private.authorize('user:manage'))
    );

create policy "members update own profile"
    on public.users
    for update
    to authenticated
    using (id = (select auth.uid()) and (select private.authorize('profile:update_own')))
    with check (id = (select auth.uid()));

create policy "admins update members' profiles, superadmins any profile"
    on public.users
    for update
    to authenticated
    using (
        (select private.authorize('user:manage'))
        and (role < 'ADMIN' or (select private.authorize('security:manage')))
    )
    with check (
        (select private.authorize('user:manage'))
        and (role < 'ADMIN' or (select private.authorize('security:manage')))
    );

create policy "auth service reads roles for token claims"
    on public.users
    for select
    to supabase_auth_admin
    using (true);
