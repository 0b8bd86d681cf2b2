-- Application tables. Access to each is defined in policies/<table>.sql.


create table public.users (
    id uuid primary key references auth.users (id) on delete cascade,
    handle text not null unique
        check (handle ~ '^[a-z0-9_]{3,32}$'),
    name text not null default ''
        check (pg_catalog.length(name) <= 200),
    school text
        check (pg_catalog.length(school) <= 200),
    cohort text
        check (pg_catalog.length(cohort) <= 50),
    region text
        check (pg_catalog.length(region) <= 100),
    role public.app_role not null default 'PARTICIPANT',
    status public.account_status not null default 'ACTIVE',
    visibility public.visibility not null default 'PRIVATE',
    created_at timestamptz not null default pg_catalog.now(),
    updated_at timestamptz not null default pg_catalog.now(),
    deleted_at timestamptz
);

comment on table public.users is
    'Member profile, one per auth user. Holds the role of record that all policies read.';
comment on column public.users.id is 'Same id as auth.users.';
comment on column public.users.handle is
    'Public pseudonym shown on the leaderboard: lowercase letters, digits, underscore.';
comment on column public.users.name is 'Full name: personal data, never shown publicly.';
comment on column public.users.school is 'School of employment: personal data.';
comment on column public.users.cohort is 'Programme cohort, assigned by administrators.';
comment on column public.users.region is 'Province or regency: personal data.';
comment on column public.users.role is
    'Role of record. Only public.set_user_role() changes it; clients have no write grant on it.';
comment on column public.users.status is
    'ACTIVE or SUSPENDED. Only public.set_user_status() changes it.';
comment on column public.users.visibility is
    'PUBLIC puts the handle and totals on the leaderboard; PRIVATE (default) keeps them off.';
comment on column public.users.deleted_at is
    'Soft-delete marker: set when erasure is requested; the account is refused from then on.';


create table public.submissions (
    id uuid primary key default extensions.gen_random_uuid(),
    owner_id uuid not null default auth.uid() references public.users (id) on delete cascade,
    activity_code public.activity_code not null,
    title text not null
        check (pg_catalog.length(title) between 1 and 200),
    payload jsonb not null default '{}'::jsonb
        check (pg_catalog.jsonb_typeof(payload) = 'object')
        check (pg_catalog.pg_column_size(payload) <= 65536),
    status public.submission_status not null default 'PENDING',
    visibility public.visibility not null default 'PRIVATE',
    reviewer_id uuid references public.users (id) on delete set null,
    review_note text
        check (pg_catalog.length(review_note) <= 2000),
    reviewed_at timestamptz,
    owner_active boolean not null default true,
    created_at timestamptz not null default pg_catalog.now(),
    updated_at timestamptz not null default pg_catalog.now(),
    -- Lets attachments reference (submission, owner) so they can never name another owner.
    unique (id, owner_id),
    -- A decided submission always says when it was decided.
    check (status = 'PENDING' or reviewed_at is not null)
);

comment on table public.submissions is
    'Evidence of one professional-learning activity, reviewed by a REVIEWER or above.';
comment on column public.submissions.payload is
    'Activity details as a JSON object (at most 64 kB); may contain classroom information.';
comment on column public.submissions.visibility is
    'PRIVATE by default; PUBLIC and APPROVED submissions are readable by all members.';
comment on column public.submissions.reviewer_id is
    'Set by the database to the reviewing user when the status changes, never by the client.';
comment on column public.submissions.reviewed_at is
    'Set by the database when the status changes.';
comment on column public.submissions.owner_active is
    'False while the owner is suspended or soft-deleted; kept by a trigger on public.users. Their '
    'public work then leaves other members'' sight and reviewers do not decide it.';

create index submissions_owner_created_idx
    on public.submissions (owner_id, created_at desc);
create index submissions_pending_queue_idx
    on public.submissions (created_at)
    where status = 'PENDING';
create index submissions_reviewer_idx
    on public.submissions (reviewer_id)
    where reviewer_id is not null;


create table public.submission_attachments (
    id uuid primary key default extensions.gen_random_uuid(),
    submission_id uuid not null,
    owner_id uuid not null,
    storage_bucket text not null default 'evidence',
    storage_path text not null,
    file_name text not null
        check (pg_catalog.length(file_name) between 1 and 255),
    mime_type text not null,
    byte_size bigint not null
        check (byte_size > 0),
    sha256 text not null
        check (sha256 ~ '^[0-9a-f]{64}$'),
    scan_status public.scan_status not null default 'PENDING',
    scanned_at timestamptz,
    created_at timestamptz not null default pg_catalog.now(),
    foreign key (submission_id, owner_id)
        references public.submissions (id, owner_id) on delete cascade,
    unique (storage_bucket, storage_path)
);

