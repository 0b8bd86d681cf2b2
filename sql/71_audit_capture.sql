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
    uid uuid;
begin
    -- The same reading of the caller as auth.uid() and auth.jwt(), which the policies use, so
    -- that the actor recorded is the one authorised (legacy request.jwt.claim settings too).
    begin
        claims := auth.jwt();
        uid := auth.uid();
    exception when others then
        claims := null;
        uid := null;
    end;
    if claims ->> 'role' = 'authenticated' and uid is not null then
        actor_id := uid;
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


-- The stable id of a row's history: md5 of '<schema>.<table>:<primary key as text>' as a uuid
-- (a compound key joined with commas). Lets a caller look a row's events up by record_id.
create function audit.record_key(target regclass, key text)
returns uuid
language sql
stable
set search_path = ''
as $$
    select pg_catalog.md5(
        (select pg_catalog.format('%I.%I', n.nspname, c.relname)
         from pg_catalog.pg_class as c
         join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
         where c.oid = target)
        || ':' || key)::uuid
$$;

comment on function audit.record_key(regclass, text) is
    'record_id of the row of a tracked table with this primary key (as text; compound keys '
    'joined with commas), e.g. audit.record_key(''public.users'', id::text).';


-- Whether `=` can compare two values of a type, so that IS DISTINCT FROM works on it: true
-- for types with a default btree operator class, enums, and arrays or domains of those.
-- Others (json, xml, point...) are compared as text.
create function audit.has_equality(type_oid oid)
returns boolean
language plpgsql
stable
set search_path = ''
as $$
declare
    current oid := type_oid;
    kind "char";
    base oid;
    element oid;
    length smallint;
begin
    -- Domains stand for their base type, arrays for their element type.
    for i in 1..10 loop
        select t.typtype, t.typbasetype, t.typelem, t.typlen
        into kind, base, element, length
        from pg_catalog.pg_type as t
        where t.oid = current;
        if kind = 'd' then
            current := base;
        elsif element <> 0 and length = -1 then
            current := element;
        else
            exit;
        end if;
    end loop;
    return kind = 'e' or exists (
        select 1
        from pg_catalog.pg_opclass as c
        join pg_catalog.pg_am as m on m.oid = c.opcmethod
        where m.amname = 'btree'
            and c.opcdefault
            and c.opcintype = current
    );
end
$$;

comment on function audit.has_equality(oid) is
    'True when values of the type can be compared with =; capture_changes compares the '
    'others as text.';


-- The INSERT into the log that one audit trigger call runs, written out for a table's columns
-- as they are now: typed IS DISTINCT FROM per column (text for types without =), no per-row
-- JSON walk. Parameters: $1 actor id, $2 actor type, $3 target, $4 ip, $5 user agent,
-- $6 request id, $7 session id, $8 hidden columns, $9 time, $10 transaction id.
create function audit.capture_statement(
    target regclass,
    operation text,
    pk_columns text[],
    hidden text[]
)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
    key_expr text;
    join_expr text;
    set_fields text;
    changed_fields text;
    new_values text;
    changed_values text;
    head constant text := $sql$
        insert into audit.audit_log (occurred_at, txid, actor_id, actor_type, action,
            target_type, target_id, record_id, ip_address, user_agent, request_id, session_id,
            changed_fields, metadata)
        $sql$;
