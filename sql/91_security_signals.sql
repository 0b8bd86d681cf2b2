-- Security signals and detectors.
--
-- Sign-ins reach the database through Supabase Auth's hooks (the password and MFA
-- verification attempt hooks, written here as Postgres functions with the signatures Supabase
-- documents): every attempt is recorded, and after too many failures for one account the hook
-- answers with a rejection, so the account is locked for a while even to the right password.
-- Detectors read those attempts and the audit trail against thresholds kept as data
-- (private.detection_rules, rows in sql/data/27_detection_rules.sql). Each returns what it
-- saw as evidence; severity follows the ratio to the threshold (LOW, MEDIUM over 2x, HIGH over
-- 3x, CRITICAL over 5x, never below a rule's floor). A pg_cron job runs them every minute and
-- raises an alert per cause, once while it is open (private.raise_alert).

create table private.sign_in_attempts (
    id bigint generated always as identity primary key,
    user_id uuid not null,
    factor text not null
        check (factor in ('password', 'mfa')),
    valid boolean not null,
    -- The client's address when the caller knows it (Supabase's hook events carry none).
    source inet,
    attempted_at timestamptz not null default pg_catalog.clock_timestamp()
);

comment on table private.sign_in_attempts is
    'Password and MFA verification attempts, as the Auth hooks report them. Kept 90 days '
    '(retention policy sign-in-attempts).';

create index sign_in_attempts_user_idx on private.sign_in_attempts (user_id, attempted_at);
create index sign_in_attempts_failed_idx
    on private.sign_in_attempts (attempted_at)
    where not valid;
create index sign_in_attempts_source_idx
    on private.sign_in_attempts (source, attempted_at)
    where source is not null and not valid;

alter table private.sign_in_attempts enable row level security;
revoke all on private.sign_in_attempts from public, anon, authenticated, service_role;
-- dsar-export (service role) lists a member's own attempts.
grant select on private.sign_in_attempts to service_role;


create table private.detection_rules (
    rule text primary key
        check (rule ~ '^[a-z_]+$'),
    -- An alert is raised when what is seen in the window is over the threshold.
    threshold integer not null
        check (threshold > 0),
    window_length interval not null
        check (window_length between interval '1 minute' and interval '7 days'),
    -- The lowest severity the rule raises, whatever the ratio.
    severity_floor text not null default 'low'
        check (severity_floor in ('low', 'medium', 'high', 'critical')),
    -- Over this many, at least HIGH (the failed-login spike: HIGH above 100).
    high_above integer,
    description text not null
);

comment on table private.detection_rules is
    'Thresholds of the detectors (and of the sign-in lockout, rule "lockout").';

alter table private.detection_rules enable row level security;
revoke all on private.detection_rules from public, anon, authenticated, service_role;


-- The severity of `observed` against a rule.
create function private.detection_severity(rule private.detection_rules, observed bigint)
returns text
language sql
immutable
set search_path = ''
as $$
    select (array['low', 'medium', 'high', 'critical'])[greatest(
        case when observed > rule.threshold * 5 then 4
             when observed > rule.threshold * 3 then 3
             when observed > rule.threshold * 2 then 2
             else 1 end,
        pg_catalog.array_position(array['low', 'medium', 'high', 'critical'],
            rule.severity_floor),
        case when rule.high_above is not null and observed > rule.high_above then 3 else 1 end)]
$$;


-- Records an attempt; answers whether the account is locked (too many recent failures).
create function private.record_sign_in_attempt(
    member uuid,
    attempt_factor text,
    attempt_valid boolean,
    attempt_source inet default null
)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
    lock private.detection_rules;
    failures integer;
begin
    insert into private.sign_in_attempts (user_id, factor, valid, source)
    values (member, attempt_factor, attempt_valid, attempt_source);
    select * into lock from private.detection_rules as r where r.rule = 'lockout';
    if not found then
        return false;
    end if;
    select pg_catalog.count(*) into failures
    from private.sign_in_attempts as a
    where a.user_id = member
        and not a.valid
        and a.attempted_at > pg_catalog.clock_timestamp() - lock.window_length;
    return failures >= lock.threshold;
end
$$;


