-- private.pii_findings() against the shared vectors in tests/vectors/indonesian-pii.json,
-- which tests/functions/pii.test.ts runs through functions/_shared/pii.ts too: both must give
-- every vector the same verdict. pg_prove runs this file from the repository root.

\set vectors `cat tests/vectors/indonesian-pii.json`

begin;
set local search_path = public, extensions;

create temporary table vector as
select
    v.n,
    v.item ->> 'id' as id,
    v.item -> 'input' as input,
    v.item -> 'expect' as expected,
    -- The mask is compared when the vector gives it for every finding.
    pg_catalog.jsonb_array_length(v.item -> 'expect') > 0
        and not pg_catalog.jsonb_path_exists(v.item, '$.expect[*] ? (!exists(@.masked))')
        as with_mask
from pg_catalog.jsonb_array_elements((:'vectors')::jsonb -> 'vectors')
    with ordinality as v(item, n);

select plan((select count(*)::integer from vector) + 13);

-- Findings and expectations as sorted arrays of "path | type | confidence | mask".
create temporary view vector_outcome as
select
    v.n,
    v.id,
    array(
        select pg_catalog.concat_ws(' | ', f.path, f.type, f.confidence,
            case when v.with_mask then f.masked else '' end)
        from private.pii_findings(v.input) as f
        order by 1
    ) as found,
    array(
        select pg_catalog.concat_ws(' | ', e ->> 'path', e ->> 'type', e ->> 'confidence',
            case when v.with_mask then e ->> 'masked' else '' end)
        from pg_catalog.jsonb_array_elements(v.expected) as e
        order by 1
    ) as expected
from vector as v;


select ok(
    (select count(*) from vector) >= 170,
    'vectors: the shared file holds 170 or more vectors'
);

select is(o.found, o.expected, 'vector ' || o.id || ': findings as expected')
from vector_outcome as o
order by o.n;

-- The trigger scans with pupil_only, which skips what cannot hold a refused identifier; what
-- it refuses must be exactly what the full scan reports.
select is_empty(
    $$
    select v.id
    from vector as v
    where array(
            select f.path || f.type || f.masked
            from private.pii_findings(v.input) as f
            where f.confidence = 'high' and f.type in ('NIK', 'NISN', 'NUPTK', 'PHONE', 'EMAIL')
            order by 1
        ) is distinct from array(
            select f.path || f.type || f.masked
            from private.pii_findings(v.input, pupil_only => true) as f
            where f.confidence = 'high' and f.type in ('NIK', 'NISN', 'NUPTK', 'PHONE', 'EMAIL')
            order by 1
        )
    $$,
    'pupil_only: every vector yields the same high-confidence pupil findings as the full scan'
);

select is_empty(
    $$
    select v.id
    from vector as v
    cross join lateral private.pii_findings(v.input) as f
    where f.path ~ '[0-9]{6}' or f.masked ~ '[0-9]{3}' or f.masked ~ '[^*]@'
        -- Array indexes aside, no step of a path holds 4 digits, an @ or a space.
        or pg_catalog.regexp_replace(f.path, '\[[0-9]+\]', '', 'g')
            ~ '(?:[0-9][^0-9]*){4}|@| '
    $$,
    'findings never carry the value: no path or mask of any vector repeats its digits or address'
);

select is(
    private.pii_normalise(
        E'\uff13\uff12\u0660\u0661\u06f0\u06f2\u00a0\u200b1\u00ad2\u2060\ufeff\t\n'),
    '320102 12  ',
    'normalise: Unicode digits as ASCII, spaces as a space, invisible characters removed'
);

select is(
    private.pii_normalise('HP O812, NO812, ko81, O84'),
    'HP 0812, NO812, ko81, O84',
    'normalise: an O that starts a word before 8 and 1-3 or 5-9 is read as 0, no other O'
);

select is(
    private.pii_key_context('noHpOrtu') || private.pii_key_context('NIKsiswa')
        || private.pii_key_context('studentId') || private.pii_key_context('teknik'),
    array['PHONE', 'NIK', 'NISN'],
    'key context: camelCase words, capitals glued to a word, English words; no word in another'
);

