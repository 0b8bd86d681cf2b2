-- Demo cohort for the local stack. Every person here is invented; names, schools and
-- addresses are made up and e-mail addresses use the reserved example.com domain.
-- Runs as `postgres` after the migrations, once per fresh database.

insert into auth.users (id, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
values
    ('00000000-0000-4000-8000-000000000001', 'siti.rahayu@example.com', now(),
        '{"provider": "email", "providers": ["email"]}',
        '{"handle": "siti_rahayu", "name": "Siti Rahayu"}'),
    ('00000000-0000-4000-8000-000000000002', 'budi.santoso@example.com', now(),
        '{"provider": "email", "providers": ["email"]}',
        '{"handle": "budi_santoso", "name": "Budi Santoso"}'),
    ('00000000-0000-4000-8000-000000000003', 'dewi.lestari@example.com', now(),
        '{"provider": "email", "providers": ["email"]}',
        '{"handle": "dewi_lestari", "name": "Dewi Lestari"}'),
    ('00000000-0000-4000-8000-000000000004', 'agus.pratama@example.com', now(),
        '{"provider": "email", "providers": ["email"]}',
        '{"handle": "agus_pratama", "name": "Agus Pratama"}'),
    ('00000000-0000-4000-8000-000000000005', 'rina.wulandari@example.com', now(),
        '{"provider": "email", "providers": ["email"]}',
        '{"handle": "rina_wulandari", "name": "Rina Wulandari"}'),
    ('00000000-0000-4000-8000-000000000006', 'wayan.sudarma@example.com', now(),
        '{"provider": "email", "providers": ["email"]}',
        '{"handle": "wayan_sudarma", "name": "I Wayan Sudarma"}'),
    ('00000000-0000-4000-8000-000000000007', 'ketut.anggraini@example.com', now(),
        '{"provider": "email", "providers": ["email"]}',
        '{"handle": "ketut_anggraini", "name": "Ni Ketut Anggraini"}');

-- Every demo account signs in with the same demo password (the local sign-in endpoint, POST
-- /auth/v1/token?grant_type=password, checks it as Supabase Auth would).
update auth.users
set encrypted_password = extensions.crypt('leaps-demo-2026', extensions.gen_salt('bf', 8))
where email like '%@example.com';

-- Profiles were created by the auth trigger; fill in what administrators assign.
update public.users as u
set school = v.school,
    cohort = v.cohort,
    region = v.region,
    role = v.role::public.app_role,
    status = v.status::public.account_status,
    visibility = v.visibility::public.visibility
from (
    values
        ('siti_rahayu', 'SD Negeri 3 Sukamaju', '2026-A', 'Jawa Barat', 'PARTICIPANT', 'ACTIVE',
            'PUBLIC'),
        ('budi_santoso', 'SMP Negeri 1 Tanjung Harapan', '2026-A', 'Sumatera Utara',
            'PARTICIPANT', 'ACTIVE', 'PUBLIC'),
        ('dewi_lestari', 'SMA Negeri 2 Karang Indah', '2026-A', 'Jawa Tengah', 'PARTICIPANT',
            'ACTIVE', 'PRIVATE'),
        ('agus_pratama', 'SD Negeri 7 Mekar Sari', '2026-B', 'Kalimantan Timur', 'PARTICIPANT',
            'SUSPENDED', 'PUBLIC'),
        ('rina_wulandari', 'Balai Guru Penggerak Contoh', null, 'DKI Jakarta', 'REVIEWER',
            'ACTIVE', 'PRIVATE'),
        ('wayan_sudarma', 'Kantor Program LEAPS', null, 'Bali', 'ADMIN', 'ACTIVE', 'PRIVATE'),
        ('ketut_anggraini', 'Kantor Program LEAPS', null, 'Bali', 'SUPERADMIN', 'ACTIVE',
            'PRIVATE')
) as v(handle, school, cohort, region, role, status, visibility)
where u.handle = v.handle;

-- Administrators have completed MFA enrolment, so they can reach aal2. The demo secret is
-- shared by both (`npm run totp -- <handle>` prints the current code).
insert into auth.mfa_factors (id, user_id, friendly_name, factor_type, status, secret)
values
    ('00000000-0000-4000-8000-0000000000f6', '00000000-0000-4000-8000-000000000006',
        'Authenticator app', 'totp', 'verified', 'LEAPSDEMOTOTPSECRETKEY234567'),
    ('00000000-0000-4000-8000-0000000000f7', '00000000-0000-4000-8000-000000000007',
        'Authenticator app', 'totp', 'verified', 'LEAPSDEMOTOTPSECRETKEY234567');

insert into public.badges (id, name, description, points_threshold)
values
    ('first_steps', 'Langkah Pertama', 'First approved activity', 10),
    ('rising_star', 'Bintang Baru', 'Reached 50 points', 50),
    ('champion', 'Juara Belajar', 'Reached 150 points', 150),
    ('mentor', 'Mentor Sejawat', 'Given by hand for mentoring other teachers', null);

insert into public.submissions (id, owner_id, activity_code, title, payload, visibility,
    created_at)
values
    ('10000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001', 'LEARN',
        'Pelatihan pembelajaran berdiferensiasi', '{"hours": 12, "provider": "LEAPS"}',
        'PUBLIC', now() - interval '20 days'),
    ('10000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'EXPLORE',
        'Uji coba asesmen formatif di kelas 4', '{"class": "4B", "students": 28}',
        'PRIVATE', now() - interval '12 days'),
    ('10000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001', 'AMPLIFY',
        'Berbagi praktik baik di KKG',
        '{"audience": 25, "consentDocumented": true, "institutionalApproval": true}', 'PRIVATE',
        now() - interval '5 days'),
    ('10000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000001', 'PRESENT',
        'Presentasi di seminar kabupaten', '{"event": "Seminar Guru 2026"}', 'PRIVATE',
        now() - interval '1 day'),
    ('10000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000002', 'LEARN',
        'Kursus literasi digital', '{"hours": 8}', 'PUBLIC', now() - interval '15 days'),
    ('10000000-0000-4000-8000-000000000006', '00000000-0000-4000-8000-000000000002', 'SHINE',
        'Projek P5 bersama siswa', '{"students": 30}', 'PRIVATE', now() - interval '3 days'),
    ('10000000-0000-4000-8000-000000000007', '00000000-0000-4000-8000-000000000003', 'EXPLORE',
        'Observasi kelas sejawat', '{"sessions": 3}', 'PRIVATE', now() - interval '9 days'),
    ('10000000-0000-4000-8000-000000000008', '00000000-0000-4000-8000-000000000003', 'LEARN',
        'Webinar kurikulum merdeka', '{"hours": 2}', 'PRIVATE', now() - interval '2 days'),
    ('10000000-0000-4000-8000-000000000009', '00000000-0000-4000-8000-000000000004', 'LEARN',
        'Pelatihan numerasi', '{"hours": 6}', 'PRIVATE', now() - interval '30 days');

-- Decisions by the reviewer; approvals credit points and award badges through triggers.
update public.submissions as s
set status = v.status::public.submission_status,
    reviewer_id = '00000000-0000-4000-8000-000000000005',
    review_note = v.note,
    reviewed_at = now() - interval '1 day'
from (
    values
        ('10000000-0000-4000-8000-000000000001', 'APPROVED', 'Bukti lengkap.'),
        ('10000000-0000-4000-8000-000000000002', 'APPROVED', 'Refleksi yang baik.'),
        ('10000000-0000-4000-8000-000000000003', 'REJECTED', 'Lampirkan daftar hadir.'),
        ('10000000-0000-4000-8000-000000000005', 'APPROVED', 'Sertifikat terverifikasi.'),
        ('10000000-0000-4000-8000-000000000007', 'APPROVED', 'Catatan observasi jelas.'),
        ('10000000-0000-4000-8000-000000000009', 'APPROVED', 'Sertifikat terverifikasi.')
) as v(id, status, note)
where s.id = v.id::uuid;

-- The certificate's bytes: `npm start` writes a small demo PDF for every object marked
-- "demo" into the local Storage folder and sets the attachment's size and hash to match.
insert into storage.objects (id, bucket_id, name, owner, owner_id, metadata)
values ('30000000-0000-4000-8000-000000000001', 'evidence',
    '00000000-0000-4000-8000-000000000001/10000000-0000-4000-8000-000000000001/sertifikat.pdf',
    '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001',
    '{"demo": true, "mimetype": "application/pdf"}');

insert into public.submission_attachments (submission_id, owner_id, storage_path, file_name,
    mime_type, byte_size, sha256, scan_status)
values
    ('10000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001',
        '00000000-0000-4000-8000-000000000001/10000000-0000-4000-8000-000000000001/sertifikat.pdf',
        'sertifikat.pdf', 'application/pdf', 48213,
        'a3f1c0d2e4b5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff', 'CLEAN');

-- A manual adjustment and a hand-given badge, as an administrator would record them.
insert into public.points_ledger (user_id, delta, reason, awarded_by)
values ('00000000-0000-4000-8000-000000000002', 15, 'mentoring session for new cohort',
    '00000000-0000-4000-8000-000000000006');

insert into public.earned_badges (user_id, badge_id, awarded_by)
values ('00000000-0000-4000-8000-000000000002', 'mentor', '00000000-0000-4000-8000-000000000006');

-- Data-subject requests: budi's access request from four days ago is still open (so the
-- overdue list has something to show); dewi's export was answered within a day.
insert into public.dsar_requests (kind, subject_id, requester_id, received_at, due_at, details)
values ('access', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000002',
    now() - interval '4 days', now() - interval '4 days' + interval '72 hours',
    'Saya ingin salinan semua data saya');
insert into public.dsar_requests (kind, subject_id, requester_id, received_at, due_at, status,
    status_reason, handled_by, completed_at)
values ('export', '00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000003',
    now() - interval '10 days', now() - interval '10 days' + interval '72 hours', 'completed',
    'export sent', '00000000-0000-4000-8000-000000000006', now() - interval '9 days');
