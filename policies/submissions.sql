-- public.submissions: activity evidence.
--
-- Members create and read their own submissions, edit or withdraw them while PENDING, and
-- may switch a decided one between PRIVATE and PUBLIC (its content is then frozen). PUBLIC
-- means readable by every active member (the restrictive policy admits only those), except
-- the work of suspended or soft-deleted members, which leaves other members' sight.
-- Submissions are PRIVATE by default; an APPROVED and PUBLIC one is readable by all members.
-- Reviewers read every submission and decide the PENDING ones of other members; a decision
-- is final through the API. Which columns each may change is enforced by
-- private.guard_submission_update().

revoke all on public.submissions from public, anon, authenticated, service_role;
grant select on public.submissions to authenticated;
grant insert (owner_id, activity_code, title, payload, visibility)
    on public.submissions to authenticated;
-- activity_code is fixed at creation: it sets the points an approval credits, so it must not
-- change between a reviewer reading a submission and deciding it.
grant update (title, payload, visibility, status, review_note)
    on public.submissions to authenticated;
grant delete on public.submissions to authenticated;
grant select, insert, update, delete on public.submissions to service_role;

alter table public.submissions enable row level security;

create policy "active sessions only, privileged ones at aal2"
    on public.submissions
    as restrictive
    for all
    to authenticated
    using ((select private.session_allowed()))
    with check ((select private.session_allowed()));

-- One policy for both rules, owner first: OR is evaluated left to right and the helper behind
-- the reviewer check runs only when first needed, so a member listing their own submissions
-- never pays for it.
create policy "members read own submissions, reviewers read all"
    on public.submissions
    for select
    to authenticated
    using (
        owner_id = (select auth.uid())
        or (select private.authorize('submission:view_all'))
    );

create policy "members read approved public submissions of active members"
    on public.submissions
    for select
    to authenticated
    using (
        visibility = 'PUBLIC'
        and status = 'APPROVED'
        and owner_active
    );

create policy "members create own pending submissions"
    on public.submissions
    for insert
    to authenticated
    with check (
        owner_id = (select auth.uid())
        and status = 'PENDING'
        and reviewer_id is null
        and review_note is null
        and reviewed_at is null
        and (select private.authorize('submission:create'))
    );

create policy "members edit own pending submissions"
    on public.submissions
    for update
    to authenticated
    using (owner_id = (select auth.uid()) and status = 'PENDING')
    with check (owner_id = (select auth.uid()) and status = 'PENDING');

create policy "reviewers decide other active members' pending submissions"
    on public.submissions
    for update
    to authenticated
    using (
        owner_id <> (select auth.uid())
        and status = 'PENDING'
        and owner_active
        and (select private.authorize('submission:review'))
    )
    with check (
        owner_id <> (select auth.uid())
        and (select private.authorize('submission:review'))
    );

create policy "members change the visibility of own decided submissions"
    on public.submissions
    for update
    to authenticated
    using (owner_id = (select auth.uid()) and status <> 'PENDING')
    with check (owner_id = (select auth.uid()) and status <> 'PENDING');

create policy "members withdraw own pending submissions"
    on public.submissions
    for delete
    to authenticated
    using (owner_id = (select auth.uid()) and status = 'PENDING');
