-- public.leaderboard_totals (view) over private.leaderboard_entries (table).
--
-- Only ACTIVE, non-deleted, PUBLIC profiles have an entry, and an entry holds a handle, a
-- cohort and totals: no personal data. Active members read it; user_id is not granted, so an
-- entry cannot be joined back to a profile. Nobody writes it through the API: triggers do.

revoke all on private.leaderboard_entries from public, anon, authenticated, service_role;
grant select (handle, cohort, total_points, badge_count, updated_at)
    on private.leaderboard_entries to authenticated;
grant select on private.leaderboard_entries to service_role;

revoke all on public.leaderboard_totals from public, anon, authenticated, service_role;
grant select on public.leaderboard_totals to authenticated, service_role;

alter table private.leaderboard_entries enable row level security;

create policy "active sessions only, privileged ones at aal2"
    on private.leaderboard_entries
    as restrictive
    for all
    to authenticated
    using ((select private.session_allowed()))
    with check ((select private.session_allowed()));

create policy "members read the public leaderboard"
    on private.leaderboard_entries
    for select
    to authenticated
    using ((select private.authorize('leaderboard:view_public')));
