-- Regional rules for personal data, and anonymised analytics.
--
-- Provinces may add requirements to the national ones (UU 27/2022): where data must be kept,
-- extra consent before pupils' work is recorded, how long it is kept. They are data
-- (private.regional_rules, rows in sql/data/22_regional_rules.sql), matched to a member by the
-- region on their profile; a submission from a region that requires additional consent is
-- refused without it, whether it comes from a client or a function.
--
-- Analysts get members and submissions without HIGH or MEDIUM fields and with a keyed hash in
-- place of the member id: the same member gets the same key on every call (while the analytics
-- key is unchanged), so cohorts can be followed without knowing who is in them. Groups smaller
-- than five are blurred and points banded, so that public leaderboard figures do not point
-- back at a member; linking remains possible for someone holding other data about the cohort.


-- A region name reduced to what identifies it: lowercase letters and single spaces, without
-- a leading "provinsi" or "prov." ("Prov. Aceh", "ACEH." and " aceh " are all "aceh").
create function private.region_key(region text)
returns text
language sql
immutable
set search_path = ''
as $$
    select pg_catalog.btrim(pg_catalog.regexp_replace(
        pg_catalog.regexp_replace(
            pg_catalog.regexp_replace(pg_catalog.lower(region), '[^a-z ]+', ' ', 'g'),
            '^\s*(provinsi|prov)\s+', ''),
        '\s+', ' ', 'g'))
$$;

-- Every key a rule answers to: its name's and its aliases'.
create function private.region_keys(name text, aliases text[])
returns text[]
language sql
immutable
set search_path = ''
as $$
    select pg_catalog.array_agg(distinct private.region_key(n))
    from pg_catalog.unnest(aliases || name) as n
$$;


create table private.regional_rules (
    region_code text primary key
        check (region_code ~ '^[0-9]{2}$'),
    name text not null unique,
    localisation_required boolean not null,
    additional_consent_required boolean not null,
    retention_months integer not null
        check (retention_months between 1 and 240),
    extra_requirements text[] not null default '{}',
    aliases text[] not null default '{}',
    note text,
    -- Worked out once per rule, so that matching a profile costs one normalisation.
    name_keys text[] generated always as (private.region_keys(name, aliases)) stored
);

comment on table private.regional_rules is
    'Per-province requirements on personal data (BPS province code and name as on member '
    'profiles). A region without a row follows the national defaults.';
comment on column private.regional_rules.aliases is
    'Other names the province goes by on profiles (full or short forms), matched like name.';
comment on column private.regional_rules.localisation_required is
    'Data about members of the region must be stored and processed in Indonesia.';
comment on column private.regional_rules.additional_consent_required is
    'Submissions must carry "additionalConsent": true in their payload: consent recorded '
    'beyond the national form (for example from the provincial education office).';

alter table private.regional_rules enable row level security;
revoke all on private.regional_rules from public, anon, authenticated;
grant select on private.regional_rules to service_role;


-- The rule of a region, by its name or one of its aliases, or null.
create function private.regional_rule(region text)
returns private.regional_rules
language sql
stable
security definer
set search_path = ''
as $$
    select r.*
    from private.regional_rules as r
    where private.region_key(region) = any(r.name_keys)
    limit 1
$$;

comment on function private.regional_rule(text) is
    'The regional rule for a region name (or alias) as written on a profile, ignoring case, '
    'punctuation and a "Provinsi"/"Prov." prefix; null for none.';


-- Refuses (LGR01) a payload from a member whose region requires additional consent when the
-- payload does not carry "additionalConsent": true. Returns true otherwise.
create function private.check_regional_rules(member uuid, payload jsonb)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    rule private.regional_rules;
begin
    select r.* into rule
    from public.users as u
    cross join lateral private.regional_rule(u.region) as r
    where u.id = member;
    if rule.additional_consent_required
        and coalesce(payload -> 'additionalConsent', 'false'::jsonb) <> 'true'::jsonb
    then
        raise exception 'submissions from % need additional consent', rule.name
            using errcode = 'LGR01',
                detail = 'path: $.additionalConsent',
                hint = 'Record the consent required in this region, then send '
                    || '"additionalConsent": true in the payload.';
    end if;
    return true;
end
$$;

comment on function private.check_regional_rules(uuid, jsonb) is
    'Raises LGR01 when the member''s region requires additional consent and the payload '
    'lacks "additionalConsent": true.';


create function private.enforce_regional_rules()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.check_regional_rules(new.owner_id, new.payload);
    return new;
end
$$;

