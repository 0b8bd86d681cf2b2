-- Notifications: an outbox that the incident-notify function delivers, at least once.
--
-- Whatever must reach people (a security alert, an incident's change, a breach notice) is a
-- row here, written in the same transaction as the event that causes it, so nothing is sent
-- for an event that rolled back and nothing is lost when a channel is down. Each row has an
-- idempotency key that receivers can use to drop repeats. The function claims due rows
-- (SKIP LOCKED, with a lease), sends them, and reports each outcome: delivered, or retried
-- with exponential backoff up to a cap, or, after the last attempt, dead, which itself
-- raises an alert. Bodies say what happened and where to look, never personal data beyond
-- what the recipient needs.

create table private.notification_routes (
    severity text not null
        check (severity in ('low', 'medium', 'high', 'critical')),
    channel text not null
        check (channel in ('slack', 'pagerduty', 'email', 'webhook')),
    primary key (severity, channel)
);

comment on table private.notification_routes is
    'Which channels hear of an alert of each severity (PagerDuty only for CRITICAL).';

alter table private.notification_routes enable row level security;
revoke all on private.notification_routes from public, anon, authenticated, service_role;


create table private.notification_outbox (
    id bigint generated always as identity primary key,
    idempotency_key text not null unique
        check (pg_catalog.length(idempotency_key) between 1 and 200),
    channel text not null
        check (channel in ('slack', 'pagerduty', 'email', 'webhook')),
    kind text not null
        check (kind ~ '^[a-z_]+(\.[a-z_]+)*$'),
    severity text not null
        check (severity in ('low', 'medium', 'high', 'critical')),
    title text not null
        check (pg_catalog.length(title) between 1 and 300),
    body jsonb not null default '{}'::jsonb,
    -- A member the message is addressed to (a breach notice); the address is looked up when
    -- the message is sent, so the outbox holds no e-mail address.
    recipient_user_id uuid,
    status text not null default 'pending'
        check (status in ('pending', 'sending', 'delivered', 'dead', 'skipped')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default pg_catalog.now(),
    last_error text
        check (pg_catalog.length(last_error) <= 500),
    created_at timestamptz not null default pg_catalog.now(),
    delivered_at timestamptz
);

comment on table private.notification_outbox is
    'Messages waiting for, or done with, delivery by incident-notify. status sending holds a '
    'lease until next_attempt_at; a sender that dies leaves the row to be claimed again.';

create index notification_outbox_due_idx
    on private.notification_outbox (next_attempt_at)
    where status in ('pending', 'sending');
create index notification_outbox_done_idx
    on private.notification_outbox (created_at)
    where status in ('delivered', 'dead', 'skipped');

alter table private.notification_outbox enable row level security;
revoke all on private.notification_outbox from public, anon, authenticated, service_role;


-- Delivery settings: attempts before a message is dead, and the backoff between them.
create function private.notification_max_attempts()
returns integer
language sql
immutable
set search_path = ''
as $$ select 6 $$;


-- Raises a security alert, once per open cause, and queues its notifications by the routes.
-- Returns the new alert's id, or null when an open alert with the same cause exists.
create function private.raise_alert(
    alert_kind text,
    alert_severity text,
    alert_summary text,
    alert_details jsonb default '{}'::jsonb,
    alert_cause text default null
)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    new_id bigint;
begin
    insert into private.security_alerts (kind, severity, summary, details, cause)
    values (alert_kind, alert_severity, alert_summary, coalesce(alert_details, '{}'::jsonb),
        alert_cause)
    on conflict (cause) where acknowledged_at is null and cause is not null do nothing
    returning id into new_id;
    if new_id is null then
        return null;
    end if;
    insert into private.notification_outbox (idempotency_key, channel, kind, severity, title,
        body)
    select pg_catalog.format('alert:%s:%s', new_id, r.channel), r.channel, 'alert',
        alert_severity, alert_summary,
        pg_catalog.jsonb_build_object('alert_id', new_id, 'kind', alert_kind,
            'severity', alert_severity, 'details', coalesce(alert_details, '{}'::jsonb))
    from private.notification_routes as r
    where r.severity = alert_severity;
    return new_id;
end
$$;

comment on function private.raise_alert(text, text, text, jsonb, text) is
    'Raises a security alert unless one with the same cause is open, and queues its '
    'notifications (private.notification_routes). Returns the alert id or null.';


-- Claims up to `batch` due messages for one sender: each is leased for `lease` (sending); a
-- sender that dies leaves it to be claimed again when the lease ends.
create function private.claim_notifications(
    batch integer default 20,
    lease interval default interval '2 minutes'
)
returns setof private.notification_outbox
language sql
security definer
set search_path = ''
as $$
    update private.notification_outbox as o
    set status = 'sending',
        attempts = o.attempts + 1,
        next_attempt_at = pg_catalog.now() + lease
    where o.id in (
        select d.id
        from private.notification_outbox as d
        where d.status in ('pending', 'sending')
            and d.next_attempt_at <= pg_catalog.now()
        order by d.next_attempt_at, d.id
        limit batch
        for update skip locked)
    returning o.*
$$;


-- Records the outcome of one attempt. A failure is retried after 30 s, 1, 2, 4… minutes
-- (capped at an hour); the last allowed failure makes the message dead and raises an alert.
-- `skipped` is for a channel that is not configured: nothing to retry.
create function private.finish_notification(
    message_id bigint,
    outcome text,
    error text default null
)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
    message private.notification_outbox;
begin
    if outcome not in ('delivered', 'failed', 'skipped') then
        raise exception 'outcome must be delivered, failed or skipped'
            using errcode = 'invalid_parameter_value';
    end if;
    select * into message from private.notification_outbox as o
    where o.id = message_id and o.status = 'sending'
    for update;
    if not found then
        return null;
    end if;
    if outcome = 'delivered' then
        update private.notification_outbox as o
        set status = 'delivered', delivered_at = pg_catalog.now(), last_error = null
        where o.id = message_id;
        return 'delivered';
    elsif outcome = 'skipped' then
        update private.notification_outbox as o
        set status = 'skipped', last_error = pg_catalog.left(error, 500)
        where o.id = message_id;
        return 'skipped';
    elsif message.attempts >= private.notification_max_attempts() then
        update private.notification_outbox as o
        set status = 'dead', last_error = pg_catalog.left(error, 500)
        where o.id = message_id;
        -- A dead message is itself an alert, never about another dead message (no loop).
        if message.body ->> 'kind' is distinct from 'notification.dead_letter' then
            perform private.raise_alert('notification.dead_letter', 'high',
                pg_catalog.format('a %s notification could not be delivered', message.channel),
                pg_catalog.jsonb_build_object('message_id', message.id,
                    'channel', message.channel, 'attempts', message.attempts),
                pg_catalog.format('dead_letter:%s', message.channel));
        end if;
        return 'dead';
    else
        update private.notification_outbox as o
        set status = 'pending',
            last_error = pg_catalog.left(error, 500),
            next_attempt_at = pg_catalog.now() + least(interval '1 hour',
                interval '30 seconds' * pg_catalog.power(2, message.attempts - 1))
        where o.id = message_id;
        return 'retry';
    end if;
end
$$;

comment on function private.finish_notification(bigint, text, text) is
    'Records a delivery attempt: delivered, skipped (channel not configured), or failed '
    '(retried with backoff; dead after notification_max_attempts, which raises an alert).';

revoke all on function private.notification_max_attempts() from public, anon, authenticated;
revoke all on function private.raise_alert(text, text, text, jsonb, text)
    from public, anon, authenticated, service_role;
revoke all on function private.claim_notifications(integer, interval)
    from public, anon, authenticated;
revoke all on function private.finish_notification(bigint, text, text)
    from public, anon, authenticated;
grant execute on function private.notification_max_attempts() to service_role;
grant execute on function private.claim_notifications(integer, interval) to service_role;
grant execute on function private.finish_notification(bigint, text, text) to service_role;
