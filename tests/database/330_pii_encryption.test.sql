-- Encrypted personal identifiers (sql/37_pii_encryption.sql).
--
-- Members store their phone and NIK through public.set_personal_identifier(); the table holds
-- only ciphertext with a key id, out of reach of every API role. The member and an ADMIN at
-- aal2 reveal them, and each reveal is in the audit trail without the value; a participant
-- reading someone else's, or an admin at aal1, is refused (42501). Blind indexes find a member
-- by phone in any accepted format, or by e-mail in any case, and keep phone and NIK unique.
-- Bad values are refused (LGV01) without echoing them. Rotation re-encrypts in batches and
-- leaves every value readable; a wrong key raises (LGK02).

begin;
set local search_path = public, extensions;
select plan(33);

select tests.create_member('t_pii330_siti') as siti \gset
select tests.create_member('t_pii330_budi') as budi \gset
select tests.create_member('t_pii330_admin', 'ADMIN', mfa_verified => true) as admin \gset
select u.email as siti_email from auth.users as u where u.id = :'siti' \gset


-- The member stores and reads their own -------------------------------------------------------

select tests.act_as(:'siti');
select ok(public.set_personal_identifier('phone', '+62 812-3456-7890'),
    'participant: stores their own phone number');
select ok(public.set_personal_identifier('nik', '3201234105900001'),
    'participant: stores their own NIK');
select is(
    array[public.reveal_personal_identifier('phone'), public.reveal_personal_identifier('nik'),
        public.reveal_personal_identifier('npwp')],
    array['+62 812-3456-7890', '3201234105900001', null],
    'participant: reveals their own values (null for one never stored)'
);
select is(tests.select_outcome('private.member_identifiers'), 'refused',
    'participant: the table of identifiers is out of reach (42501)');
select throws_ok(
    format('select public.reveal_personal_identifier(%L, %L)', 'phone', :'budi'),
    '42501', null,
    'participant: revealing another member''s phone is refused (42501)');
select throws_ok(
    format('select public.set_personal_identifier(%L, %L, %L)', 'phone', '081298765432',
        :'budi'),
    '42501', null,
    'participant: setting another member''s phone is refused (42501)');
select tests.clear_actor();

select is(
    (select pg_catalog.jsonb_build_object(
        'phone_hides_digits', pg_catalog.position(m.phone, '81234567890'::bytea) = 0,
        'nik_hides_digits', pg_catalog.position(m.nik, '3201234105900001'::bytea) = 0,
        'keys_active', m.phone_key = k.key_id and m.nik_key = k.key_id,
        'indexed', m.phone_index is not null and m.nik_index is not null
            and m.email_index is not null)
    from private.member_identifiers as m
    cross join private.pii_keys as k
    where m.user_id = :'siti' and k.purpose = 'encryption' and k.state = 'ACTIVE'),
    '{"phone_hides_digits": true, "nik_hides_digits": true, "keys_active": true,
      "indexed": true}'::jsonb,
    'stored: ciphertext only, with the active key id, and blind indexes'
);
select is(
    (select pg_catalog.jsonb_build_object('fields', l.changed_fields,
        'copied', array(select pg_catalog.jsonb_object_keys(l.metadata -> 'new') order by 1))
    from audit.audit_log as l
    where l.target_type = 'private.member_identifiers' and l.target_id = :'siti'
        and l.action = 'update'
    order by l.id desc limit 1),
    '{"fields": ["nik", "nik_index", "nik_key"], "copied": ["nik_key"]}'::jsonb,
    'audit: storing the NIK is recorded by name; neither value, ciphertext nor index is copied'
);


-- Bad input: a stable code and no echo ------------------------------------------------------------

select tests.act_as(:'budi');
select throws_ok($$select public.set_personal_identifier('phone', '021 555 1234')$$, 'LGV01',
    'phone is not an Indonesian mobile number (+62 8xx or 08xx)',
    'a landline is refused (LGV01) and the message does not repeat it');
select throws_ok($$select public.set_personal_identifier('nik', '3201234105900000')$$, 'LGV01',
    'nik is not a valid NIK (16 digits: region, birth date, serial)',
    'a NIK with serial 0000 is refused (LGV01)');
select throws_ok($$select public.set_personal_identifier('passport', 'A1234567')$$, '22023',
    'field must be one of phone, nik, npwp, bank_account',
    'an unknown field is refused (22023) with the list of fields');
select ok(public.set_personal_identifier('phone', '0813 1111 2222'),
    'a different phone is accepted');
select is(public.set_personal_identifier('phone', '0812 3456 7890'), false,
    'the same phone in another format is not stored for a second member (blind index)');
select is(public.reveal_personal_identifier('phone'), '0813 1111 2222',
    'and their own number is unchanged');
