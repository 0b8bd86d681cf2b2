-- Submissions are screened before they are written (trigger submissions_screen_payload):
-- a title, payload (strings, keys and numbers) or review note holding a pupil identifier of
-- high confidence is refused with LGP01, for every activity; an AMPLIFY payload's pupil
-- records (studentsData, or students, siswa, murid, pupils in any letter case) must be
-- objects of the allowed fields with allowed values (LGP02), and the payload must record
-- consent and institutional approval (LGP03). The same rules hold for members through the
-- API and for the service role. Refusals name the path and the kind of identifier, never
-- the value, and never a key that is not an allowed field name.

begin;
set local search_path = public, extensions;
select plan(48);

select
    tests.create_member('t_pii_member') as member,
    tests.create_member('t_pii_reviewer', 'REVIEWER') as reviewer
\gset

-- A clean AMPLIFY payload; the cases below change one thing in it.
select '{
    "consentDocumented": true,
    "institutionalApproval": true,
    "hours": 4,
    "studentsData": [
        {"anonymized_id": "S-01", "grade_level": 5, "subject": "IPA"},
        {"anonymized_id": "S-02", "grade_level": 5, "performance_metric": 82},
        {"anonymized_id": "S-03", "grade_level": 6}
    ]
}' as clean \gset

prepare amplify(jsonb) as
    insert into public.submissions (activity_code, title, payload)
    values ('AMPLIFY', 'Berbagi praktik baik', $1);
prepare learn(jsonb) as
    insert into public.submissions (activity_code, title, payload)
    values ('LEARN', 'Pelatihan', $1);
prepare learn_titled(text) as
    insert into public.submissions (activity_code, title, payload)
    values ('LEARN', $1, '{"hours": 2}');
prepare amplify_for(uuid, jsonb) as
    insert into public.submissions (owner_id, activity_code, title, payload)
    values ($1, 'AMPLIFY', 'Berbagi praktik baik', $2);
prepare learn_for(uuid, jsonb) as
    insert into public.submissions (owner_id, activity_code, title, payload)
    values ($1, 'LEARN', 'Pelatihan', $2);


-- Member, through the API: identifiers.
select tests.act_as(:'member');

select lives_ok(
    format('execute amplify(%L)', :'clean'),
    'member: a clean AMPLIFY payload with consent and approval is accepted'
);
select throws_ok(
    format('execute amplify(%L)', jsonb_set(:'clean'::jsonb, '{studentsData,2,notes}',
        '"NIK 3201011203850001, tinggal bersama nenek"')),
    'LGP01',
    'submission payload holds a pupil identifier (NIK) at $.studentsData[2].notes',
    'member: AMPLIFY with a pupil''s NIK in studentsData[2].notes is refused with LGP01 and '
        || 'the path'
);
select throws_ok(
    $$execute learn('{"notes": "NISN siswa: 0061234567"}')$$,
    'LGP01',
    'submission payload holds a pupil identifier (NISN) at $.notes',
    'member: a NISN next to its context word is refused with LGP01, for any activity'
);
select throws_ok(
    $$execute learn('{"peserta": [{"nisn": "0061234567"}]}')$$,
    'LGP01',
    'submission payload holds a pupil identifier (NISN) at $.peserta[0].nisn',
    'member: a NISN under a "nisn" key is refused with LGP01'
);
select throws_ok(
    $$execute learn('{"kontak": "Orang tua: +62 812-3456-7890"}')$$,
    'LGP01',
    'submission payload holds a pupil identifier (PHONE) at $.kontak',
    'member: a mobile number is refused with LGP01'
);
select throws_ok(
    $$execute learn('{"kontak": ["ok", "budi.murid@sekolah.sch.id"]}')$$,
    'LGP01',
    'submission payload holds a pupil identifier (EMAIL) at $.kontak[1]',
    'member: an e-mail address is refused with LGP01'
);
select throws_ok(
    $$execute learn('{"guru": "NUPTK 1234567890123456"}')$$,
    'LGP01',
    'submission payload holds a pupil identifier (NUPTK) at $.guru',
    'member: a NUPTK next to its context word is refused with LGP01'
);
select throws_ok(
    format('execute learn(%L)', jsonb_build_object('catatan',
        E'N.I.K. \uff13\uff12\uff10\uff11\u200b0112\u00a00385-0001')),
    'LGP01',
    'submission payload holds a pupil identifier (NIK) at $.catatan',
    'member: full-width digits, a zero-width space and a dotted context word hide no NIK'
);
select throws_ok(
    $$execute learn('{"siswa": {"NIK 3201011203850001": true}}')$$,
    'LGP01',
    'submission payload holds a pupil identifier (NIK) at $.siswa[*]',
    'member: a NIK in an object key is refused with LGP01 at the object''s path and [*]'
);
select throws_ok(
    $$execute learn('{"nik": {"ayah": "3201011203850001"}}')$$,
    'LGP01',
    'submission payload holds a pupil identifier (NIK) at $.nik.ayah',
    'member: a context key reaches the strings of the objects beneath it'
);
select throws_ok(
    $$execute learn('{"telepon": {"ayah": 81234567890}}')$$,
    'LGP01',
    'submission payload holds a pupil identifier (PHONE) at $.telepon.ayah',
    'member: a phone as a JSON number, its leading 0 lost, is refused under a phone key'
);
select throws_ok(
    $$execute learn('{"Budi Santoso": "budi@sekolah.sch.id"}')$$,
    'LGP01',
    'submission payload holds a pupil identifier (EMAIL) at $[*]',
    'member: a key with a space (a name, perhaps) is not repeated in the refusal'
);
select throws_ok(
    $$execute learn_titled('Wali murid Budi, HP 0812 3456 7890')$$,
    'LGP01',
    'submission title holds a personal identifier (PHONE) at title',
    'member: a title holding a pupil''s phone number is refused with LGP01 naming the column'
);
select lives_ok(
    $$execute learn_titled('Pelatihan 2024-03-12, pesanan 1234567890123456')$$,
    'member: a title with a date and an order number is accepted'
);
select lives_ok(
    $$execute learn('{"notes": "Nomor pesanan 1234567890123456 sudah dibayar"}')$$,
    'member: a 16-digit order number without context is accepted'
);
select lives_ok(
    $$execute learn('{"notes": "Peserta 3201011203850001", "npwp": "01.234.567.4-012.000"}')$$,
    'member: medium-confidence NIK and a (teacher''s) NPWP are not refused'
);
select lives_ok(
    format('execute amplify(%L)', jsonb_set(:'clean'::jsonb, '{notes}',
        '"Pesanan buku 1234567890123456, sesi 2024-03-12 08:30"')),
    'member: an AMPLIFY payload with an order number and a date is accepted'
);


