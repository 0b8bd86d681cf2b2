-- Controls on data exports: an administrator's switch that pauses them, and a limit per
-- subject. Exports carry a member's whole record, so a leaked token or a runaway script must
-- not be able to pull it over and over, and an incident must be able to stop them at once.
-- dsar-export asks private.export_allowed() before it reads anything; a refusal is recorded.


create table private.platform_switches (
    name text primary key
        check (name in ('exports_paused')),
    enabled boolean not null default false,
    reason text
        check (pg_catalog.length(reason) <= 300),
    changed_by uuid,
    changed_at timestamptz not null default pg_catalog.now()
);

comment on table private.platform_switches is
    'Switches administrators flip during incidents. exports_paused: dsar-export answers 503.';

insert into private.platform_switches (name) values ('exports_paused')
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
                hint = 'Switches: exports_paused.';
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
