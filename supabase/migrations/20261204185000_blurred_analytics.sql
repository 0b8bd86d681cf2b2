-- blurred_analytics: written by hand (a function's result columns change, which the schema
-- diff turns into a drop and a create that loses the function's grants). The statements migra
-- computes for the rest of this change follow in the next migration.
--
-- public.anonymised_members() blurs groups of fewer than five members (role, region, cohort)
-- and gives points in bands of 50, so that public leaderboard figures do not point back at a
-- member; total_points becomes points_band.

drop function public.anonymised_members();

-- Small groups identify people: a region, cohort or role shared by fewer than this many
-- members is returned as null, and points are given in bands of 50.
create function private.analytics_min_group()
returns integer
language sql
immutable
set search_path = ''
as $$
    select 5
$$;


create function public.anonymised_members()
returns table (
    member_key text,
    role public.app_role,
    status public.account_status,
    region text,
    cohort text,
    joined_month date,
    points_band bigint,
    badges bigint
)
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.allow_analytics('members');
    return query
    with members as (
        select
            u.id,
            u.role,
            u.status,
            u.region,
            u.cohort,
            pg_catalog.date_trunc('month', u.created_at)::date as joined,
            pg_catalog.count(*) over (partition by u.region) as region_size,
            pg_catalog.count(*) over (partition by u.cohort) as cohort_size,
            pg_catalog.count(*) over (partition by u.role) as role_size
        from public.users as u
        where u.deleted_at is null
    )
    select
        private.analytics_key_of(m.id),
        case when m.role_size >= private.analytics_min_group() then m.role end,
        m.status,
        case when m.region_size >= private.analytics_min_group() then m.region end,
        case when m.cohort_size >= private.analytics_min_group() then m.cohort end,
        m.joined,
        (coalesce((select pg_catalog.sum(p.delta) from public.points_ledger as p
                   where p.user_id = m.id), 0) / 50 * 50)::bigint,
        (select pg_catalog.count(*) from public.earned_badges as b where b.user_id = m.id)
    from members as m
    order by 1;
end
$$;

comment on function public.anonymised_members() is
    'Members for analysis: keyed pseudonym instead of id; role, status, region and cohort '
    '(null where fewer than 5 members share them), month joined, points in bands of 50, '
    'badges; no name, school, handle or contact. Caller: analytics:view_all at aal2; '
    'recorded as analytics.read.';


revoke all on function private.analytics_min_group() from public, anon;
revoke all on function public.anonymised_members() from public, anon;
grant execute on function public.anonymised_members() to authenticated;
