-- rows of: private.data_classification
--
-- Which columns hold personal data, and how sensitive they are. Idempotent: re-applying it
-- leaves exactly these rows (listed rows are inserted or updated, others deleted), so a change
-- here is carried into the next migration as this whole file.
--
-- Sensitivity: HIGH = email, phone, national id (NIK), tax id (NPWP), bank account: stored
-- encrypted. MEDIUM = full name, address, birth date, school. LOW = handle, avatar, bio.
--
-- auth.users belongs to the platform (Supabase Auth): it is listed so that exports and audit
-- redaction know its email is HIGH, but the advisor's storage, audit and retention rules skip
-- platform schemas, since the project cannot change how Supabase stores it.

with listed (schema_name, table_name, column_name, sensitivity, category, note) as (
    values
        ('auth', 'users', 'email', 'HIGH', 'contact',
            'Sign-in email, owned by Supabase Auth; never copied into project tables.'),
        ('public', 'users', 'name', 'MEDIUM', 'identity',
            'Full name; never shown publicly.'),
        ('public', 'users', 'school', 'MEDIUM', 'employment',
            'School of employment; identifies a teacher together with the region.'),
        ('public', 'users', 'region', 'LOW', 'location',
            'Province or regency.'),
        ('public', 'users', 'handle', 'LOW', 'pseudonym',
            'Chosen pseudonym, shown on the leaderboard when the profile is public.'),
        ('public', 'submissions', 'payload', 'MEDIUM', 'content',
            'Activity details: classroom information that may mention pupils.'),
        ('public', 'submissions', 'title', 'LOW', 'content',
            'Free text written by the member; may name a school, a class or a person.'),
        ('public', 'submissions', 'review_note', 'LOW', 'content',
            'Free text written by a reviewer about the member''s work.'),
        ('public', 'submission_attachments', 'file_name', 'LOW', 'file',
            'Name given by the uploader; may contain a name.'),
        ('public', 'submission_attachments', 'storage_path', 'LOW', 'file',
            'Storage location; contains the owner''s user id.'),
        ('private', 'member_identifiers', 'phone', 'HIGH', 'contact',
            'Mobile phone number, encrypted; blind index in phone_index.'),
        ('private', 'member_identifiers', 'nik', 'HIGH', 'identity',
            'National identity number (NIK), encrypted; blind index in nik_index.'),
        ('private', 'member_identifiers', 'npwp', 'HIGH', 'financial',
            'Tax identification number (NPWP), encrypted.'),
        ('private', 'member_identifiers', 'bank_account', 'HIGH', 'financial',
            'Bank account number, encrypted.'),
        ('private', 'member_identifiers', 'phone_index', 'LOW', 'pseudonym',
            'Keyed hash of the phone number: matches a known number, reveals none.'),
        ('private', 'member_identifiers', 'nik_index', 'LOW', 'pseudonym',
            'Keyed hash of the NIK: matches a known NIK, reveals none.'),
        ('private', 'member_identifiers', 'email_index', 'LOW', 'pseudonym',
            'Keyed hash of the sign-in e-mail: matches a known address, reveals none.'),
        ('public', 'dsar_requests', 'details', 'MEDIUM', 'request',
            'What a data subject asks for, in their words.'),
        ('private', 'legal_holds', 'reason', 'MEDIUM', 'legal',
            'Grounds of a legal hold (case reference, authority); may name people.')
),
removed as (
    delete from private.data_classification as dc
    where not exists (
        select 1
        from listed as l
        where l.schema_name = dc.schema_name
            and l.table_name = dc.table_name
            and l.column_name = dc.column_name
    )
)
insert into private.data_classification
    (schema_name, table_name, column_name, sensitivity, category, note)
select
    schema_name,
    table_name,
    column_name,
    sensitivity,
    category,
    note
from listed
on conflict (schema_name, table_name, column_name) do update
set sensitivity = excluded.sensitivity,
    category = excluded.category,
    note = excluded.note;