-- Member, through the API: AMPLIFY pupil records.
select throws_ok(
    format('execute amplify(%L)', jsonb_set(:'clean'::jsonb, '{studentsData,1,name}',
        '"Budi"')),
    'LGP02',
    'AMPLIFY payload: $.studentsData[1] has a field that is not allowed',
    'member: a studentsData field outside the allowed four is refused with LGP02, unnamed'
);
select throws_ok(
    format('execute amplify(%L)', jsonb_set(:'clean'::jsonb, '{studentsData,0}', '"S-01"')),
    'LGP02',
    'AMPLIFY payload: $.studentsData[0] must be an object',
    'member: a studentsData item that is not an object is refused with LGP02'
);
select throws_ok(
    format('execute amplify(%L)', jsonb_set(:'clean'::jsonb, '{studentsData}', '{"a": 1}')),
    'LGP02',
    'AMPLIFY payload: $.studentsData must be an array of objects',
    'member: studentsData that is not an array is refused with LGP02'
);
select throws_ok(
    format('execute amplify(%L)', (:'clean'::jsonb - 'studentsData')
        || '{"StudentsData": [{"grade_level": 5, "nama": "Budi"}]}'),
    'LGP02',
    'AMPLIFY payload: $.StudentsData[0] has a field that is not allowed',
    'member: StudentsData in another letter case is held to the same rule'
);
select throws_ok(
    format('execute amplify(%L)', :'clean'::jsonb
        || '{"siswa": [{"anonymized_id": "S-09"}, {"alamat": "Jl. Mawar 3"}]}'),
    'LGP02',
    'AMPLIFY payload: $.siswa[1] has a field that is not allowed',
    'member: pupil records under "siswa" are held to the same rule'
);
select throws_ok(
    format('execute amplify(%L)', :'clean'::jsonb || '{"murid": {"nama": "Budi"}}'),
    'LGP02',
    'AMPLIFY payload: $.murid must be an array of objects',
    'member: an object under "murid" is refused: pupil records are an array of objects'
);
select lives_ok(
    format('execute amplify(%L)', :'clean'::jsonb || '{"students": 28, "Pupils": "dua kelas"}'),
    'member: a number or text under "students" or "Pupils" (a count, a note) is no record'
);
select throws_ok(
    format('execute amplify(%L)', jsonb_set(:'clean'::jsonb, '{studentsData,1,grade_level}',
        '13')),
    'LGP02',
    'AMPLIFY payload: $.studentsData[1].grade_level must be a grade from 1 to 12',
    'member: grade_level 13 is refused with LGP02 naming the field'
);
select throws_ok(
    format('execute amplify(%L)', jsonb_set(:'clean'::jsonb, '{studentsData,1,grade_level}',
        '{"kelas": 5}')),
    'LGP02',
    'AMPLIFY payload: $.studentsData[1].grade_level must be a grade from 1 to 12',
    'member: an object inside an allowed field is refused with LGP02'
);
select lives_ok(
    format('execute amplify(%L)', jsonb_set(:'clean'::jsonb, '{studentsData,1,grade_level}',
        '"Kelas 4"')),
    'member: grade_level may be written as text ("Kelas 4")'
);
select throws_ok(
    format('execute amplify(%L)', jsonb_set(:'clean'::jsonb, '{studentsData,0,subject}',
        '"IPA 0061234567"')),
    'LGP02',
    'AMPLIFY payload: $.studentsData[0].subject must be text of at most 60 characters and 5 '
        || 'digits',
    'member: a subject holding a number (a NISN, perhaps) is refused with LGP02'
);
select lives_ok(
    format('execute amplify(%L)', jsonb_set(:'clean'::jsonb, '{studentsData,0,subject}',
        '"Matematika kelas 10"')),
    'member: a subject with a few digits is accepted'
);
select throws_ok(
    format('execute amplify(%L)', jsonb_set(:'clean'::jsonb,
        '{studentsData,1,performance_metric}', '3201011203850001')),
    'LGP02',
    'AMPLIFY payload: $.studentsData[1].performance_metric must be a number with at most 5 '
        || 'digits before the point and 4 after',
    'member: a performance_metric too long to be a score is refused with LGP02'
);
select throws_ok(
    format('execute amplify(%L)', jsonb_set(:'clean'::jsonb, '{studentsData,2,anonymized_id}',
        '"0061234567"')),
    'LGP02',
    'AMPLIFY payload: $.studentsData[2].anonymized_id must be 1 to 64 letters, digits, - or _ '
        || 'and hold no identifier',
    'member: an anonymized_id that reads as a NISN is refused with LGP02'
);
select throws_ok(
    format('execute amplify(%L)', :'clean'::jsonb - 'consentDocumented'),
    'LGP03',
    'AMPLIFY payload must record consentDocumented: true and institutionalApproval: true',
    'member: AMPLIFY without consentDocumented is refused with LGP03'
);
select throws_ok(
    format('execute amplify(%L)', jsonb_set(:'clean'::jsonb, '{institutionalApproval}',
        '"true"')),
    'LGP03',
    'AMPLIFY payload must record consentDocumented: true and institutionalApproval: true',
    'member: institutionalApproval must be JSON true, not the string "true" (LGP03)'
);
select lives_ok(
    $$execute amplify('{"consentDocumented": true, "institutionalApproval": true}')$$,
    'member: AMPLIFY without studentsData is accepted when consent and approval are recorded'
);

