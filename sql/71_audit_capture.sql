-- Writing to the audit trail: who is acting, row-change triggers, and recorded acts.


-- The acting party of the current transaction, from the verified claims PostgREST (or a
-- function acting for a user) put into it. Never fails: without claims it is the system.
create function audit.current_actor(out actor_id uuid, out actor_type audit.actor_type)
language plpgsql
stable
set search_path = ''
as $$
declare
    claims jsonb;
begin
    begin
        claims := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
    exception when others then
        claims := null;
    end;
    if claims ->> 'role' = 'authenticated' and (claims ->> 'sub') ~* '^[0-9a-f-]{36}$' then
        actor_id := (claims ->> 'sub')::uuid;
        actor_type := 'USER';
    -- The capture trigger and record_event are definers, so current_user is their owner
    -- there; the role setting and the session user still name a service-role caller.
    elsif claims ->> 'role' = 'service_role'
        or 'service_role' in (current_user, session_user,
            pg_catalog.current_setting('role', true))
    then
        actor_type := 'SERVICE';
    elsif pg_catalog.current_setting('application_name', true) = 'pg_cron'
        or pg_catalog.current_setting('leaps.job', true) <> ''
    then
        actor_type := 'CRON';
    else
        actor_type := 'SYSTEM';
    end if;
end
$$;

comment on function audit.current_actor() is
    'Actor of the current transaction: USER (with id) from verified claims, SERVICE, CRON (a '
    'pg_cron job, or a job that set leaps.job), else SYSTEM.';


-- Request context as PostgREST passes it (request.headers); recorded, never trusted.
create function audit.request_context(
    out ip_address inet,
    out user_agent text,
    out request_id text,
    out session_id uuid
)
language plpgsql
stable
set search_path = ''
as $$
declare
    headers jsonb;
    claims jsonb;
    forwarded text;
begin
    begin
        headers := nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb;
        claims := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
    exception when others then
        return;
    end;
    forwarded := pg_catalog.split_part(coalesce(headers ->> 'x-forwarded-for',
        headers ->> 'x-real-ip', ''), ',', 1);
    begin
        ip_address := nullif(pg_catalog.btrim(forwarded), '')::inet;
    exception when others then
        ip_address := null;
    end;
    user_agent := pg_catalog.left(headers ->> 'user-agent', 512);
    request_id := pg_catalog.left(headers ->> 'x-request-id', 64);
    if (claims ->> 'session_id') ~* '^[0-9a-f-]{36}$' then
        session_id := (claims ->> 'session_id')::uuid;
    end if;
end
$$;

comment on function audit.request_context() is
    'IP address, user agent, request id (from request.headers) and session id (from the '
    'claims) of the current request, for the record only.';


-- Columns whose values never enter the log: classified personal data and binary columns.
create function audit.hidden_columns(target regclass)
returns text[]
language sql
stable
security definer
set search_path = ''
as $$
    select coalesce(pg_catalog.array_agg(a.attname::text), '{}')
    from pg_catalog.pg_attribute as a
    join pg_catalog.pg_class as c on c.oid = a.attrelid
    join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    where a.attrelid = target
        and a.attnum > 0
        and not a.attisdropped
        and (
            a.atttypid = 'pg_catalog.bytea'::pg_catalog.regtype
            or exists (
                select 1
                from private.data_classification as d
                where d.schema_name = n.nspname
                    and d.table_name = c.relname
                    and d.column_name = a.attname
            )
        )
$$;

comment on function audit.hidden_columns(regclass) is
    'Columns of a table recorded only by name: classified personal data and bytea (secrets).';


-- Statement-level trigger: one pass over the transition tables per statement. Argument: the
-- primary key columns. Hidden columns are read per statement, so a change to the
-- classification registry takes effect at once.
create function audit.capture_changes()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    pk_columns text[] := pg_catalog.string_to_array(tg_argv[0], ',');
    hidden text[] := audit.hidden_columns(tg_relid);
    actor record;
    context record;
    target text := pg_catalog.format('%I.%I', tg_table_schema, tg_table_name);
    key_expr text;
    join_expr text;
    key_changed boolean;
