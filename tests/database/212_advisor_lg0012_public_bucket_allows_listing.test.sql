-- LG0012 public_bucket_allows_listing: a public bucket covered by a SELECT policy on
-- storage.objects for an API role (one naming the bucket, or one naming no bucket) is
-- flagged; a private bucket under the same policy, and a public bucket no SELECT policy
-- covers, are not.

begin;
set local search_path = public, extensions;
select plan(3);

insert into storage.buckets (id, name, public)
values
    ('advisor_t_avatars', 'advisor_t_avatars', true),
    ('advisor_t_banners', 'advisor_t_banners', true),
    ('advisor_t_private', 'advisor_t_private', false);

create policy "anyone lists avatars and private files"
    on storage.objects
    for select
    to anon
    using (bucket_id in ('advisor_t_avatars', 'advisor_t_private'));

create policy "members read own banners"
    on storage.objects
    for select
    to authenticated
    using (
        bucket_id = 'advisor_t_banners'
        and owner_id = (select auth.uid())::text
    );

select is(
    (select pg_catalog.array_agg(cache_key order by cache_key)
    from advisor.lint_0012_public_bucket_allows_listing
    where object like '%advisor\_t\_%'),
    array[
        'LG0012:storage.buckets:advisor_t_avatars',
        'LG0012:storage.buckets:advisor_t_banners'
    ],
    'LG0012: public buckets named by a SELECT policy are flagged, the private one is not'
);

select is(
    (select level || ' ' || detail
    from advisor.lint_0012_public_bucket_allows_listing
    where object = 'storage.buckets:advisor_t_avatars'),
    'WARN Public bucket "advisor_t_avatars" can be listed: the SELECT policy "anyone lists '
        || 'avatars and private files" on storage.objects covers it, so API roles can '
        || 'enumerate its files.',
    'LG0012: the finding is a WARN naming the bucket and the policy'
);

drop policy "anyone lists avatars and private files" on storage.objects;
drop policy "members read own banners" on storage.objects;
select is_empty(
    $$select 1 from advisor.lint_0012_public_bucket_allows_listing
      where object like '%advisor\_t\_%'$$,
    'LG0012: public buckets no SELECT policy covers are not flagged'
);

select * from finish();
rollback;
