-- rows of: private.regional_rules
--
-- Requirements of each province on members' personal data, by BPS province code. Idempotent:
-- re-applying it leaves exactly these rows, so a change here is carried into the next
-- migration as this whole file. Every province keeps data in Indonesia (UU 27/2022 and the
-- programme's hosting decision) for 60 months by default. The provinces with special autonomy
-- (Aceh, Yogyakarta and the six Papua provinces) are, by programme decision, set to require
-- consent from the provincial education office before pupils' work is recorded: submissions
-- from their members must carry "additionalConsent": true. Aliases are the other names members
-- write (matched ignoring case, punctuation and a "Provinsi"/"Prov." prefix).

with listed (region_code, name, additional_consent_required, extra_requirements, aliases) as (
    values
        ('11', 'Aceh', true, array['consent from the provincial education office'],
            array['Nanggroe Aceh Darussalam', 'NAD', 'Aceh Darussalam']),
        ('12', 'Sumatera Utara', false, '{}'::text[], '{}'::text[]),
        ('13', 'Sumatera Barat', false, '{}', '{}'),
        ('14', 'Riau', false, '{}', '{}'),
        ('15', 'Jambi', false, '{}', '{}'),
        ('16', 'Sumatera Selatan', false, '{}', '{}'),
        ('17', 'Bengkulu', false, '{}', '{}'),
        ('18', 'Lampung', false, '{}', '{}'),
        ('19', 'Kepulauan Bangka Belitung', false, '{}',
            array['Bangka Belitung', 'Babel']),
        ('21', 'Kepulauan Riau', false, '{}',
            array['Kepri']),
        ('31', 'DKI Jakarta', false, '{}',
            array['Jakarta', 'Daerah Khusus Ibukota Jakarta', 'Daerah Khusus Jakarta', 'DKJ']),
        ('32', 'Jawa Barat', false, '{}', '{}'),
        ('33', 'Jawa Tengah', false, '{}', '{}'),
        ('34', 'DI Yogyakarta', true, array['consent from the provincial education office'],
            array['Daerah Istimewa Yogyakarta', 'Yogyakarta', 'DIY', 'Jogja', 'Jogjakarta']),
        ('35', 'Jawa Timur', false, '{}', '{}'),
        ('36', 'Banten', false, '{}', '{}'),
        ('51', 'Bali', false, '{}', '{}'),
        ('52', 'Nusa Tenggara Barat', false, '{}',
            array['NTB']),
        ('53', 'Nusa Tenggara Timur', false, '{}',
            array['NTT']),
        ('61', 'Kalimantan Barat', false, '{}', '{}'),
        ('62', 'Kalimantan Tengah', false, '{}', '{}'),
        ('63', 'Kalimantan Selatan', false, '{}', '{}'),
        ('64', 'Kalimantan Timur', false, '{}', '{}'),
        ('65', 'Kalimantan Utara', false, '{}', '{}'),
        ('71', 'Sulawesi Utara', false, '{}', '{}'),
        ('72', 'Sulawesi Tengah', false, '{}', '{}'),
        ('73', 'Sulawesi Selatan', false, '{}', '{}'),
        ('74', 'Sulawesi Tenggara', false, '{}', '{}'),
        ('75', 'Gorontalo', false, '{}', '{}'),
        ('76', 'Sulawesi Barat', false, '{}', '{}'),
        ('81', 'Maluku', false, '{}', '{}'),
        ('82', 'Maluku Utara', false, '{}', '{}'),
        ('91', 'Papua', true,
            array['consent from the provincial education office'], '{}'),
        ('92', 'Papua Barat', true,
            array['consent from the provincial education office'], '{}'),
        ('93', 'Papua Selatan', true,
            array['consent from the provincial education office'], '{}'),
        ('94', 'Papua Tengah', true,
            array['consent from the provincial education office'], '{}'),
        ('95', 'Papua Pegunungan', true,
            array['consent from the provincial education office'], '{}'),
        ('96', 'Papua Barat Daya', true,
            array['consent from the provincial education office'], '{}')
),
removed as (
    delete from private.regional_rules as r
    where not exists (select 1 from listed as l where l.region_code = r.region_code)
)
insert into private.regional_rules (region_code, name, localisation_required,
    additional_consent_required, retention_months, extra_requirements, aliases)
select region_code, name, true, additional_consent_required, 60, extra_requirements, aliases
from listed
on conflict (region_code) do update
set name = excluded.name,
    localisation_required = excluded.localisation_required,
    additional_consent_required = excluded.additional_consent_required,
    retention_months = excluded.retention_months,
    extra_requirements = excluded.extra_requirements,
    aliases = excluded.aliases;