begin
    select * into actor from audit.current_actor();
    select * into context from audit.request_context();
    key_expr := (
        select pg_catalog.string_agg(pg_catalog.format('%%1$s.%I::text', c), ' || '','' || ')
        from pg_catalog.unnest(pk_columns) as c
    );
    join_expr := (
        select pg_catalog.string_agg(pg_catalog.format('o.%1$I = n.%1$I', c), ' and ')
        from pg_catalog.unnest(pk_columns) as c
    );

    -- Old and new rows are paired by primary key, so a row whose key changes could not be
    -- paired and its change would go unrecorded: such an update is refused instead.
    if tg_op = 'UPDATE' then
        execute pg_catalog.format(
            'select exists (select from new_rows as n where not exists '
                || '(select from old_rows as o where %s))',
            join_expr)
        into key_changed;
        if key_changed then
            raise exception 'the primary key of % cannot change: its audit trail follows it',
                target
                using errcode = 'feature_not_supported',
                    hint = 'Delete the row and insert it with the new key; both are recorded.';
        end if;
    end if;

    if tg_op = 'INSERT' then
        execute pg_catalog.format($sql$
            insert into audit.audit_log (actor_id, actor_type, action, target_type, target_id,
                record_id, ip_address, user_agent, request_id, session_id, changed_fields,
                metadata)
            select $1, $2, 'insert', $3, k.key,
                pg_catalog.md5($3 || ':' || k.key)::uuid,
                $4, $5, $6, $7,
                array(select e.key from pg_catalog.jsonb_each(r.nj) as e
                      where e.value <> 'null'::jsonb order by 1),
                r.nj - $8
            from new_rows as n
            -- Each row is turned into JSON once (offset 0 keeps the planner from inlining
            -- the conversion into every place that reads it).
            cross join lateral (select pg_catalog.to_jsonb(n) as nj offset 0) as r
            cross join lateral (select %s as key) as k
            $sql$, pg_catalog.format(key_expr, 'n'))
        using actor.actor_id, actor.actor_type, target, context.ip_address,
            context.user_agent, context.request_id, context.session_id, hidden;
    elsif tg_op = 'UPDATE' then
        execute pg_catalog.format($sql$
            insert into audit.audit_log (actor_id, actor_type, action, target_type, target_id,
                record_id, ip_address, user_agent, request_id, session_id, changed_fields,
                metadata)
            select $1, $2, 'update', $3, k.key,
                pg_catalog.md5($3 || ':' || k.key)::uuid,
                $4, $5, $6, $7, ch.fields,
                pg_catalog.jsonb_build_object('new', (
                    select coalesce(pg_catalog.jsonb_object_agg(f, r.nj -> f), '{}')
                    from pg_catalog.unnest(ch.fields) as f
                    where f <> all($8)))
            from new_rows as n
            join old_rows as o on %s
            cross join lateral (
                select pg_catalog.to_jsonb(n) as nj, pg_catalog.to_jsonb(o) as oj offset 0
            ) as r
            cross join lateral (select %s as key) as k
            cross join lateral (
                select array(
                    select e.key
                    from pg_catalog.jsonb_each(r.nj) as e
                    where e.value is distinct from (r.oj -> e.key)
                    order by 1) as fields
                offset 0
            ) as ch
            where pg_catalog.cardinality(ch.fields) > 0
            $sql$, join_expr, pg_catalog.format(key_expr, 'n'))
        using actor.actor_id, actor.actor_type, target, context.ip_address,
            context.user_agent, context.request_id, context.session_id, hidden;
    else
        execute pg_catalog.format($sql$
            insert into audit.audit_log (actor_id, actor_type, action, target_type, target_id,
                record_id, ip_address, user_agent, request_id, session_id, changed_fields,
                metadata)
            select $1, $2, 'delete', $3, k.key,
                pg_catalog.md5($3 || ':' || k.key)::uuid,
                $4, $5, $6, $7, null, '{}'::jsonb
            from old_rows as o
            cross join lateral (select %s as key) as k
            $sql$, pg_catalog.format(key_expr, 'o'))
        using actor.actor_id, actor.actor_type, target, context.ip_address,
            context.user_agent, context.request_id, context.session_id;
    end if;
    return null;
end
$$;

comment on function audit.capture_changes() is
    'Audit trigger (statement level, transition tables): one event per changed row, with the '
    'changed columns and the new values of columns that are neither personal nor secret.';


create function audit.enable_tracking(target regclass)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    pk text;
begin
    select pg_catalog.string_agg(a.attname::text, ',' order by k.ord)
    into pk
    from pg_catalog.pg_index as i
    cross join lateral pg_catalog.unnest(i.indkey) with ordinality as k(attnum, ord)
    join pg_catalog.pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum
    where i.indrelid = target
        and i.indisprimary;

    if pk is null then
        raise exception 'table % has no primary key, so its rows cannot be followed', target
            using errcode = 'object_not_in_prerequisite_state',
                hint = 'Add a primary key before enabling audit tracking.';
    end if;

    execute pg_catalog.format('drop trigger if exists audit_insert on %s', target);
    execute pg_catalog.format('drop trigger if exists audit_update on %s', target);
    execute pg_catalog.format('drop trigger if exists audit_delete on %s', target);
    execute pg_catalog.format(
        'create trigger audit_insert after insert on %s referencing new table as new_rows '
            || 'for each statement execute function audit.capture_changes(%L)',
        target, pk);
    execute pg_catalog.format(
        'create trigger audit_update after update on %s '
            || 'referencing old table as old_rows new table as new_rows '
            || 'for each statement execute function audit.capture_changes(%L)',
        target, pk);
    execute pg_catalog.format(
        'create trigger audit_delete after delete on %s referencing old table as old_rows '
            || 'for each statement execute function audit.capture_changes(%L)',
        target, pk);
