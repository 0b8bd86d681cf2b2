-- public.leaderboard_totals: public totals, maintained by triggers.
--
-- Only ACTIVE, non-deleted, PUBLIC profiles have a row, and a row holds a handle, a cohort
-- and totals: no personal data. Active members read it under RLS; user_id is not granted, so
-- a row cannot be joined back to a profile. Nobody writes it through the API.

revoke all on public.leaderboard_totals from public, anon, authenticated, service_role;
grant select (handle, cohort, total_points, badge_count, updated_at)
    on public.leaderboard_totals to authenticated;
grant select on public.leaderboard_totals to service_role;

alter table public.leaderboard_totals enable row level security;

create policy "active sessions only, privileged ones at aal2"
    on public.leaderboard_totals
    as restrictive
    for all
    to authenticated
    using ((select private.session_allowed()))
    with check ((select private.session_allowed()));

create policy "members read the public leaderboard"
    on public.leaderboard_totals
    for select
    to authenticated
    using ((select private.authorize('leaderboard:view_public')));
