-- Incidents: the record of a security event from detection to closure, with its timeline,
-- containment, evidence packages and, for a breach, the 72-hour notification deadline of
-- UU 27/2022.
--
-- Administrators (incident:manage, ADMIN+ at aal2) work incidents through the functions
-- below; the tables are private. Status moves one step at a time along OPEN, INVESTIGATING,
-- CONTAINED, RESOLVED, CLOSED. Every act lands on the incident's timeline and in the audit
-- trail. A CRITICAL detector finding opens an incident by itself and applies the automatic
-- response its rule calls for (suspending the actor, pausing exports, tightening rate limits,
-- asking administrators to sign in again), each recorded on the timeline.

create type private.incident_status as enum
    ('OPEN', 'INVESTIGATING', 'CONTAINED', 'RESOLVED', 'CLOSED');
create type private.incident_category as enum
    ('ACCESS_VIOLATION', 'DATA_BREACH', 'SYSTEM_COMPROMISE', 'MALWARE', 'DDOS');

create table private.incidents (
    id uuid primary key default extensions.gen_random_uuid(),
    severity text not null
        check (severity in ('low', 'medium', 'high', 'critical')),
    category private.incident_category not null,
    title text not null
        check (pg_catalog.length(pg_catalog.btrim(title)) between 3 and 200),
    description text
        check (pg_catalog.length(description) <= 4000),
    -- Member ids (not names): who was affected, for containment and breach notices.
    affected_users uuid[] not null default '{}',
    affected_systems text[] not null default '{}',
    first_detected_at timestamptz not null default pg_catalog.now(),
    status private.incident_status not null default 'OPEN',
    assignee_id uuid,
    opened_by uuid,
    alert_id bigint references private.security_alerts (id),
    -- A breach must be notified to the people affected and to the authority within 72 hours.
    -- Set by private.set_notice_due() from the category and the detection time.
    notice_due_at timestamptz,
    subjects_notified_at timestamptz,
    authority_notified_at timestamptz,
    created_at timestamptz not null default pg_catalog.now(),
    closed_at timestamptz
);

comment on table private.incidents is
    'Security incidents. notice_due_at is set for DATA_BREACH: 72 hours after detection.';

create index incidents_open_idx on private.incidents (status) where status <> 'CLOSED';

create function private.set_notice_due()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.notice_due_at := case when new.category = 'DATA_BREACH'
                              then new.first_detected_at + interval '72 hours' end;
    return new;
end
$$;

create trigger incidents_notice_due
    before insert or update of category, first_detected_at on private.incidents
    for each row execute function private.set_notice_due();

create table private.incident_timeline (
    id bigint generated always as identity primary key,
    incident_id uuid not null references private.incidents (id),
    at timestamptz not null default pg_catalog.clock_timestamp(),
    -- The administrator who acted; null for the system (automatic responses).
    actor_id uuid,
    entry text not null
        check (entry in ('opened', 'status', 'note', 'assigned', 'containment',
            'automatic_response', 'evidence', 'notification')),
    details jsonb not null default '{}'::jsonb
);

create index incident_timeline_incident_idx on private.incident_timeline (incident_id, at);

-- A frozen copy of what was known: the audit rows of a window, the privileged accounts. Its
-- SHA-256 is taken when it is made; every later access is added to its chain of custody.
create table private.incident_evidence (
    id uuid primary key default extensions.gen_random_uuid(),
    incident_id uuid not null references private.incidents (id),
    window_start timestamptz not null,
    window_end timestamptz not null,
    content jsonb not null,
    sha256 text not null
        check (sha256 ~ '^[0-9a-f]{64}$'),
    created_by uuid,
    created_at timestamptz not null default pg_catalog.now(),
    custody jsonb not null default '[]'::jsonb
);

alter table private.incidents enable row level security;
alter table private.incident_timeline enable row level security;
alter table private.incident_evidence enable row level security;
revoke all on private.incidents, private.incident_timeline, private.incident_evidence
    from public, anon, authenticated, service_role;