end
$$;

comment on function audit.enable_tracking(regclass) is
    'Starts recording every insert, update and delete of a table (idempotent). Refuses a table '
    'without a primary key.';


create function audit.disable_tracking(target regclass)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    execute pg_catalog.format('drop trigger if exists audit_insert on %s', target);
    execute pg_catalog.format('drop trigger if exists audit_update on %s', target);
    execute pg_catalog.format('drop trigger if exists audit_delete on %s', target);
end
$$;


-- Records an act that is not a row change (an export, a file access, a refused attempt).
-- Callable by the service role (functions) and by the definer functions of the schema.
create function audit.record_event(
    action text,
    target_type text,
    target_id text default null,
    outcome audit.outcome default 'SUCCESS',
    metadata jsonb default '{}'::jsonb,
    actor_id uuid default null,
    request_id text default null
)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    actor record;
    context record;
    new_id bigint;
begin
    select * into actor from audit.current_actor();
    select * into context from audit.request_context();
    insert into audit.audit_log (actor_id, actor_type, action, target_type, target_id,
        outcome, ip_address, user_agent, request_id, session_id, metadata)
    values (
        coalesce(record_event.actor_id, actor.actor_id),
        case when record_event.actor_id is not null then 'USER' else actor.actor_type end,
        record_event.action,
        record_event.target_type,
        record_event.target_id,
        record_event.outcome,
        context.ip_address,
        context.user_agent,
        coalesce(record_event.request_id, context.request_id),
        context.session_id,
        coalesce(record_event.metadata, '{}'::jsonb)
    )
    returning id into new_id;
    return new_id;
end
$$;

comment on function audit.record_event(text, text, text, audit.outcome, jsonb, uuid, text) is
    'Records an act with the request''s context. actor_id names the member a service call '
    'acts for. Metadata must hold no personal data.';


-- Append-only: nothing changes a recorded event. The only UPDATE allowed seals a row: it sets
-- the chain columns once and leaves everything else as it was.
create function audit.refuse_changes()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if tg_op = 'UPDATE'
        and old.chain_seq is null
        and new.chain_seq is not null
        and (pg_catalog.to_jsonb(old) - 'chain_seq' - 'prev_hash' - 'row_hash')
            = (pg_catalog.to_jsonb(new) - 'chain_seq' - 'prev_hash' - 'row_hash')
    then
        return new;
    end if;
    raise exception 'the audit log is append-only: % refused', pg_catalog.lower(tg_op)
        using errcode = 'insufficient_privilege',
            hint = 'Expired partitions are removed whole by the retention job.';
end
$$;

create function audit.refuse_truncate()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    raise exception 'the audit log is append-only: % refused', pg_catalog.lower(tg_op)
        using errcode = 'insufficient_privilege',
            hint = 'Expired partitions are removed whole by the retention job.';
end
$$;

create trigger audit_log_append_only
    before update or delete on audit.audit_log
    for each row execute function audit.refuse_changes();

create trigger audit_log_no_truncate
    before truncate on audit.audit_log
    for each statement execute function audit.refuse_truncate();

create trigger audit_log_default_no_truncate
    before truncate on audit_partitions.audit_log_default
    for each statement execute function audit.refuse_truncate();

create trigger chain_head_no_delete
    before delete or truncate on audit.chain_head
    for each statement execute function audit.refuse_truncate();

-- Partitions created before this file get the same guard (later ones get it at creation).
do $$
declare
    part regclass;
begin
    for part in
        select i.inhrelid::regclass
        from pg_catalog.pg_inherits as i
        where i.inhparent = 'audit.audit_log'::regclass
            and i.inhrelid <> 'audit_partitions.audit_log_default'::regclass
    loop
        execute pg_catalog.format('create trigger no_truncate before truncate on %s '
            || 'for each statement execute function audit.refuse_truncate()', part);
    end loop;
end
$$;


revoke all on all tables in schema audit from public, anon, authenticated, service_role;
revoke all on function audit.ensure_partitions(integer) from public, anon, authenticated;
revoke all on function audit.enable_tracking(regclass) from public, anon, authenticated;
revoke all on function audit.disable_tracking(regclass) from public, anon, authenticated;
revoke all on function audit.hidden_columns(regclass) from public, anon, authenticated;
revoke all on function audit.capture_changes() from public, anon, authenticated;
revoke all on function audit.record_event(text, text, text, audit.outcome, jsonb, uuid, text)
    from public, anon, authenticated;
grant execute on function audit.record_event(text, text, text, audit.outcome, jsonb, uuid, text)
    to service_role;
grant execute on function audit.current_actor(), audit.request_context()
    to authenticated, service_role;
