-- Controls on data exports: an administrator's switch that pauses them, and a limit per
-- subject. Exports carry a member's whole record, so a leaked token or a runaway script must
-- not be able to pull it over and over, and an incident must be able to stop them at once.
-- dsar-export asks private.export_allowed() before it reads anything; a refusal is recorded.


create table private.platform_switches (
    name text primary key
        check (name in ('exports_paused', 'uploads_paused', 'emergency_rate_limit',
            'admin_reauth_required')),
    enabled boolean not null default false,
    reason text
        check (pg_catalog.length(reason) <= 300),
    changed_by uuid,
    changed_at timestamptz not null default pg_catalog.now()
);

comment on table private.platform_switches is
    'Switches administrators (and automatic responses) flip during incidents. exports_paused: '
    'dsar-export answers 503; uploads_paused: evidence-upload answers 503; '
    'emergency_rate_limit: every function rate limit is a tenth; admin_reauth_required: '
    'administrators must have signed in within the last 10 minutes (amr).';

insert into private.platform_switches (name)
values ('exports_paused'), ('uploads_paused'), ('emergency_rate_limit'), ('admin_reauth_required')
on conflict (name) do nothing;

alter table private.platform_switches enable row level security;
revoke all on private.platform_switches from public, anon, authenticated;
grant select on private.platform_switches to service_role;


-- Flips a switch. Caller: security:manage (SUPERADMIN) at aal2. Recorded in the audit trail.
create function public.set_platform_switch(switch text, enabled boolean, reason text)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
    if auth.uid() is null
        or not private.session_allowed()
        or not private.authorize('security:manage')
    then
        raise exception 'not allowed to change platform switches'
            using errcode = 'insufficient_privilege',
                hint = 'Switches are flipped by a SUPERADMIN signed in with MFA.';
    end if;
    if nullif(pg_catalog.btrim(reason), '') is null then
        raise exception 'say why the switch changes' using errcode = 'invalid_parameter_value';
    end if;
    update private.platform_switches as s
    set enabled = set_platform_switch.enabled,
        reason = pg_catalog.btrim(set_platform_switch.reason),
        changed_by = auth.uid(),
        changed_at = pg_catalog.now()
    where s.name = switch;
    if not found then
        raise exception 'no platform switch %', switch
            using errcode = 'invalid_parameter_value',
                hint = 'Switches: exports_paused, uploads_paused, emergency_rate_limit, '
                    || 'admin_reauth_required.';
    end if;
    return enabled;
end
$$;

comment on function public.set_platform_switch(text, boolean, text) is
    'Turns a platform switch (exports_paused) on or off, with a reason. Caller: security:manage '
    'at aal2. Recorded in the audit trail.';


-- The number of exports of one subject allowed per hour.
create function private.exports_per_hour()
returns integer
language sql
immutable
set search_path = ''
as $$
    select 10
$$;

-- Whether an export of this subject may start now: 'paused' while the switch is on,
-- 'rate_limited' (with the seconds to wait) after exports_per_hour() exports in the last hour.
create function private.export_allowed(
    subject uuid,
    out allowed boolean,
    out reason text,
    out retry_after_seconds integer
)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    oldest timestamptz;
begin
    if (select s.enabled from private.platform_switches as s where s.name = 'exports_paused')
    then
        allowed := false;
        reason := 'paused';
        return;
    end if;
    select pg_catalog.min(r.occurred_at)
    into oldest
    from (
        select l.occurred_at
        from audit.audit_log as l
        where l.action = 'dsar.export' and l.target_type = 'user'
            and l.target_id = subject::text and l.outcome = 'SUCCESS'
            and l.occurred_at > pg_catalog.now() - interval '1 hour'
        order by l.occurred_at desc
        limit private.exports_per_hour()
    ) as r
    having pg_catalog.count(*) >= private.exports_per_hour();
    if oldest is not null then
        allowed := false;
        reason := 'rate_limited';
        retry_after_seconds := greatest(1, pg_catalog.ceil(extract(epoch from
            oldest + interval '1 hour' - pg_catalog.now()))::integer);
        return;
    end if;
    allowed := true;
end
$$;

comment on function private.export_allowed(uuid) is
    'Whether dsar-export may export the subject now; if not, why (paused, rate_limited) and '
    'when to try again.';


revoke all on function public.set_platform_switch(text, boolean, text) from public, anon;
grant execute on function public.set_platform_switch(text, boolean, text) to authenticated;
revoke all on function private.exports_per_hour() from public, anon;
revoke all on function private.export_allowed(uuid) from public, anon, authenticated;
grant execute on function private.export_allowed(uuid) to service_role;

select audit.enable_tracking('private.platform_switches');


-- What an answer to an access request must tell the member besides the data (UU 27/2022):
-- why it is processed, what kinds of it exist, who receives it, how long each kind is kept,
-- where it comes from, and what they may ask. Built from the registries, so it changes with
-- them; dsar-export puts it in every export under about_this_data.
create function private.access_answer()
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
    select pg_catalog.jsonb_build_object(
        'purposes', pg_catalog.jsonb_build_array(
            'Recording your professional learning activities and their review',
            'Awarding points and badges, and the leaderboard when your profile is public',
            'Evaluating the LEAPS programme, with pseudonymised records',
            'Keeping the platform secure: access control and an audit trail'),
        'categories', (
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'category', c.category, 'sensitivity', c.sensitivity) order by c.category)
            from (
                select d.category,
                    (array['LOW', 'MEDIUM', 'HIGH'])[pg_catalog.max(pg_catalog.array_position(
                        array['LOW', 'MEDIUM', 'HIGH'], d.sensitivity))] as sensitivity
                from private.data_classification as d
                where d.schema_name <> 'auth'
                group by d.category
            ) as c),
        'recipients', pg_catalog.jsonb_build_array(
            'Reviewers of the programme (your submissions, for review)',
            'Programme administrators (your profile and records, with multi-factor sign-in)',
            'Other members only what you make public (handle and totals)',
            'No one outside the programme'),
        'retention', (
            select pg_catalog.jsonb_agg(k.rule order by k.data)
            from (
                select r.schema_name || '.' || r.table_name as data,
                    pg_catalog.jsonb_build_object(
                        'data', r.schema_name || '.' || r.table_name,
                        'kept_for', coalesce(r.retention::text, 'until the account is erased'),
                        'counted_from', r.basis, 'what_happens', r.description) as rule
                from private.retention_rules as r
                union all
                -- The schedule that runs by itself: what happens to a member and their data.
                select p.policy,
                    pg_catalog.jsonb_build_object(
                        'data', p.policy, 'kept_for', p.period::text, 'counted_from', p.basis,
                        'what_happens', p.description)
                from private.retention_policies as p
                where p.policy not in ('cron-history', 'rate-limit-counters',
                    'finished-notifications')
            ) as k),
        'sources', pg_catalog.jsonb_build_array(
            'You, through the LEAPS app', 'Reviewers'' decisions on your submissions',
            'Administrators (role, status, adjustments)'),
        'your_rights', pg_catalog.jsonb_build_array(
            'access and a copy (this export)', 'rectification', 'deletion',
            'restriction of processing', 'objection',
            'complaint to the personal data protection authority'),
        'answer_within_hours', 72)
$$;

comment on function private.access_answer() is
    'Purposes, categories, recipients, retention, sources and rights for an access answer, '
    'from the classification and retention registries.';

revoke all on function private.access_answer() from public, anon, authenticated;
grant execute on function private.access_answer() to service_role;
