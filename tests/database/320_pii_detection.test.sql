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

select plan((select count(*)::integer from vector) + 7);

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
    (select count(*) from vector) >= 60,
    'vectors: the shared file holds 60 or more vectors'
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
    $$,
    'findings never carry the value: no path or mask of any vector repeats its digits or address'
);

-- The detector's functions (sql/35_pii_detection.sql), by name: other modules use the pii_
-- prefix too.
create temporary table detector_function as
select f::regprocedure as oid
from pg_catalog.unnest(array[
    'private.pii_is_valid_nik(text)',
    'private.pii_npwp_check_digit_ok(text)',
    'private.pii_is_mobile_number(text)',
    'private.pii_context_pattern(text)',
    'private.pii_key_context(text)',
    'private.pii_has_context(text, text, text[])',
    'private.pii_classify_number(text, integer, text, text[], boolean)',
    'private.pii_text_findings(text, text)',
    'private.pii_findings(jsonb, boolean)'
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