grant select on private.incidents, private.incident_timeline to service_role;


-- The caller may manage incidents (ADMIN+ at aal2), or is the service role.
create function private.require_incident_manager()
returns uuid
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    if pg_catalog.current_setting('role', true) = 'service_role' then
        return null;
    end if;
    if auth.uid() is null or not private.session_allowed()
        or not private.authorize('incident:manage')
    then
        raise exception 'not allowed to manage incidents'
            using errcode = 'insufficient_privilege',
                hint = 'Incidents are handled by administrators signed in with MFA.';
    end if;
    return auth.uid();
end
$$;


create function private.add_timeline(incident uuid, actor uuid, kind text, details jsonb)
returns void
language sql
security definer
set search_path = ''
as $$
    insert into private.incident_timeline (incident_id, actor_id, entry, details)
    values (incident, actor, kind, coalesce(details, '{}'::jsonb))
$$;


-- Opens an incident. Returns its id.
create function public.open_incident(
    category text,
    severity text,
    title text,
    description text default null,
    affected_users uuid[] default '{}',
    affected_systems text[] default '{}',
    first_detected_at timestamptz default null
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    actor uuid := private.require_incident_manager();
    new_id uuid;
begin
    insert into private.incidents (category, severity, title, description, affected_users,
        affected_systems, first_detected_at, opened_by)
    values (category::private.incident_category, pg_catalog.lower(severity),
        pg_catalog.btrim(title), description, coalesce(affected_users, '{}'),
        coalesce(affected_systems, '{}'), coalesce(first_detected_at, pg_catalog.now()), actor)
    returning id into new_id;
    perform private.add_timeline(new_id, actor, 'opened',
        pg_catalog.jsonb_build_object('category', category, 'severity', pg_catalog.lower(severity)));
    perform audit.record_event('incident.open', 'incident', new_id::text, 'SUCCESS',
        pg_catalog.jsonb_build_object('category', category, 'severity', pg_catalog.lower(severity)),
        actor);
    return new_id;
end
$$;


-- Moves an incident one step on (OPEN → INVESTIGATING → CONTAINED → RESOLVED → CLOSED).
create function public.move_incident(incident uuid, new_status text, note text default null)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
    actor uuid := private.require_incident_manager();
    current_status private.incident_status;
    wanted private.incident_status;
begin
    begin
        wanted := new_status::private.incident_status;
    exception when invalid_text_representation then
        raise exception 'unknown incident status %', new_status
            using errcode = 'invalid_parameter_value';
    end;
    select i.status into current_status from private.incidents as i
    where i.id = incident for update;
    if not found then
        raise exception 'no incident %', incident using errcode = 'no_data_found';
    end if;
    if pg_catalog.array_position(pg_catalog.enum_range(null::private.incident_status), wanted)
        <> pg_catalog.array_position(pg_catalog.enum_range(null::private.incident_status),
            current_status) + 1
    then
        raise exception 'an incident goes from % only to the next status, not to %',
            current_status, wanted
            using errcode = 'LGI01',
                hint = 'OPEN, INVESTIGATING, CONTAINED, RESOLVED, CLOSED, one step at a time.';
    end if;
    update private.incidents as i
    set status = wanted,
        closed_at = case when wanted = 'CLOSED' then pg_catalog.now() end
    where i.id = incident;
    perform private.add_timeline(incident, actor, 'status',
        pg_catalog.jsonb_build_object('from', current_status, 'to', wanted, 'note', note));
    perform audit.record_event('incident.status', 'incident', incident::text, 'SUCCESS',
        pg_catalog.jsonb_build_object('from', current_status, 'to', wanted), actor);
    return wanted::text;
end
$$;


-- A note, or an assignment, on the timeline.
create function public.add_incident_note(incident uuid, note text, assign_to uuid default null)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    actor uuid := private.require_incident_manager();
begin
    if not exists (select 1 from private.incidents as i where i.id = incident) then
        raise exception 'no incident %', incident using errcode = 'no_data_found';
    end if;
    if assign_to is not null then
        update private.incidents as i set assignee_id = assign_to where i.id = incident;
        perform private.add_timeline(incident, actor, 'assigned',
            pg_catalog.jsonb_build_object('assignee', assign_to));
    end if;
    if nullif(pg_catalog.btrim(note), '') is not null then
        perform private.add_timeline(incident, actor, 'note',
            pg_catalog.jsonb_build_object('note', pg_catalog.left(note, 2000)));
    end if;
    perform audit.record_event('incident.note', 'incident', incident::text, 'SUCCESS',
        pg_catalog.jsonb_build_object('assigned', assign_to is not null), actor);
end
$$;


-- Suspends a member for an incident: status SUSPENDED and every session ended, so their
-- token stops working on its next statement. (The Auth-side ban goes through the Auth admin
-- API: the incident-contain function.) Returns the sessions ended.
create function private.suspend_member(incident uuid, member uuid, actor uuid, automatic boolean)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    ended integer;
begin
    update public.users as u set status = 'SUSPENDED'
    where u.id = member and u.status <> 'SUSPENDED';
    ended := private.end_sessions(member);
    update private.incidents as i
    set affected_users = (select pg_catalog.array_agg(distinct x)
                          from pg_catalog.unnest(i.affected_users || member) as x)
    where i.id = incident;
    perform private.add_timeline(incident, actor,
        case when automatic then 'automatic_response' else 'containment' end,
        pg_catalog.jsonb_build_object('action', 'suspend_member', 'member', member,
            'sessions_ended', ended));
    perform audit.record_event('incident.suspend_member', 'user', member::text, 'SUCCESS',
        pg_catalog.jsonb_build_object('incident', incident, 'automatic', automatic,
            'sessions_ended', ended), actor);
    return ended;
end
$$;

create function public.suspend_member_for_incident(incident uuid, member uuid)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    actor uuid := private.require_incident_manager();
begin
    if not exists (select 1 from private.incidents as i where i.id = incident) then
        raise exception 'no incident %', incident using errcode = 'no_data_found';
    end if;
    if member = actor then
        raise exception 'suspend someone else' using errcode = 'invalid_parameter_value';
    end if;
    return private.suspend_member(incident, member, actor, false);
end
$$;


-- An evidence package: the audit rows of [window_start, window_end) and a snapshot of the
-- privileged accounts, with the SHA-256 of its canonical text. Returns the package id.
create function public.collect_incident_evidence(
    incident uuid,
    window_start timestamptz,
    window_end timestamptz default null
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    actor uuid := private.require_incident_manager();
    upto timestamptz := coalesce(window_end, pg_catalog.now());
    package jsonb;
    new_id uuid;
begin
    if not exists (select 1 from private.incidents as i where i.id = incident) then
        raise exception 'no incident %', incident using errcode = 'no_data_found';
    end if;
    if upto <= window_start or upto - window_start > interval '31 days' then
        raise exception 'the window must be positive and at most 31 days'
            using errcode = 'invalid_parameter_value';
    end if;
    select pg_catalog.jsonb_build_object(
        'incident', incident,
        'window', pg_catalog.jsonb_build_object('start', window_start, 'end', upto),
        'audit_rows', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(l) order by l.occurred_at, l.id)
            from audit.audit_log as l
            where l.occurred_at >= window_start and l.occurred_at < upto), '[]'),
        'privileged_accounts', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'id', u.id, 'role', u.role, 'status', u.status,
                'mfa_factors', (select pg_catalog.count(*) from auth.mfa_factors as f
                                where f.user_id = u.id and f.status = 'verified'),
                'live_sessions', (select pg_catalog.count(*) from auth.sessions as s
                                  where s.user_id = u.id
                                      and (s.not_after is null or s.not_after > pg_catalog.now())))
                order by u.id)
            from public.users as u
            where u.role >= 'ADMIN'), '[]'))
    into package;
    insert into private.incident_evidence (incident_id, window_start, window_end, content, sha256,
        created_by, custody)
    values (incident, window_start, upto, package,
        pg_catalog.encode(extensions.digest(package::text, 'sha256'), 'hex'), actor,
        pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('at', pg_catalog.now(),
            'by', actor, 'action', 'collected')))
    returning id into new_id;
    perform private.add_timeline(incident, actor, 'evidence',
        pg_catalog.jsonb_build_object('evidence', new_id,
            'audit_rows', pg_catalog.jsonb_array_length(package -> 'audit_rows')));
    perform audit.record_event('incident.evidence_collected', 'incident', incident::text,
        'SUCCESS', pg_catalog.jsonb_build_object('evidence', new_id), actor);
    return new_id;