-- Supabase Auth's password verification attempt hook: {"user_id", "valid"} in,
-- {"decision": "continue" | "reject", "message", "should_logout_user"} out.
create function private.hook_password_verification_attempt(event jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    locked boolean;
begin
    locked := private.record_sign_in_attempt((event ->> 'user_id')::uuid, 'password',
        coalesce((event ->> 'valid')::boolean, false),
        case when event ->> 'ip_address' ~ '^[0-9a-fA-F:.]+$'
             then (event ->> 'ip_address')::inet end);
    if locked then
        return pg_catalog.jsonb_build_object('decision', 'reject',
            'message', 'Too many failed sign-ins. Try again in a few minutes.',
            'should_logout_user', false);
    end if;
    return pg_catalog.jsonb_build_object('decision', 'continue');
end
$$;

-- Supabase Auth's MFA verification attempt hook: {"factor_id", "factor_type", "user_id",
-- "valid"} in, {"decision", "message"} out.
create function private.hook_mfa_verification_attempt(event jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
    if private.record_sign_in_attempt((event ->> 'user_id')::uuid, 'mfa',
        coalesce((event ->> 'valid')::boolean, false))
    then
        return pg_catalog.jsonb_build_object('decision', 'reject',
            'message', 'Too many failed verification codes. Try again in a few minutes.');
    end if;
    return pg_catalog.jsonb_build_object('decision', 'continue');
end
$$;

comment on function private.hook_password_verification_attempt(jsonb) is
    'Auth hook: records each password attempt and rejects while the account is locked '
    '(detection rule lockout: failures per account in a window).';
comment on function private.hook_mfa_verification_attempt(jsonb) is
    'Auth hook: records each MFA attempt and rejects while the account is locked.';


-- Every detector over the window that ends at `at`: one row per subject over its threshold,
-- with what was seen.
create function private.detect(
    at timestamptz default pg_catalog.now(),
    only_rule text default null
)
returns table (rule text, subject text, observed bigint, threshold integer, severity text,
    evidence jsonb)
language plpgsql
stable
security definer
set search_path = ''
-- Small, index-backed queries run every minute: compiling them (JIT) costs more than it saves.
set jit = off
as $$
declare
    r private.detection_rules;
begin
    for r in
        select * from private.detection_rules as d
        where d.rule <> 'lockout' and (only_rule is null or d.rule = only_rule)
        order by d.rule
    loop
        if r.rule = 'failed_logins_per_user' then
            return query
            select r.rule, 'user:' || a.user_id, pg_catalog.count(*), r.threshold,
                private.detection_severity(r, pg_catalog.count(*)),
                pg_catalog.jsonb_build_object('user_id', a.user_id,
                    'first', pg_catalog.min(a.attempted_at), 'last', pg_catalog.max(a.attempted_at))
            from private.sign_in_attempts as a
            where not a.valid and a.attempted_at > at - r.window_length and a.attempted_at <= at
            group by a.user_id
            having pg_catalog.count(*) > r.threshold;
        elsif r.rule = 'failed_login_spike' then
            return query
            select r.rule, 'platform', pg_catalog.count(*), r.threshold,
                private.detection_severity(r, pg_catalog.count(*)),
                pg_catalog.jsonb_build_object('accounts', pg_catalog.count(distinct a.user_id))
            from private.sign_in_attempts as a
            where not a.valid and a.attempted_at > at - r.window_length and a.attempted_at <= at
            having pg_catalog.count(*) > r.threshold;
        elsif r.rule = 'brute_force_per_source' then
            return query
            select r.rule, 'source:' || pg_catalog.host(a.source), pg_catalog.count(*),
                r.threshold, private.detection_severity(r, pg_catalog.count(*)),
                pg_catalog.jsonb_build_object('source', pg_catalog.host(a.source),
                    'accounts', pg_catalog.count(distinct a.user_id))
            from private.sign_in_attempts as a
            where a.source is not null and not a.valid
                and a.attempted_at > at - r.window_length and a.attempted_at <= at
            group by a.source
            having pg_catalog.count(*) > r.threshold;
        elsif r.rule = 'new_users_per_minute' then
            return query
            select r.rule, 'platform', pg_catalog.count(*), r.threshold,
                private.detection_severity(r, pg_catalog.count(*)), '{}'::jsonb
            from auth.users as u
            where u.created_at > at - r.window_length and u.created_at <= at
            having pg_catalog.count(*) > r.threshold;
        elsif r.rule = 'role_changes_per_actor' then
            return query
            select r.rule, 'user:' || c.changed_by, pg_catalog.count(*), r.threshold,
                private.detection_severity(r, pg_catalog.count(*)),
                pg_catalog.jsonb_build_object('actor', c.changed_by,
                    'changes', pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                        'user_id', c.user_id, 'new_role', c.new_role, 'at', c.changed_at)
                        order by c.changed_at))
            from private.role_changes as c
            where c.changed_by is not null
                and c.changed_at > at - r.window_length and c.changed_at <= at
            group by c.changed_by
            having pg_catalog.count(*) > r.threshold;
        else
            -- The rest count acts in the audit trail per actor.
            return query
            select r.rule, 'user:' || l.actor_id, pg_catalog.count(*), r.threshold,
                private.detection_severity(r, pg_catalog.count(*)),
                pg_catalog.jsonb_build_object('actor', l.actor_id,
                    'distinct_targets', pg_catalog.count(distinct l.target_id),
                    'first', pg_catalog.min(l.occurred_at), 'last', pg_catalog.max(l.occurred_at))
            from audit.audit_log as l
            where l.occurred_at > at - r.window_length and l.occurred_at <= at
                and l.actor_id is not null
                and case r.rule
                    -- Someone else's data: members exporting themselves are not counted.
                    when 'data_exports_per_actor' then l.action = 'dsar.export'
                        and l.outcome = 'SUCCESS' and l.target_id <> l.actor_id::text
                    when 'file_uploads_per_actor' then l.action = 'evidence.upload'
                    when 'file_access_per_actor' then l.action in ('evidence.url',
                        'pii.reveal', 'pii.lookup')
                    when 'submission_reads_per_actor' then l.action = 'submission.read'
                    when 'admin_actions_per_actor' then l.actor_type = 'USER'
                        and l.action not in ('insert', 'update', 'delete')
                    else false
                end
            group by l.actor_id
            having (pg_catalog.count(*) > r.threshold
                    -- Reading many different members' work is as telling as reading much.
                    or (r.rule = 'submission_reads_per_actor'
                        and pg_catalog.count(distinct l.target_id) > r.threshold / 2))
                -- Privileged acts count for administrators only, checked once per actor.
                and (r.rule <> 'admin_actions_per_actor' or exists (
                    select 1 from public.users as u
                    where u.id = l.actor_id and u.role >= 'ADMIN'));
        end if;
    end loop;