select public.set_personal_identifier('nik', '3201234105900001') as second_try \gset
select public.set_personal_identifier('phone', '+62 812 3456 7890') as third_try \gset
select public.set_personal_identifier('phone', '6281234567890') as fourth_try \gset
select public.set_personal_identifier('phone', '081234567890') as fifth_try \gset
select throws_ok($$select public.set_personal_identifier('phone', '0812-3456-7890')$$, 'LGV03',
    'too many attempts to register an identifier; try again tomorrow',
    'after five attempts on identifiers registered to others, a member is refused (LGV03)');
select tests.clear_actor();
select is(
    (select pg_catalog.count(*) from audit.audit_log as l
    where l.action = 'pii.duplicate' and l.actor_id = :'budi' and l.outcome = 'FAILURE'),
    5::bigint,
    'each attempt on someone else''s identifier is in the audit trail');


-- Admins: aal2 only, audited --------------------------------------------------------------------

select tests.act_as(:'admin', 'aal1');
select throws_ok(
    format('select public.reveal_personal_identifier(%L, %L)', 'nik', :'siti'),
    '42501', null,
    'admin at aal1: revealing a member''s NIK is refused (42501)');

select tests.act_as(:'admin', 'aal2');
select is(public.reveal_personal_identifier('nik', :'siti'), '3201234105900001',
    'admin at aal2: reveals a member''s NIK');
select is(public.find_member_by_identifier('phone', '081234567890'), :'siti'::uuid,
    'admin at aal2: finds the member by phone written in the 08 form');
select is(public.find_member_by_identifier('email', pg_catalog.upper(:'siti_email')),
    :'siti'::uuid,
    'admin at aal2: finds the member by e-mail in another case');
select is(public.find_member_by_identifier('nik', '3201234105900009'), null::uuid,
    'admin at aal2: an unknown NIK finds nobody');
select tests.clear_actor();

select is(
    (select pg_catalog.array_agg(l.action || ' ' || (l.metadata ->> 'field') || ' '
        || coalesce(l.metadata ->> 'own', l.metadata ->> 'found') order by l.id)
    from audit.audit_log as l
    where l.actor_id = :'admin' and l.action like 'pii.%'),
    array['pii.reveal nik false', 'pii.lookup phone true', 'pii.lookup email true',
        'pii.lookup nik false'],
    'audit: the admin''s reveal and lookups are recorded, with the field and no value'
);
select is(
    (select pg_catalog.count(*) from audit.audit_log as l
    where l.action like 'pii.%'
        and (l.metadata::text like '%3201234105900001%' or l.metadata::text like '%812%')),
    0::bigint,
    'audit: no recorded event holds an identifier''s value'
);

select tests.act_as(:'siti');
select throws_ok($$select public.find_member_by_identifier('phone', '081234567890')$$,
    '42501', null, 'participant: looking members up by phone is refused (42501)');
select tests.clear_actor();


-- Rotation and wrong keys ------------------------------------------------------------------------

select r.active_key as new_key, r.values_left as left_before
from private.pii_start_rotation() as r \gset
select ok(:left_before >= 3,
    'rotation: a new key is active and the values under the old one are counted');
select is(private.pii_reencrypt_batch(1), 1, 'rotation: a batch of one re-encrypts one member');
select ok(private.pii_values_to_rotate() between 1 and :left_before - 1,
    'rotation: and leaves the rest for later batches');
select is(
    (select r.resumed from private.pii_start_rotation() as r),
    true,
    'rotation: starting again while values remain resumes the same rotation'
);
select private.pii_reencrypt_batch(1000) >= 0 as rest_done \gset
select is(private.pii_values_to_rotate(), 0::bigint,
    'rotation: further batches leave no value under an old key');
select ok(private.pii_finish_rotation() >= 1,
    'rotation: the old key is marked RETIRED once unused');

select tests.act_as(:'siti');
select is(
    array[public.reveal_personal_identifier('phone'), public.reveal_personal_identifier('nik')],
    array['+62 812-3456-7890', '3201234105900001'],
    'rotation: every value is still readable under the new key'
);
select tests.clear_actor();

select throws_ok(
    format($$select private.pii_decrypt(m.nik, (select pg_catalog.min(k.key_id)
        from private.pii_keys as k where k.purpose = 'encryption'))
        from private.member_identifiers as m where m.user_id = %L$$, :'siti'),
    'LGK02', null,
    'a value decrypted with the wrong key raises (LGK02), never returns garbage');

select tests.act_as(:'siti');
select ok(public.set_personal_identifier('phone', null)
    and public.reveal_personal_identifier('phone') is null,
    'participant: clearing the phone with null leaves nothing to reveal');
select tests.clear_actor();

select * from finish();
rollback;