end
$$;


-- Hands out an evidence package (its content, SHA-256 and custody so far) and adds the hand-
-- over to the chain of custody. The content is checked against its SHA-256 first.
create function public.incident_evidence_package(evidence uuid, purpose text)
returns table (content jsonb, sha256 text, custody jsonb)
language plpgsql
security definer
set search_path = ''
as $$
declare
    actor uuid := private.require_incident_manager();
    found_incident uuid;
begin
    if nullif(pg_catalog.btrim(purpose), '') is null then
        raise exception 'say why the evidence is taken' using errcode = 'invalid_parameter_value';
    end if;
    update private.incident_evidence as e
    set custody = e.custody || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
        'at', pg_catalog.now(), 'by', actor, 'action', 'handed_out',
        'purpose', pg_catalog.left(purpose, 300)))
    where e.id = evidence
    returning e.incident_id into found_incident;
    if found_incident is null then
        raise exception 'no evidence package %', evidence using errcode = 'no_data_found';
    end if;
    if (select pg_catalog.encode(extensions.digest(e.content::text, 'sha256'), 'hex') <> e.sha256
        from private.incident_evidence as e where e.id = evidence)
    then
        raise exception 'evidence package % no longer matches its SHA-256', evidence
            using errcode = 'LGI02';
    end if;
    perform audit.record_event('incident.evidence_handed_out', 'incident',
        found_incident::text, 'SUCCESS', pg_catalog.jsonb_build_object('evidence', evidence),
        actor);
    return query select e.content, e.sha256, e.custody
    from private.incident_evidence as e where e.id = evidence;