begin
    key_expr := (
        select pg_catalog.string_agg(pg_catalog.format('%%1$s.%I::text', c), ' || '','' || ')
        from pg_catalog.unnest(pk_columns) as c
    );
    join_expr := (
        select pg_catalog.string_agg(pg_catalog.format('o.%1$I = n.%1$I', c), ' and ')
        from pg_catalog.unnest(pk_columns) as c
    );
    -- Per column: set (insert), changed (update); and for columns that are not hidden, the
    -- value (insert) or the value if changed (update). JSON is built from those columns only:
    -- converting the whole row and removing keys costs more, and hidden ones never enter it.
    -- jsonb_build_object takes at most 100 arguments, so values go in groups of 40 columns.
    select
        pg_catalog.string_agg(
            pg_catalog.format('case when n.%1$I is not null then %1$L end', a.attname),
            ', ' order by a.attname),
        pg_catalog.string_agg(
            pg_catalog.format('case when %2$s is distinct from %3$s then %1$L end',
                a.attname, x.new_value, x.old_value),
            ', ' order by a.attname),
        coalesce((
            select pg_catalog.string_agg(g.pairs, ' || ')
            from (
                select pg_catalog.format('pg_catalog.jsonb_build_object(%s)',
                    pg_catalog.string_agg(pg_catalog.format('%1$L, n.%1$I', v.attname), ', '
                        order by v.attname)) as pairs
                from (
                    select c.attname, (pg_catalog.row_number() over (order by c.attname) - 1)
                        / 40 as grp
                    from pg_catalog.pg_attribute as c
                    where c.attrelid = target
                        and c.attnum > 0
                        and not c.attisdropped
                        and c.attname <> all(hidden)
                ) as v
                group by v.grp
            ) as g
        ), '''{}''::jsonb'),
        coalesce(pg_catalog.string_agg(
            pg_catalog.format('case when %2$s is distinct from %3$s then '
                || 'pg_catalog.jsonb_build_object(%1$L, n.%1$I) else ''{}''::jsonb end',
                a.attname, x.new_value, x.old_value),
            ' || ' order by a.attname) filter (where a.attname <> all(hidden)), '''{}''::jsonb')
    into set_fields, changed_fields, new_values, changed_values
    from pg_catalog.pg_attribute as a
    cross join lateral (select audit.has_equality(a.atttypid) as comparable) as e
    cross join lateral (
        select
            pg_catalog.format(case when e.comparable then 'n.%I' else 'n.%I::text' end,
                a.attname) as new_value,
            pg_catalog.format(case when e.comparable then 'o.%I' else 'o.%I::text' end,
                a.attname) as old_value
    ) as x
    where a.attrelid = target
        and a.attnum > 0
        and not a.attisdropped;

    if operation = 'INSERT' then
        return head || pg_catalog.format($sql$
            select $9, $10, $1, $2, 'insert', $3, k.key,
                pg_catalog.md5($3 || ':' || k.key)::uuid,
                $4, $5, $6, $7,
                pg_catalog.array_remove(array[%s], null),
                %s
            from new_rows as n
            cross join lateral (select %s as key) as k
            $sql$, set_fields, new_values, pg_catalog.format(key_expr, 'n'));
    elsif operation = 'UPDATE' then
        -- Old and new rows are paired by primary key, so a row whose key changes could not be
        -- paired and its change would go unrecorded: such an update is refused instead.
        return head || pg_catalog.format($sql$
            select $9, $10, $1, $2, 'update', $3, k.key,
                pg_catalog.md5($3 || ':' || k.key)::uuid,
                $4, $5, $6, $7, ch.fields,
                pg_catalog.jsonb_build_object('new', %s)
            from new_rows as n
            left join old_rows as o on %s
            cross join lateral (select %s as key) as k
            cross join lateral (
                select pg_catalog.array_remove(array[%s], null) as fields
                offset 0
            ) as ch
            where (o.%I is not null or audit.refuse_key_change($3))
                and pg_catalog.cardinality(ch.fields) > 0
            $sql$, changed_values, join_expr, pg_catalog.format(key_expr, 'n'), changed_fields,
                pk_columns[1]);
    else
        return head || pg_catalog.format($sql$
            select $9, $10, $1, $2, 'delete', $3, k.key,
                pg_catalog.md5($3 || ':' || k.key)::uuid,
                $4, $5, $6, $7, null, '{}'::jsonb
            from old_rows as o
            cross join lateral (select %s as key) as k
            $sql$, pg_catalog.format(key_expr, 'o'));
    end if;
end
$$;

comment on function audit.capture_statement(regclass, text, text[], text[]) is
    'The INSERT into audit.audit_log that capture_changes runs for one table and operation; '
    'cached in audit.capture_statements.';


-- Generated statements, per table and operation, with the table shape they were written for
-- (columns and types, primary key, hidden columns). A statement whose shape no longer matches
-- is written again, so a new column or a new classification is seen at the next write.
create table audit.capture_statements (
    relid oid not null,
    operation text not null
        check (operation in ('INSERT', 'UPDATE', 'DELETE')),
    shape text not null,
    statement text not null,
    primary key (relid, operation)
);

comment on table audit.capture_statements is
    'Cache of audit.capture_statement() per tracked table and operation, keyed by the table''s '
    'shape; written by the audit trigger, safe to empty at any time.';

alter table audit.capture_statements enable row level security;


-- Statement-level trigger: one pass over the transition tables per statement. Argument: the
-- primary key columns. The per-statement work is a shape check and one cached statement, so
-- single-row writes stay cheap; columns and classification are read each time, so a change to
-- either takes effect at once.
create function audit.capture_changes()
returns trigger
language plpgsql
security definer
set search_path = ''
-- The statement is planned on every call: JIT compilation would cost more than it saves, and
-- pairing old and new rows by hash needs more than the default work_mem.
set jit = off
set work_mem = '64MB'
as $$
declare
    hidden text[] := audit.hidden_columns(tg_relid);
    actor record;
    context record;
    target text := pg_catalog.format('%I.%I', tg_table_schema, tg_table_name);
    -- One time and one transaction id for the whole statement: its events sort together.
    stamp timestamptz := pg_catalog.clock_timestamp();
    tx bigint := pg_catalog.pg_current_xact_id()::text::bigint;
    table_shape text;
    sql text;
begin
    select * into actor from audit.current_actor();
    select * into context from audit.request_context();
    table_shape := (
        select pg_catalog.string_agg(a.attname || ':' || a.atttypid, ',' order by a.attnum)
        from pg_catalog.pg_attribute as a
        where a.attrelid = tg_relid
            and a.attnum > 0
            and not a.attisdropped
    ) || '|' || tg_argv[0] || '|' || pg_catalog.array_to_string(hidden, ',');

    select s.statement into sql
    from audit.capture_statements as s
    where s.relid = tg_relid
        and s.operation = tg_op
        and s.shape = table_shape;
    if sql is null then
        sql := audit.capture_statement(tg_relid, tg_op,
            pg_catalog.string_to_array(tg_argv[0], ','), hidden);
        insert into audit.capture_statements (relid, operation, shape, statement)
        values (tg_relid, tg_op, table_shape, sql)
        on conflict (relid, operation) do update
        set shape = excluded.shape,
            statement = excluded.statement;
    end if;

    execute sql
    using actor.actor_id, actor.actor_type, target, context.ip_address,
        context.user_agent, context.request_id, context.session_id, hidden, stamp, tx;
    return null;
end
$$;

comment on function audit.capture_changes() is
    'Audit trigger (statement level, transition tables): one event per changed row, with the '
    'changed columns and the new values of columns that are neither personal nor secret.';


-- Raised from inside capture_changes' statement for a row whose primary key changed.
create function audit.refuse_key_change(target text)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
    raise exception 'the primary key of % cannot change: its audit trail follows it', target
        using errcode = 'feature_not_supported',
            hint = 'Delete the row and insert it with the new key; both are recorded.';
end
$$;


-- TRUNCATE removes every row without row events: it is recorded as one event on the table.
create function audit.capture_truncate()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform audit.record_event('truncate',
        pg_catalog.format('%I.%I', tg_table_schema, tg_table_name));
    return null;
end
$$;

comment on function audit.capture_truncate() is
    'Audit trigger for TRUNCATE: one event, action truncate, on the emptied table.';


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
    execute pg_catalog.format('drop trigger if exists audit_truncate on %s', target);
    execute pg_catalog.format(
        'create trigger audit_truncate after truncate on %s '
            || 'for each statement execute function audit.capture_truncate()',
        target);
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
    'Starts recording every insert, update, delete and truncate of a table (idempotent). '
    'Refuses a table without a primary key.';


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
    execute pg_catalog.format('drop trigger if exists audit_truncate on %s', target);
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


-- Append-only: nothing changes or removes a recorded event, nor a link of the chain.
create function audit.refuse_changes()
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

create trigger chain_append_only
    before update or delete on audit.chain
    for each row execute function audit.refuse_changes();

create trigger retired_links_append_only
    before update or delete on audit.retired_links
    for each statement execute function audit.refuse_changes();

create trigger audit_log_no_truncate
    before truncate on audit.audit_log
    for each statement execute function audit.refuse_truncate();

create trigger chain_no_truncate
    before truncate on audit.chain
    for each statement execute function audit.refuse_truncate();

create trigger retired_links_no_truncate
    before truncate on audit.retired_links
    for each statement execute function audit.refuse_truncate();

create trigger chain_head_no_delete
    before delete or truncate on audit.chain_head
    for each statement execute function audit.refuse_truncate();

-- Partitions (default ones included) created before this file get the same guard against
-- TRUNCATE; later ones get it at creation (audit.ensure_partitions).
do $$
declare
    part regclass;
begin
    for part in
        select i.inhrelid::regclass
        from pg_catalog.pg_inherits as i
        where i.inhparent in ('audit.audit_log'::regclass, 'audit.chain'::regclass)
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
revoke all on function audit.capture_truncate() from public, anon, authenticated;
revoke all on function audit.capture_statement(regclass, text, text[], text[])
    from public, anon, authenticated;
revoke all on function audit.refuse_key_change(text) from public, anon, authenticated;
revoke all on function audit.has_equality(oid) from public, anon, authenticated;
revoke all on function audit.record_event(text, text, text, audit.outcome, jsonb, uuid, text)
    from public, anon, authenticated;
grant execute on function audit.record_event(text, text, text, audit.outcome, jsonb, uuid, text)
    to service_role;
grant execute on function audit.current_actor(), audit.request_context()
    to authenticated, service_role;
grant execute on function audit.record_key(regclass, text) to authenticated, service_role;
