-- rows of: storage.buckets
--
-- The project's Storage buckets. Idempotent: re-applying it leaves these rows as listed, so a
-- change here is carried into the next migration as this whole file. Buckets of other
-- projects sharing the database are left alone.
--
-- evidence: files teachers attach to submissions. Private (no public URLs; reads go through
-- the storage policies or short-lived signed links), at most 10 MB a file, and only the types
-- the upload function accepts after checking the content.

insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values ('evidence', 'evidence', false, 10485760,
    array['application/pdf', 'image/jpeg', 'image/png', 'image/webp'])
on conflict (id) do update
set name = excluded.name,
    public = excluded.public,
    file_size_limit = excluded.file_size_limit,
    allowed_mime_types = excluded.allowed_mime_types;