-- Regression: 60 kB of one-digit groups once took 15 s of CPU, every group starting a search
-- over the rest of the chain. The work is linear now; this file checks what such documents
-- give, not how long they take.
select is(
    (select pg_catalog.count(*)::integer
    from private.pii_findings(
        pg_catalog.jsonb_build_object('nik', pg_catalog.repeat('1 ', 30000)))),
    0,
    'digit groups: 30,000 one-digit groups (60 kB) under a NIK key hold no identifier'
);

select is(
    (select pg_catalog.count(*)::integer
    from private.pii_findings(
        pg_catalog.jsonb_build_object('notes', pg_catalog.repeat('0812 3456 7890, ', 3750)))),
    3750,
    'digit groups: 3,750 phone numbers in one 60 kB chain are each found'
);

select is(
    (select pg_catalog.array_agg(f.type || ' ' || f.confidence order by f.type)
    from private.pii_findings(
        '"Tanggal 12 03 2024 0812 3456 7890, 3201011203850001 0812 3456 7891"') as f),
    array['NIK medium', 'PHONE high', 'PHONE high'],
    'chain pieces: a medium finding never hides a high one, and is still reported'
);

-- The detector's functions (sql/35_pii_detection.sql), by name: other modules use the pii_
-- prefix too.
create temporary table detector_function as
select f::regprocedure as oid
from pg_catalog.unnest(array[
    'private.pii_is_valid_nik(text)',
    'private.pii_npwp_check_digit_ok(text)',
    'private.pii_is_mobile_number(text)',
    'private.pii_normalise(text)',
    'private.pii_context_words(text)',
    'private.pii_context_pattern(text)',
    'private.pii_split_words(text)',
    'private.pii_key_context(text)',
    'private.pii_window_context(text, text[], boolean)',
    'private.pii_worth_classifying(text, boolean)',
    'private.pii_classify_number(text, text, boolean, text, text[], boolean, text[])',
    'private.pii_chain_findings(text, text, boolean, text[], boolean)',
    'private.pii_text_findings(text, text[])',
    'private.pii_path_step(text, text)',
    'private.pii_screen_pattern()',
    'private.pii_scan_text(jsonb, text[])',
    'private.pii_findings(jsonb, boolean)',
    'private.pii_first_pupil_identifier(jsonb)',
    'private.amplify_record_problem(jsonb)'
]) as f;

select is_empty(
    $$
    select p.oid::regprocedure::text
    from pg_catalog.pg_proc as p
    join detector_function as d on d.oid = p.oid
    where p.provolatile <> 'i'
        or p.prosecdef
        or not coalesce(p.proconfig @> array['search_path=""'], false)
    $$,
    'detector functions: all IMMUTABLE, SECURITY INVOKER, with search_path = '''''
);

select is_empty(
    $$
    select p.oid::regprocedure::text || ' by ' || r.role_name
    from pg_catalog.pg_proc as p
    join detector_function as d on d.oid = p.oid
    cross join (values ('anon'), ('authenticated'), ('public')) as r(role_name)
    where case r.role_name
            when 'public' then exists (
                select 1
                from pg_catalog.aclexplode(
                    coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) as a
                where a.grantee = 0 and a.privilege_type = 'EXECUTE'
            )
            else pg_catalog.has_function_privilege(r.role_name, p.oid, 'execute')
        end
    $$,
    'detector functions: none is executable by PUBLIC, anon or authenticated'
);

select tests.act_as_anon();
select throws_ok(
    $$select * from private.pii_findings('{"a": "0812 3456 7890"}')$$,
    '42501', null,
    'anon: calling private.pii_findings() is refused with 42501'
);

-- The privilege check comes before any row is read: no member needs to exist.
select tests.act_as(extensions.gen_random_uuid());
select throws_ok(
    $$select * from private.pii_findings('{"a": "0812 3456 7890"}')$$,
    '42501', null,
    'authenticated: calling private.pii_findings() is refused with 42501'
);
select tests.clear_actor();

select * from finish();
rollback;
