-- Trigger functions that keep derived data right and enforce the column rules that RLS
-- cannot express (RLS decides which rows; these decide which changes to a row).


create function private.touch_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.updated_at := pg_catalog.now();
    return new;
end
$$;

create trigger users_touch_updated_at
    before update on public.users
    for each row execute function private.touch_updated_at();


-- Putting a profile on the public leaderboard is the member's own choice: an administrator
-- may edit a profile but not publish it (or hide it) for them. Runs as the caller, so
-- current_user tells an API call from trusted server-side code.
create function private.guard_profile_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if current_user = 'authenticated'
        and old.id is distinct from auth.uid()
        and new.visibility is distinct from old.visibility
    then
        raise exception 'only the member chooses whether their profile is public'
            using errcode = 'insufficient_privilege';
    end if;
    return new;
end
$$;

create trigger users_guard_update
    before update on public.users
    for each row execute function private.guard_profile_update();


-- A profile is created for every new auth user. Only the handle and display name are taken
-- from user_metadata, which the user controls; the role always starts at PARTICIPANT.
create function private.create_profile_for_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    wanted_handle text := pg_catalog.lower(new.raw_user_meta_data ->> 'handle');
    fallback_handle text := 'member_'
        || pg_catalog.left(pg_catalog.replace(new.id::text, '-', ''), 12);
begin
    if wanted_handle is null
        or wanted_handle !~ '^[a-z0-9_]{3,32}$'
        or exists (select 1 from public.users as u where u.handle = wanted_handle)
    then
        wanted_handle := fallback_handle;
    end if;

    insert into public.users (id, handle, name)
    values (
        new.id,
        wanted_handle,
        pg_catalog.left(coalesce(new.raw_user_meta_data ->> 'name', ''), 200)
    );
    return new;
end
$$;

comment on function private.create_profile_for_new_user() is
    'Creates the public.users profile of a new auth user, always as PARTICIPANT.';

create trigger on_auth_user_created
    after insert on auth.users
    for each row execute function private.create_profile_for_new_user();


-- Column rules for submissions changed through the API. An owner may edit the content of
-- their own pending submission; a reviewer may change only the status and the review note
-- of someone else's. Reviewer and review time are stamped here, never taken from the client.
-- Runs as the caller (not SECURITY DEFINER) so that current_user tells an API call apart
-- from trusted server-side code.
create function private.guard_submission_update()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
begin
    if current_user <> 'authenticated' then
        new.updated_at := pg_catalog.now();
        return new;
    end if;

    if new.id <> old.id
        or new.owner_id is distinct from old.owner_id
        or new.created_at is distinct from old.created_at
    then
        raise exception 'the id, owner and creation time of a submission cannot be changed'
            using errcode = 'insufficient_privilege';
    end if;

    if new.activity_code is distinct from old.activity_code then
        raise exception 'the activity of a submission cannot be changed'
            using errcode = 'insufficient_privilege',
                hint = 'Withdraw the submission and create a new one.';
    end if;

    if old.owner_id = caller then
        if old.status <> 'PENDING'
            and (new.title is distinct from old.title or new.payload is distinct from old.payload)
        then
            raise exception 'a decided submission can only change its visibility'
                using errcode = 'insufficient_privilege';
        end if;
        if new.status is distinct from old.status
            or new.review_note is distinct from old.review_note
            or new.reviewer_id is distinct from old.reviewer_id
            or new.reviewed_at is distinct from old.reviewed_at
        then
            raise exception 'members cannot review their own submissions'
                using errcode = 'insufficient_privilege',
                    hint = 'Status and review note are set by a reviewer.';
        end if;
    else
        if new.activity_code is distinct from old.activity_code
            or new.title is distinct from old.title
            or new.payload is distinct from old.payload
            or new.visibility is distinct from old.visibility
            or new.reviewer_id is distinct from old.reviewer_id
            or new.reviewed_at is distinct from old.reviewed_at
        then
            raise exception 'reviewers may change only the status and review note'
                using errcode = 'insufficient_privilege';
        end if;
        if new.status is distinct from old.status
            and (old.status <> 'PENDING' or new.status = 'PENDING')
        then
            raise exception 'a % submission cannot become %', old.status, new.status
                using errcode = 'invalid_parameter_value',
                    hint = 'Only PENDING submissions are reviewed, to APPROVED or REJECTED.';
        end if;
        if new.status is distinct from old.status
            or new.review_note is distinct from old.review_note
        then
            new.reviewer_id := caller;
            new.reviewed_at := pg_catalog.now();
        end if;
    end if;

    new.updated_at := pg_catalog.now();
    return new;
end
$$;

comment on function private.guard_submission_update() is
    'Enforces which columns an owner or a reviewer may change, and stamps the reviewer.';

create trigger submissions_guard_update
    before update on public.submissions
    for each row execute function private.guard_submission_update();