end
$$;


-- Records that a breach notice went out (to the people affected, or to the authority) and
-- queues it: e-mail to each affected member by id, and to the authority address. The times
-- show the 72-hour deadline met or missed.
create function public.send_breach_notice(incident uuid, audience text)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    actor uuid := private.require_incident_manager();
    breach private.incidents;
    queued integer;
begin
    select * into breach from private.incidents as i where i.id = incident for update;
    if not found then
        raise exception 'no incident %', incident using errcode = 'no_data_found';
    end if;
    if breach.category <> 'DATA_BREACH' then
        raise exception 'breach notices are for DATA_BREACH incidents'
            using errcode = 'invalid_parameter_value';
    end if;
    if audience = 'subjects' then
        insert into private.notification_outbox (idempotency_key, channel, kind, severity,
            title, body, recipient_user_id)
        select pg_catalog.format('breach:%s:subject:%s', incident, m), 'email',
            'breach.notice_subject', breach.severity,
            'Pemberitahuan kegagalan pelindungan data pribadi / Personal data breach notice',
            pg_catalog.jsonb_build_object('incident', incident,
                'detected_at', breach.first_detected_at,
                'what_happened', breach.title,
                'what_we_do', 'We contained the incident and are investigating it.',
                'what_you_can_do', 'Sign in again, and report anything unusual to the team.',
                'contact', 'The LEAPS data protection officer'),
            m
        from pg_catalog.unnest(breach.affected_users) as m
        on conflict (idempotency_key) do nothing;
        get diagnostics queued = row_count;
        update private.incidents as i
        set subjects_notified_at = coalesce(i.subjects_notified_at, pg_catalog.now())
        where i.id = incident;
    elsif audience = 'authority' then
        insert into private.notification_outbox (idempotency_key, channel, kind, severity,
            title, body)
        values (pg_catalog.format('breach:%s:authority', incident), 'email',
            'breach.notice_authority', breach.severity,
            'Pemberitahuan kegagalan pelindungan data pribadi (UU 27/2022)',
            pg_catalog.jsonb_build_object('incident', incident,
                'detected_at', breach.first_detected_at, 'category', breach.category,
                'what_happened', breach.title,
                'people_affected', pg_catalog.cardinality(breach.affected_users),
                'systems_affected', breach.affected_systems,
                'status', breach.status))
        on conflict (idempotency_key) do nothing;
        get diagnostics queued = row_count;
        update private.incidents as i
        set authority_notified_at = coalesce(i.authority_notified_at, pg_catalog.now())
        where i.id = incident;
    else
        raise exception 'audience is subjects or authority'
            using errcode = 'invalid_parameter_value';
    end if;
    perform private.add_timeline(incident, actor, 'notification',
        pg_catalog.jsonb_build_object('audience', audience, 'queued', queued,
            'due_at', breach.notice_due_at,
            'in_time', pg_catalog.now() <= breach.notice_due_at));
    perform audit.record_event('incident.breach_notice', 'incident', incident::text, 'SUCCESS',
        pg_catalog.jsonb_build_object('audience', audience, 'queued', queued,
            'in_time', pg_catalog.now() <= breach.notice_due_at), actor);
    return queued;
