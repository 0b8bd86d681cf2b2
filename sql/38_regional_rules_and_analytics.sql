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
-- key is unchanged), so cohorts can be followed without knowing who is in them.


create table private.regional_rules (
    region_code text primary key
        check (region_code ~ '^[0-9]{2}$'),
    name text not null unique,
    localisation_required boolean not null,
    additional_consent_required boolean not null,
    retention_months integer not null
        check (retention_months between 1 and 240),
    extra_requirements text[] not null default '{}',
    note text
);

comment on table private.regional_rules is
    'Per-province requirements on personal data (BPS province code and name as on member '
    'profiles). A region without a row follows the national defaults.';
comment on column private.regional_rules.localisation_required is
    'Data about members of the region must be stored and processed in Indonesia.';
comment on column private.regional_rules.additional_consent_required is
    'Submissions must carry "additionalConsent": true in their payload: consent recorded '
    'beyond the national form (for example from the provincial education office).';

alter table private.regional_rules enable row level security;
revoke all on private.regional_rules from public, anon, authenticated;
grant select on private.regional_rules to service_role;


-- The rule of a region (matched by name, case and spacing ignored), or null.
create function private.regional_rule(region text)
returns private.regional_rules
language sql
stable
security definer
set search_path = ''
as $$
    select r.*
    from private.regional_rules as r
    where pg_catalog.lower(pg_catalog.regexp_replace(pg_catalog.btrim(r.name), '\s+', ' ', 'g'))
        = pg_catalog.lower(pg_catalog.regexp_replace(pg_catalog.btrim(region), '\s+', ' ', 'g'))
$$;

comment on function private.regional_rule(text) is
    'The regional rule for a region name as written on a profile, or null for none.';


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


create function public.anonymised_members()
returns table (
    member_key text,
    role public.app_role,
    status public.account_status,
    region text,
    cohort text,
    joined_month date,
    total_points bigint,
    badges bigint
)
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.allow_analytics('members');
    return query
    select
        private.analytics_key_of(u.id),
        u.role,
        u.status,
        u.region,
        u.cohort,
        pg_catalog.date_trunc('month', u.created_at)::date,
        coalesce((select pg_catalog.sum(p.delta) from public.points_ledger as p
                  where p.user_id = u.id), 0)::bigint,
        (select pg_catalog.count(*) from public.earned_badges as b where b.user_id = u.id)
    from public.users as u
    where u.deleted_at is null
    order by 1;
end
$$;

comment on function public.anonymised_members() is
    'Members for analysis: keyed pseudonym instead of id; role, status, region, cohort, month '
    'joined, points and badges; no name, school, handle or contact. Caller: '
    'analytics:view_all at aal2; recorded as analytics.read.';


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
revoke all on function private.check_regional_rules(uuid, jsonb) from public, anon;
grant execute on function private.check_regional_rules(uuid, jsonb) to service_role;
revoke all on function private.enforce_regional_rules() from public, anon, authenticated;
revoke all on function private.analytics_key_of(uuid) from public, anon, authenticated,
    service_role;
revoke all on function private.allow_analytics(text) from public, anon, authenticated,
    service_role;
revoke all on function public.anonymised_members() from public, anon;
grant execute on function public.anonymised_members() to authenticated;
revoke all on function public.anonymised_submissions() from public, anon;
grant execute on function public.anonymised_submissions() to authenticated;