end
$$;

comment on function private.detect(timestamptz, text) is
    'Runs every detector (or only_rule) over its window ending at `at`; one row per subject '
    'over threshold, with severity and evidence.';


-- A submission opened for review, with its evidence: the read is recorded, so that someone
-- reading far more than reviewing needs is noticed (detector submission_reads_per_actor).
-- The review screens call this; reads straight through the Data API are governed by RLS but
-- leave no record (Postgres has no trigger on SELECT).
create function public.open_submission_for_review(submission uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    found_row jsonb;
begin
    if auth.uid() is null or not private.session_allowed()
        or not private.authorize('submission:view_all')
    then
        raise exception 'not allowed to review submissions'
            using errcode = 'insufficient_privilege';
    end if;
    select pg_catalog.to_jsonb(s) || pg_catalog.jsonb_build_object('attachments', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('id', a.id,
                'file_name', a.file_name, 'mime_type', a.mime_type, 'byte_size', a.byte_size,
                'scan_status', a.scan_status) order by a.created_at)
            from public.submission_attachments as a where a.submission_id = s.id), '[]'))
    into found_row
    from public.submissions as s
    where s.id = submission;
    if found_row is null then
        raise exception 'no submission %', submission using errcode = 'no_data_found';
    end if;
    perform audit.record_event('submission.read', 'public.submissions', submission::text,
        'SUCCESS', '{}'::jsonb, auth.uid());
    return found_row;
end
$$;

comment on function public.open_submission_for_review(uuid) is
    'A submission with its attachments for a reviewer (submission:view_all), recorded as '
    'submission.read in the audit trail.';

revoke all on function public.open_submission_for_review(uuid) from public, anon;
grant execute on function public.open_submission_for_review(uuid) to authenticated;


-- The per-minute job: raises one alert per cause (rule and subject) while it is open.
create function private.run_detectors()
returns integer
language plpgsql
security definer
set search_path = ''
set jit = off
as $$
declare
    finding record;
    alert bigint;
    raised integer := 0;
begin
    for finding in select * from private.detect() loop
        alert := private.raise_alert('detector.' || finding.rule, finding.severity,
            pg_catalog.format('%s: %s seen (threshold %s) for %s', finding.rule,
                finding.observed, finding.threshold, finding.subject),
            pg_catalog.jsonb_build_object('rule', finding.rule, 'subject', finding.subject,
                'observed', finding.observed, 'threshold', finding.threshold,
                'evidence', finding.evidence),
            finding.rule || ':' || finding.subject);
        if alert is not null then
            raised := raised + 1;
            -- A new CRITICAL cause opens an incident with its automatic response, and so
            -- does any export alert: exports stop first (sql/92_incidents.sql).
            if finding.severity = 'critical' or finding.rule = 'data_exports_per_actor' then
                perform private.respond_to_critical(finding.rule, finding.subject, alert,
                    finding.evidence, finding.severity);
            end if;
        end if;
    end loop;
    return raised;
end
$$;

comment on function private.run_detectors() is
    'Runs the detectors and raises an alert for each new cause; returns how many were raised.';

revoke all on function private.detection_severity(private.detection_rules, bigint)
    from public, anon, authenticated;
revoke all on function private.record_sign_in_attempt(uuid, text, boolean, inet)
    from public, anon, authenticated, service_role;
revoke all on function private.hook_password_verification_attempt(jsonb)
    from public, anon, authenticated, service_role;
revoke all on function private.hook_mfa_verification_attempt(jsonb)
    from public, anon, authenticated, service_role;
revoke all on function private.detect(timestamptz, text) from public, anon, authenticated;
revoke all on function private.run_detectors() from public, anon, authenticated;
grant execute on function private.hook_password_verification_attempt(jsonb)
    to supabase_auth_admin;
grant execute on function private.hook_mfa_verification_attempt(jsonb) to supabase_auth_admin;
grant execute on function private.detect(timestamptz, text) to service_role;