end
$$;


-- Incidents for the administrators' screens: open ones, and breaches whose notices are late
-- or due.
create function public.list_incidents(include_closed boolean default false)
returns table (id uuid, severity text, category text, title text, status text,
    first_detected_at timestamptz, notice_due_at timestamptz, subjects_notified_at timestamptz,
    authority_notified_at timestamptz, notice_overdue boolean, affected_users integer)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    perform private.require_incident_manager();
    return query
    select i.id, i.severity, i.category::text, i.title, i.status::text, i.first_detected_at,
        i.notice_due_at, i.subjects_notified_at, i.authority_notified_at,
        i.notice_due_at is not null and pg_catalog.now() > i.notice_due_at
            and (i.subjects_notified_at is null or i.authority_notified_at is null),
        pg_catalog.cardinality(i.affected_users)
    from private.incidents as i
    where include_closed or i.status <> 'CLOSED'
    order by i.first_detected_at desc;
end
$$;

create function public.incident_timeline(incident uuid)
returns table (at timestamptz, actor_id uuid, entry text, details jsonb)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    perform private.require_incident_manager();
    return query
    select t.at, t.actor_id, t.entry, t.details
    from private.incident_timeline as t
    where t.incident_id = incident
    order by t.at, t.id;
end
$$;


-- A CRITICAL finding (or any export alert) opens an incident and applies its rule's
-- automatic response.
create function private.respond_to_critical(
    rule text,
    subject text,
    alert bigint,
    details jsonb,
    finding_severity text default 'critical'
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    incident uuid;
    member uuid := case when subject ~ '^user:[0-9a-f-]{36}$'
                        then pg_catalog.substr(subject, 6)::uuid end;
    category private.incident_category := (case rule
        when 'role_changes_per_actor' then 'ACCESS_VIOLATION'
        when 'admin_actions_per_actor' then 'ACCESS_VIOLATION'
        when 'data_exports_per_actor' then 'DATA_BREACH'
        when 'file_access_per_actor' then 'DATA_BREACH'
        when 'failed_logins_per_user' then 'ACCESS_VIOLATION'
        when 'file_uploads_per_actor' then 'MALWARE'
        else 'DDOS' end)::private.incident_category;
begin
    insert into private.incidents (category, severity, title, description, affected_users,
        alert_id)
    values (category, coalesce(finding_severity, 'critical'),
        pg_catalog.format('%s: %s', rule, subject),
        'Opened automatically by a detector finding.',
        case when member is not null then array[member] else '{}' end, alert)
    returning id into incident;
    perform private.add_timeline(incident, null, 'opened',
        pg_catalog.jsonb_build_object('rule', rule, 'alert', alert, 'details', details));
    if rule in ('role_changes_per_actor', 'admin_actions_per_actor') and member is not null then
        -- A privileged account acting far beyond the usual: stopped until someone looks.
        perform private.suspend_member(incident, member, null, true);
    elsif rule in ('data_exports_per_actor', 'file_access_per_actor') then
        update private.platform_switches as s
        set enabled = true, reason = pg_catalog.format('automatic: incident %s', incident),
            changed_by = null, changed_at = pg_catalog.now()
        where s.name = 'exports_paused';
        perform private.add_timeline(incident, null, 'automatic_response',
            pg_catalog.jsonb_build_object('action', 'exports_paused'));
    elsif rule in ('failed_logins_per_user', 'failed_login_spike', 'brute_force_per_source',
        'new_users_per_minute', 'file_uploads_per_actor')
    then
        update private.platform_switches as s
        set enabled = true, reason = pg_catalog.format('automatic: incident %s', incident),
            changed_by = null, changed_at = pg_catalog.now()
        where s.name = 'emergency_rate_limit';
        perform private.add_timeline(incident, null, 'automatic_response',
            pg_catalog.jsonb_build_object('action', 'emergency_rate_limit'));
    end if;
    perform audit.record_event('incident.open', 'incident', incident::text, 'SUCCESS',
        pg_catalog.jsonb_build_object('category', category,
            'severity', coalesce(finding_severity, 'critical'), 'automatic', true, 'rule', rule),
        null);
    return incident;
end
$$;

revoke all on function private.require_incident_manager() from public, anon, authenticated;
revoke all on function private.add_timeline(uuid, uuid, text, jsonb)
    from public, anon, authenticated, service_role;
revoke all on function private.suspend_member(uuid, uuid, uuid, boolean)
    from public, anon, authenticated, service_role;
revoke all on function private.respond_to_critical(text, text, bigint, jsonb, text)
    from public, anon, authenticated, service_role;
revoke all on function public.open_incident(text, text, text, text, uuid[], text[], timestamptz)
    from public, anon;
revoke all on function public.move_incident(uuid, text, text) from public, anon;
revoke all on function public.add_incident_note(uuid, text, uuid) from public, anon;
revoke all on function public.suspend_member_for_incident(uuid, uuid) from public, anon;
revoke all on function public.collect_incident_evidence(uuid, timestamptz, timestamptz)
    from public, anon;
revoke all on function public.incident_evidence_package(uuid, text) from public, anon;
revoke all on function public.send_breach_notice(uuid, text) from public, anon;
revoke all on function public.list_incidents(boolean) from public, anon;
revoke all on function public.incident_timeline(uuid) from public, anon;
grant execute on function public.open_incident(text, text, text, text, uuid[], text[],
    timestamptz) to authenticated, service_role;
grant execute on function public.move_incident(uuid, text, text) to authenticated, service_role;
grant execute on function public.add_incident_note(uuid, text, uuid)
    to authenticated, service_role;
grant execute on function public.suspend_member_for_incident(uuid, uuid)
    to authenticated, service_role;
grant execute on function public.collect_incident_evidence(uuid, timestamptz, timestamptz)
    to authenticated, service_role;
grant execute on function public.incident_evidence_package(uuid, text)
    to authenticated, service_role;
grant execute on function public.send_breach_notice(uuid, text) to authenticated, service_role;
grant execute on function public.list_incidents(boolean) to authenticated, service_role;
grant execute on function public.incident_timeline(uuid) to authenticated, service_role;