-- Editing a pending submission is screened like creating one.
insert into public.submissions (activity_code, title, payload)
values ('LEARN', 'Akan diubah', '{"hours": 2}')
returning id as editable \gset
select throws_ok(
    format($$update public.submissions set payload = '{"hp": "0812 3456 7890"}' where id = %L$$,
        :'editable'),
    'LGP01',
    'submission payload holds a pupil identifier (PHONE) at $.hp',
    'member: editing a pending submission to hold a phone number is refused with LGP01'
);
select throws_ok(
    format($$update public.submissions set title = 'Budi, NISN 0061234567' where id = %L$$,
        :'editable'),
    'LGP01',
    'submission title holds a personal identifier (NISN) at title',
    'member: retitling a pending submission to hold a NISN is refused with LGP01'
);


-- Reviewer: the review note is screened as it is written.
select tests.act_as(:'reviewer');

select throws_ok(
    format($$update public.submissions set status = 'REJECTED',
        review_note = 'Hubungi ayahnya di 0812-3456-7890' where id = %L$$, :'editable'),
    'LGP01',
    'submission review_note holds a personal identifier (PHONE) at review_note',
    'reviewer: a review note holding a pupil''s phone number is refused with LGP01'
);
select lives_ok(
    format($$update public.submissions set status = 'REJECTED',
        review_note = 'Lampirkan daftar hadir 2024-03-12' where id = %L$$, :'editable'),
    'reviewer: a review note with a date is accepted'
);


-- Service role: the same rules.
select tests.act_as_service();

