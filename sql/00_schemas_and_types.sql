-- Schemas and enumerated types of the LEAPS Tracker.
--
-- `public` is exposed through the Data API and holds only what clients may read or call.
-- `private` holds access-control data and helpers that clients never address directly; the
-- API roles get USAGE on it only because RLS policies call its helper functions.


create schema if not exists private;
comment on schema private is
    'Access-control data, helpers and trigger functions; never exposed through the Data API.';

revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

-- Functions are executable by PUBLIC by default; ours are not, unless granted by name. (The
-- PUBLIC default is global: it can be revoked for a creating role, not per schema.)
alter default privileges for role postgres revoke execute on functions from public;
alter default privileges for role postgres in schema public
    revoke all on functions from anon, authenticated;
alter default privileges for role postgres in schema public
    revoke all on tables from anon, authenticated;
alter default privileges for role postgres in schema public
    revoke all on sequences from anon, authenticated;


create type public.app_role as enum ('PARTICIPANT', 'REVIEWER', 'ADMIN', 'SUPERADMIN');
comment on type public.app_role is
    'Platform roles, ordered by privilege: each role holds every permission of those before it.';

create type public.account_status as enum ('ACTIVE', 'SUSPENDED');
comment on type public.account_status is
    'SUSPENDED accounts are refused by every policy on their next statement.';

create type public.visibility as enum ('PRIVATE', 'PUBLIC');
comment on type public.visibility is
    'PRIVATE is the default everywhere; PUBLIC must be chosen by the owner.';

create type public.activity_code as enum ('LEARN', 'EXPLORE', 'AMPLIFY', 'PRESENT', 'SHINE');
comment on type public.activity_code is
    'The five kinds of professional-learning activity a teacher can submit.';

create type public.submission_status as enum ('PENDING', 'APPROVED', 'REJECTED');

create type public.scan_status as enum ('PENDING', 'CLEAN', 'INFECTED', 'FAILED', 'SKIPPED');
comment on type public.scan_status is
    'Virus-scan state of an uploaded file. CLEAN: the scanner found nothing; SKIPPED: scanning '
    'was switched off in the upload function''s configuration when the file was stored. '
    'Infected files and failed scans are refused, so their rows are never written.';
