-- Data-subject requests (UU 27/2022): access, export, rectification, deletion, restriction.
--
-- Every request is recorded, refused ones too, with its 72-hour deadline (3 x 24 hours from
-- receipt). A member files and reads their own; ADMIN and above (dsar:manage, at aal2) see
-- all of them, the overdue ones in public.overdue_dsar_requests, and move them through
-- received -> in_progress -> completed or rejected (with a reason). Requests are kept after
-- the subject is erased: subject_id then names nobody.


create type public.dsar_kind as enum ('access', 'export', 'rectification', 'deletion',
    'restriction');
create type public.dsar_status as enum ('received', 'in_progress', 'completed', 'rejected');

create table public.dsar_requests (
    id uuid primary key default extensions.gen_random_uuid(),
    kind public.dsar_kind not null,
    subject_id uuid not null,
    requester_id uuid,
    received_at timestamptz not null default pg_catalog.now(),
    due_at timestamptz not null,
    status public.dsar_status not null default 'received',
    status_reason text
        check (pg_catalog.length(status_reason) <= 500),
    details text
        check (pg_catalog.length(details) <= 2000),
    handled_by uuid,
    completed_at timestamptz,
    check (due_at = received_at + interval '72 hours'),
    check (status <> 'rejected' or status_reason is not null),
    check ((status in ('completed', 'rejected')) = (completed_at is not null))
);

comment on table public.dsar_requests is
    'Data-subject requests with their 72-hour deadline. No foreign key to the subject: the '
    'record outlives an erasure.';
comment on column public.dsar_requests.details is
    'What the subject asks for (for example what to rectify), in their words: personal data.';
comment on column public.dsar_requests.status_reason is
    'Why a request was rejected (required then), or a note on how it was completed.';

create index dsar_requests_subject_idx on public.dsar_requests (subject_id, received_at);
create index dsar_requests_open_idx
    on public.dsar_requests (due_at)
    where status in ('received', 'in_progress');

create view public.overdue_dsar_requests
with (security_invoker = true)
as
select
    r.id,
    r.kind,
    r.subject_id,
    r.received_at,
    r.due_at,
    r.status,
    pg_catalog.now() - r.due_at as overdue_by
from public.dsar_requests as r
where r.status in ('received', 'in_progress')
    and r.due_at < pg_catalog.now();

comment on view public.overdue_dsar_requests is
    'Open requests past their 72-hour deadline, the most overdue first when ordered by due_at.';



-- Files a request. A member files for themselves; dsar:manage at aal2 may file for a subject
-- (a request received by e-mail or letter), and the service role for any subject. Returns the
-- request id.
create function public.file_dsar_request(
    kind public.dsar_kind,
    details text default null,
    subject uuid default null
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
    is_service boolean := pg_catalog.current_setting('role', true) = 'service_role';
    target uuid := coalesce(subject, caller);
    received timestamptz := pg_catalog.now();
    new_id uuid;
begin
    if target is null then
        raise exception 'name the subject of the request'
            using errcode = 'invalid_parameter_value';
    end if;
    if not is_service and (caller is null or (target <> caller and not (
        private.session_allowed() and private.authorize('dsar:manage'))))
    then
        raise exception 'not allowed to file a request for another member'
            using errcode = 'insufficient_privilege';
    end if;
    -- Members file from a live session, also while suspended (their rights stay), but never
    -- with a token whose session has ended or whose profile is erased or being erased.
    if not is_service and not exists (
        select 1
        from auth.sessions as s
        join public.users as u on u.id = s.user_id
        where s.id = case when auth.jwt() ->> 'session_id' ~* '^[0-9a-f-]{36}$'
                          then (auth.jwt() ->> 'session_id')::uuid end
            and s.user_id = caller
            and (s.not_after is null or s.not_after > pg_catalog.now())
            and u.deleted_at is null)
    then
        raise exception 'sign in again to file a request'
            using errcode = 'insufficient_privilege';
    end if;
    insert into public.dsar_requests (kind, subject_id, requester_id, received_at, due_at,
        details)
    values (kind, target, caller, received, received + interval '72 hours',
        nullif(pg_catalog.btrim(details), ''))
    returning id into new_id;
    return new_id;
end
$$;

comment on function public.file_dsar_request(public.dsar_kind, text, uuid) is
    'Files a data-subject request (for the caller by default); returns its id. Due 72 hours '
    'after receipt.';


-- Moves a request on. Caller: dsar:manage at aal2, or the service role (functions that answer
-- a request complete it). Completed and rejected requests are final.
create function public.set_dsar_request_status(
    request_id uuid,
    new_status public.dsar_status,
    reason text default null
)
returns public.dsar_requests
language plpgsql
security definer
set search_path = ''
as $$
declare
    request public.dsar_requests;
begin
    if pg_catalog.current_setting('role', true) is distinct from 'service_role'
        and not (auth.uid() is not null and private.session_allowed()
            and private.authorize('dsar:manage')
            and coalesce(auth.jwt() ->> 'aal', '') = 'aal2')
    then
        raise exception 'not allowed to handle data-subject requests'
            using errcode = 'insufficient_privilege',
                hint = 'Requests are handled by an ADMIN or SUPERADMIN signed in with MFA.';
    end if;
    select * into request from public.dsar_requests as r where r.id = request_id for update;
    if not found then
        raise exception 'no request %', request_id using errcode = 'no_data_found';
    end if;
    if request.status in ('completed', 'rejected') then
        raise exception 'request % is already %', request_id, request.status
            using errcode = 'LGD01';
    end if;
    if new_status = 'rejected' and nullif(pg_catalog.btrim(reason), '') is null then
        raise exception 'a rejection needs a reason' using errcode = 'invalid_parameter_value';
    end if;
    if new_status = 'received' then
        raise exception 'a request cannot go back to received'
            using errcode = 'invalid_parameter_value';
    end if;
    update public.dsar_requests as r
    set status = new_status,
        status_reason = coalesce(nullif(pg_catalog.btrim(reason), ''), r.status_reason),
        handled_by = coalesce(auth.uid(), r.handled_by),
        completed_at = case when new_status in ('completed', 'rejected')
            then pg_catalog.now() end
    where r.id = request_id
    returning * into request;
    return request;
end
$$;

comment on function public.set_dsar_request_status(uuid, public.dsar_status, text) is
    'Moves a request to in_progress, completed or rejected (with a reason). Caller: '
    'dsar:manage at aal2, or the service role. Final states cannot change (LGD01).';


revoke all on function public.file_dsar_request(public.dsar_kind, text, uuid)
    from public, anon;
grant execute on function public.file_dsar_request(public.dsar_kind, text, uuid)
    to authenticated, service_role;
revoke all on function public.set_dsar_request_status(uuid, public.dsar_status, text)
    from public, anon;
grant execute on function public.set_dsar_request_status(uuid, public.dsar_status, text)
    to authenticated, service_role;

select audit.enable_tracking('public.dsar_requests');