select throws_ok(
    format('execute amplify_for(%L, %L)', :'member', jsonb_set(:'clean'::jsonb,
        '{studentsData,2,notes}', '"NIK 3201011203850001"')),
    'LGP01',
    'submission payload holds a pupil identifier (NIK) at $.studentsData[2].notes',
    'service: AMPLIFY with a pupil''s NIK is refused with LGP01, as for members'
);
select throws_ok(
    format('execute amplify_for(%L, %L)', :'member',
        :'clean'::jsonb - 'institutionalApproval'),
    'LGP03',
    'AMPLIFY payload must record consentDocumented: true and institutionalApproval: true',
    'service: AMPLIFY without institutionalApproval is refused with LGP03, as for members'
);
select lives_ok(
    format('execute amplify_for(%L, %L)', :'member', :'clean'),
    'service: a clean AMPLIFY payload is accepted'
);
select lives_ok(
    format($$execute learn_for(%L, '{"ref": "Order 1234567890123456"}')$$, :'member'),
    'service: a 16-digit order number without context is accepted'
);


-- Table owner: what a refusal carries, in message, detail and hint.
select tests.clear_actor();

create function pg_temp.refusal_text(statement text)
returns text
language plpgsql
as $$
declare
    message text;
    detail text;
    hint text;
begin
    execute statement;
    return 'accepted';
exception
    when others then
        get stacked diagnostics message = message_text, detail = pg_exception_detail,
            hint = pg_exception_hint;
        return concat_ws(' / ', message, detail, hint);
end
$$;

select is(
    pg_temp.refusal_text(format(
        $$execute learn_for(%L, '{"a": {"b": "NIK: 3201-01-120385-0001"}}')$$, :'member')),
    'submission payload holds a pupil identifier (NIK) at $.a.b / kind: NIK; path: $.a.b / '
        || 'Remove the identifier; refer to pupils by an anonymized_id.',
    'refusal: message, detail and hint name the kind and the path, never the value'
);

select ok(
    pg_temp.refusal_text(format('execute amplify_for(%L, %L)', :'member',
        jsonb_set(:'clean'::jsonb, '{studentsData,0,Budi_Santoso_lahir_Bandung}', 'true')))
        like 'AMPLIFY payload: $.studentsData[0] has a field that is not allowed / '
            || 'path: $.studentsData[0] / Allowed fields: grade_level %'
    and pg_temp.refusal_text(format('execute amplify_for(%L, %L)', :'member',
        jsonb_set(:'clean'::jsonb, '{studentsData,0,Budi_Santoso_lahir_Bandung}', 'true')))
        not like '%Budi%',
    'refusal: LGP02 names the record and lists the allowed fields, never the key at fault'
);

-- A decision leaves the content as it was accepted: a submission written before the rule
-- (trigger off, as for rows older than it) can still be reviewed.
alter table public.submissions disable trigger submissions_screen_payload;
insert into public.submissions (owner_id, activity_code, title, payload)
values (:'member', 'AMPLIFY', 'Sebelum aturan', '{
    "audience": 25,
    "consentDocumented": true,
    "institutionalApproval": true,
    "notes": "NIK 3201011203850001",
    "studentsData": [{"nama": "Budi", "grade_level": "IV"}]
}')
returning id as legacy \gset
alter table public.submissions enable trigger submissions_screen_payload;

select tests.act_as(:'reviewer');
select lives_ok(
    format($$update public.submissions set status = 'APPROVED' where id = %L$$, :'legacy'),
    'reviewer: approving a submission written before the rule is not screened again'
);

-- Pseudonymisation keeps part of a payload: what it keeps was accepted once, and is not
-- judged again by rules made since; anything added is.
select tests.act_as_service();
select lives_ok(
    format($$update public.submissions set title = '[removed]', payload = payload - 'notes'
        where id = %L$$, :'legacy'),
    'service: keeping part of a payload written before the rule is accepted'
);
select throws_ok(
    format($$update public.submissions set payload = payload || '{"hours": 2}' where id = %L$$,
        :'legacy'),
    'LGP02',
    'AMPLIFY payload: $.studentsData[0] has a field that is not allowed',
    'service: adding to that payload screens all of it again'
);
select tests.clear_actor();

select is(
    (
        select array_agg(t.tgname::text order by t.tgname)
        from pg_catalog.pg_trigger as t
        where t.tgrelid = 'public.submissions'::regclass
            and not t.tgisinternal
            and t.tgname in ('submissions_guard_update', 'submissions_screen_payload')
    ),
    array['submissions_guard_update', 'submissions_screen_payload'],
    'trigger order: the payload screen fires after the column guard (triggers fire by name)'
);

select * from finish();
rollback;