create trigger submissions_regional_rules
    before insert or update of payload, owner_id on public.submissions
    for each row execute function private.enforce_regional_rules();


-- Anonymised analytics ----------------------------------------------------------------------------

-- The keyed pseudonym of a member for analytics: HMAC-SHA256 of the id under the analytics
-- key, hex. Stable across calls; meaningless without the key.
create function private.analytics_key_of(member uuid)
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    return pg_catalog.encode(extensions.hmac(member::text,
        (private.pii_key('analytics')).secret, 'sha256'), 'hex');
end
$$;


-- Refuses callers without analytics:view_all at aal2, and records the read.
create function private.allow_analytics(dataset text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    if auth.uid() is null
        or not private.session_allowed()
        or not private.authorize('analytics:view_all')
    then
        raise exception 'not allowed to read analytics'
            using errcode = 'insufficient_privilege',
                hint = 'Analytics are for ADMIN and SUPERADMIN signed in with MFA (aal2).';
    end if;
    perform audit.record_event('analytics.read', 'analytics', dataset);
end
$$;


-- Small groups identify people: a region, cohort or role shared by fewer than this many
-- members is returned as null, and points are given in bands of 50.
create function private.analytics_min_group()
returns integer
language sql
immutable
set search_path = ''
as $$
    select 5
$$;


create function public.anonymised_members()
returns table (
    member_key text,
    role public.app_role,
    status public.account_status,
    region text,
    cohort text,
    joined_month date,
    points_band bigint,
    badges bigint
)
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.allow_analytics('members');
    return query
    with members as (
        select
            u.id,
            u.role,
            u.status,
            u.region,
            u.cohort,
            pg_catalog.date_trunc('month', u.created_at)::date as joined,
            pg_catalog.count(*) over (partition by u.region) as region_size,
            pg_catalog.count(*) over (partition by u.cohort) as cohort_size,
            pg_catalog.count(*) over (partition by u.role) as role_size
        from public.users as u
        where u.deleted_at is null
    )
    select
        private.analytics_key_of(m.id),
        case when m.role_size >= private.analytics_min_group() then m.role end,
        m.status,
        case when m.region_size >= private.analytics_min_group() then m.region end,
        case when m.cohort_size >= private.analytics_min_group() then m.cohort end,
        m.joined,
        (coalesce((select pg_catalog.sum(p.delta) from public.points_ledger as p
                   where p.user_id = m.id), 0) / 50 * 50)::bigint,
        (select pg_catalog.count(*) from public.earned_badges as b where b.user_id = m.id)
    from members as m
    order by 1;
end
$$;

comment on function public.anonymised_members() is
    'Members for analysis: keyed pseudonym instead of id; role, status, region and cohort '
    '(null where fewer than 5 members share them), month joined, points in bands of 50, '
    'badges; no name, school, handle or contact. Caller: analytics:view_all at aal2; '
    'recorded as analytics.read.';


create function public.anonymised_submissions()
returns table (
    member_key text,
    activity_code public.activity_code,
    status public.submission_status,
    visibility public.visibility,
    created_on date,
    reviewed_on date
)
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.allow_analytics('submissions');
    return query
    select
        private.analytics_key_of(s.owner_id),
        s.activity_code,
        s.status,
        s.visibility,
        s.created_at::date,
        s.reviewed_at::date
    from public.submissions as s
    order by 1, 5;
end
$$;

comment on function public.anonymised_submissions() is
    'Submissions for analysis: owner as keyed pseudonym, activity, status, visibility and '
    'dates; no title, payload or review note. Caller: analytics:view_all at aal2; recorded as '
    'analytics.read.';


revoke all on function private.regional_rule(text) from public, anon, authenticated;
revoke all on function private.region_key(text) from public, anon;
revoke all on function private.region_keys(text, text[]) from public, anon;
revoke all on function private.check_regional_rules(uuid, jsonb) from public, anon;
grant execute on function private.check_regional_rules(uuid, jsonb) to service_role;
revoke all on function private.enforce_regional_rules() from public, anon, authenticated;
revoke all on function private.analytics_key_of(uuid) from public, anon, authenticated,
    service_role;
revoke all on function private.allow_analytics(text) from public, anon, authenticated,
    service_role;
revoke all on function private.analytics_min_group() from public, anon;
revoke all on function public.anonymised_members() from public, anon;
grant execute on function public.anonymised_members() to authenticated;
revoke all on function public.anonymised_submissions() from public, anon;
grant execute on function public.anonymised_submissions() to authenticated;