create function private.credit_approved_submission()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    insert into public.points_ledger (user_id, delta, reason, submission_id, awarded_by)
    select new.owner_id, r.points, 'approved ' || pg_catalog.lower(new.activity_code::text),
        new.id, null
    from private.activity_rewards as r
    where r.activity_code = new.activity_code
    on conflict (submission_id) where submission_id is not null do nothing;
    return null;
end
$$;

comment on function private.credit_approved_submission() is
    'Credits the activity''s points to the owner once when a submission becomes APPROVED.';

create trigger submissions_credit_points
    after update of status on public.submissions
    for each row
    when (new.status = 'APPROVED' and old.status <> 'APPROVED')
    execute function private.credit_approved_submission();


create function private.award_threshold_badges()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    -- Serialise with other point changes of the same member (see refresh_leaderboard), so
    -- two concurrent credits that together cross a threshold are both counted.
    perform 1
    from public.users as u
    where u.id = new.user_id
    for no key update;

    insert into public.earned_badges (user_id, badge_id, awarded_by)
    select new.user_id, b.id, null
    from public.badges as b
    where b.points_threshold is not null
        and b.points_threshold <= (
            select coalesce(sum(l.delta), 0)
            from public.points_ledger as l
            where l.user_id = new.user_id
        )
    on conflict (user_id, badge_id) do nothing;
    return null;
end
$$;

comment on function private.award_threshold_badges() is
    'Awards every threshold badge the member''s new point total has reached.';

create trigger points_ledger_award_badges
    after insert on public.points_ledger
    for each row execute function private.award_threshold_badges();


-- Each statement of this (volatile) function takes a fresh snapshot. The first one waits for
-- any other transaction refreshing or changing the same member, so the totals written next
-- include that transaction's changes instead of overwriting them with stale figures.
create function private.refresh_leaderboard(target uuid)
returns void
language sql
security definer
set search_path = ''
as $$
    select 1
    from public.users as u
    where u.id = target
    for no key update;

    delete from private.leaderboard_entries as t
    where t.user_id = target
        and not exists (
            select 1
            from public.users as u
            where u.id = target
                and u.status = 'ACTIVE'
                and u.deleted_at is null
                and u.visibility = 'PUBLIC'
        );

    insert into private.leaderboard_entries as t
        (user_id, handle, cohort, total_points, badge_count, updated_at)
    select
        u.id,
        u.handle,
        u.cohort,
        coalesce((select sum(l.delta) from public.points_ledger as l where l.user_id = u.id), 0),
        (select count(*) from public.earned_badges as e where e.user_id = u.id),
        pg_catalog.now()
    from public.users as u
    where u.id = target
        and u.status = 'ACTIVE'
        and u.deleted_at is null
        and u.visibility = 'PUBLIC'
    on conflict (user_id) do update
    set handle = excluded.handle,
        cohort = excluded.cohort,
        total_points = excluded.total_points,
        badge_count = excluded.badge_count,
        updated_at = excluded.updated_at;
$$;

comment on function private.refresh_leaderboard(uuid) is
    'Recomputes one member''s leaderboard row, or removes it when the profile is not public, '
    'not active or deleted.';

create function private.refresh_leaderboard_for_row()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if tg_table_name = 'users' then
        perform private.refresh_leaderboard(case when tg_op = 'DELETE' then old.id else new.id end);
    else
        perform private.refresh_leaderboard(
            case when tg_op = 'DELETE' then old.user_id else new.user_id end);
    end if;
    return null;
end
$$;

create trigger users_refresh_leaderboard
    after insert or update of handle, cohort, status, visibility, deleted_at on public.users
    for each row execute function private.refresh_leaderboard_for_row();

create trigger points_ledger_refresh_leaderboard
    after insert or delete on public.points_ledger
    for each row execute function private.refresh_leaderboard_for_row();

create trigger earned_badges_refresh_leaderboard
    after insert or delete on public.earned_badges
    for each row execute function private.refresh_leaderboard_for_row();


-- Suspending or soft-deleting a member takes their work out of other members' sight and out of
-- the review queue; reactivation brings it back. Runs as the table owner.
create function private.sync_owner_active()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    active boolean := new.status = 'ACTIVE' and new.deleted_at is null;
begin
    update public.submissions as s
    set owner_active = active
    where s.owner_id = new.id
        and s.owner_active is distinct from active;
    return null;
end
$$;

comment on function private.sync_owner_active() is
    'Keeps public.submissions.owner_active equal to the owner being active and not deleted.';

create trigger users_sync_owner_active
    after update of status, deleted_at on public.users
    for each row
    when (old.status is distinct from new.status or old.deleted_at is distinct from new.deleted_at)
    execute function private.sync_owner_active();


create function private.set_owner_active()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    new.owner_active := exists (
        select 1
        from public.users as u
        where u.id = new.owner_id
            and u.status = 'ACTIVE'
            and u.deleted_at is null
    );
    return new;
end
$$;

comment on function private.set_owner_active() is
    'Sets owner_active of a new submission from its owner''s state (server-side inserts can '
    'add work for a member who is already suspended or deleted).';

create trigger submissions_set_owner_active
    before insert on public.submissions
    for each row execute function private.set_owner_active();