comment on table public.submission_attachments is
    'Metadata of an evidence file; the bytes live in Storage at storage_bucket/storage_path.';
comment on column public.submission_attachments.owner_id is
    'Always the owner of the submission (enforced by the composite foreign key).';
comment on column public.submission_attachments.file_name is
    'Name given by the uploader; may contain personal data.';
comment on column public.submission_attachments.sha256 is
    'Hex SHA-256 of the stored bytes, after metadata stripping.';

create index submission_attachments_submission_idx
    on public.submission_attachments (submission_id);
create index submission_attachments_owner_idx
    on public.submission_attachments (owner_id);


create table public.points_ledger (
    id bigint generated always as identity primary key,
    user_id uuid not null references public.users (id) on delete cascade,
    delta integer not null
        check (delta <> 0 and delta between -1000 and 1000),
    reason text not null
        check (pg_catalog.length(reason) between 1 and 200),
    submission_id uuid references public.submissions (id) on delete set null,
    awarded_by uuid default auth.uid() references public.users (id) on delete set null,
    created_at timestamptz not null default pg_catalog.now()
);

comment on table public.points_ledger is
    'Append-only ledger of points; a member''s total is the sum of their rows.';
comment on column public.points_ledger.submission_id is
    'The approved submission that earned these points; null for manual adjustments.';
comment on column public.points_ledger.awarded_by is
    'Administrator who made a manual adjustment; null when the platform credited the points.';

create index points_ledger_user_idx
    on public.points_ledger (user_id);
-- An approval credits points once, however often the status is written.
create unique index points_ledger_one_award_per_submission_idx
    on public.points_ledger (submission_id)
    where submission_id is not null;


create table public.badges (
    id text primary key
        check (id ~ '^[a-z0-9_]{2,40}$'),
    name text not null
        check (pg_catalog.length(name) between 1 and 100),
    description text not null default '',
    points_threshold integer
        check (points_threshold > 0),
    created_at timestamptz not null default pg_catalog.now()
);

comment on table public.badges is 'Badge catalogue, readable by every member.';
comment on column public.badges.points_threshold is
    'Total points at which the badge is awarded automatically; null for badges given by hand.';


create table public.earned_badges (
    user_id uuid not null references public.users (id) on delete cascade,
    badge_id text not null references public.badges (id),
    awarded_by uuid default auth.uid() references public.users (id) on delete set null,
    awarded_at timestamptz not null default pg_catalog.now(),
    primary key (user_id, badge_id)
);

comment on table public.earned_badges is 'Badges a member holds, each at most once.';
comment on column public.earned_badges.awarded_by is
    'Administrator who gave the badge by hand; null when awarded automatically.';

create index earned_badges_badge_idx
    on public.earned_badges (badge_id);


create table private.leaderboard_entries (
    user_id uuid primary key references public.users (id) on delete cascade,
    handle text not null unique,
    cohort text,
    total_points integer not null default 0,
    badge_count integer not null default 0,
    updated_at timestamptz not null default pg_catalog.now()
);

comment on table private.leaderboard_entries is
    'Totals of ACTIVE, non-deleted, PUBLIC profiles only, kept current by triggers. Read by '
    'clients through the public.leaderboard_totals view, under this table''s RLS.';
comment on column private.leaderboard_entries.user_id is
    'Internal key; not granted to API roles, so an entry cannot be joined back to a profile.';

create index leaderboard_entries_points_idx
    on private.leaderboard_entries (total_points desc);


-- The view runs with the caller's rights (security_invoker), so the RLS of
-- private.leaderboard_entries decides what each caller sees; it adds no privilege.
create view public.leaderboard_totals
with (security_invoker = true)
as
select
    pg_catalog.rank() over (order by e.total_points desc) as rank,
    e.handle,
    e.cohort,
    e.total_points,
    e.badge_count,
    e.updated_at
from private.leaderboard_entries as e;

comment on view public.leaderboard_totals is
    'Leaderboard of public profiles: pseudonymous handle, cohort and totals, no personal data.';


-- History of role changes; the complete audit trail is kept separately.
create table private.role_changes (
    id bigint generated always as identity primary key,
    user_id uuid not null references public.users (id) on delete cascade,
    old_role public.app_role not null,
    new_role public.app_role not null,
    changed_by uuid,
    changed_at timestamptz not null default pg_catalog.now()
);

comment on table private.role_changes is 'Every change of a member''s role, with who made it.';


create table private.status_changes (
    id bigint generated always as identity primary key,
    user_id uuid not null references public.users (id) on delete cascade,
    old_status public.account_status not null,
    new_status public.account_status not null,
    changed_by uuid,
    changed_at timestamptz not null default pg_catalog.now()
);

comment on table private.status_changes is
    'Every suspension and reactivation of a member, with who made it.';

revoke all on private.role_changes, private.status_changes from public;
grant select on private.role_changes, private.status_changes to service_role;
