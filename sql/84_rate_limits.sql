-- Rate limits for the edge functions, kept in Postgres so that every function instance counts
-- against the same numbers. Limits are data (private.rate_limit_rules, rows in
-- sql/data/25_rate_limit_rules.sql); a request takes one slot with one atomic statement
-- (private.take_rate_limit), which says whether it may go on and, if not, when to retry.
--
-- Windows are fixed (the current minute, or whatever `per` says) and keyed by route and
-- caller. Counters live in an unlogged table: they are cheap to write, and losing them in a
-- crash only forgives the requests of the current window.

create table private.rate_limit_rules (
    route text primary key
        check (route ~ '^[a-z0-9-]+$'),
    max_requests integer not null
        check (max_requests > 0),
    per interval not null
        check (per >= interval '1 second' and per <= interval '1 day'),
    description text not null
);

comment on table private.rate_limit_rules is
    'How many requests each caller may make to a function route per window.';

alter table private.rate_limit_rules enable row level security;
revoke all on private.rate_limit_rules from public, anon, authenticated, service_role;


create unlogged table private.rate_limit_counters (
    id bigint generated always as identity primary key,
    route text not null,
    user_id uuid,
    caller text not null,
    window_start timestamptz not null,
    hits integer not null default 1,
    unique (route, caller, window_start)
);

comment on table private.rate_limit_counters is
    'Requests per route, caller and window. caller is "user:<id>" or "service"; user_id repeats '
    'the member''s id. Rows are removed a day after their window (retention policy '
    'rate-limit-counters).';

create index rate_limit_counters_window_idx on private.rate_limit_counters (window_start);

alter table private.rate_limit_counters enable row level security;
revoke all on private.rate_limit_counters from public, anon, authenticated, service_role;


-- Takes one slot for `caller_id` (a member, or null for the service role) on `route`. Refused
-- requests do not count, so a caller who keeps retrying gets in once the window turns.
create function private.take_rate_limit(
    route_name text,
    caller_id uuid,
    out allowed boolean,
    out remaining integer,
    out retry_after_seconds integer
)
language plpgsql
security definer
set search_path = ''
as $$
declare
    rule private.rate_limit_rules;
    this_window timestamptz;
    caller_key text := coalesce('user:' || caller_id::text, 'service');
    used integer;
begin
    select * into rule from private.rate_limit_rules as r where r.route = route_name;
    if not found then
        raise exception 'no rate limit rule for route %', route_name
            using errcode = 'no_data_found',
                hint = 'Add the route to private.rate_limit_rules.';
    end if;
    -- Under the emergency switch every limit is a tenth of its usual value.
    if (select s.enabled from private.platform_switches as s
        where s.name = 'emergency_rate_limit')
    then
        rule.max_requests := greatest(1, rule.max_requests / 10);
    end if;
    this_window := pg_catalog.date_bin(rule.per, pg_catalog.now(), timestamptz '2000-01-01');

    insert into private.rate_limit_counters as c (route, user_id, caller, window_start)
    values (route_name, caller_id, caller_key, this_window)
    on conflict on constraint rate_limit_counters_route_caller_window_start_key do update
    set hits = c.hits + 1
    where c.hits < rule.max_requests
    returning c.hits into used;

    allowed := used is not null;
    remaining := case when allowed then rule.max_requests - used else 0 end;
    retry_after_seconds := case when allowed then 0 else greatest(1, pg_catalog.ceil(
        extract(epoch from this_window + rule.per - pg_catalog.now()))::integer) end;
end
$$;

comment on function private.take_rate_limit(text, uuid) is
    'Takes one request slot for a caller (member id, or null for the service role) on a '
    'function route; allowed = false with retry_after_seconds once the window is full.';

revoke all on function private.take_rate_limit(text, uuid) from public, anon, authenticated;
grant execute on function private.take_rate_limit(text, uuid) to service_role;
