-- Indonesian personal identifiers in submission payloads: detection, and the trigger that
-- refuses pupil identifiers and enforces the AMPLIFY data rules.
--
-- The detector applies the rules of functions/_shared/pii.ts (which documents them in full);
-- both are run against tests/vectors/indonesian-pii.json and must agree on every vector.
-- The regular expressions below use only syntax that PostgreSQL and JavaScript read the same
-- way; where a pattern differs in form from pii.ts, a comment says why it finds the same.
--
-- Findings name the kind, a confidence, the JSON path and a masked form, never the value;
-- the errors raised here follow the same rule.
--
-- SQLSTATEs of class LG (leaps-guard), stable for clients:
--   LGP01  the payload holds a pupil identifier (NIK, NISN, NUPTK, phone or e-mail) of high
--          confidence
--   LGP02  an AMPLIFY payload's studentsData is not an array of objects with allowed fields
--   LGP03  an AMPLIFY payload does not record consent and institutional approval


-- Kemendagri province codes, regency and district not 00, birth date DDMMYY with 40 added
-- to the day for women, serial from 0001.
create function private.pii_is_valid_nik(digits text)
returns boolean
language plpgsql
immutable
strict
parallel safe
set search_path = ''
as $$
declare
    day integer;
    month integer;
begin
    if digits !~ '^[1-9][0-9]{15}$'
        or pg_catalog.substr(digits, 1, 2) <> all (array[
            '11', '12', '13', '14', '15', '16', '17', '18', '19', '21', '31', '32', '33', '34',
            '35', '36', '51', '52', '53', '61', '62', '63', '64', '65', '71', '72', '73', '74',
            '75', '76', '81', '82', '91', '92', '93', '94', '95', '96'])
        or pg_catalog.substr(digits, 3, 2) = '00'
        or pg_catalog.substr(digits, 5, 2) = '00'
        or pg_catalog.substr(digits, 13, 4) = '0000'
    then
        return false;
    end if;
    day := pg_catalog.substr(digits, 7, 2)::integer;
    day := case when day > 40 then day - 40 else day end;
    month := pg_catalog.substr(digits, 9, 2)::integer;
    -- Two-digit years: 29 February is accepted in every year divisible by 4 (2000 included).
    return month between 1 and 12 and day >= 1 and day <= case
        when month = 2 and pg_catalog.substr(digits, 11, 2)::integer % 4 = 0 then 29
        else (array[31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[month]
    end;
end
$$;

comment on function private.pii_is_valid_nik(text) is
    'Whether 16 digits have the structure of a NIK: known province, regency and district not '
    '00, a real birth date (day + 40 for women), serial not 0000.';


create function private.pii_npwp_check_digit_ok(digits text)
returns boolean
language plpgsql
immutable
strict
parallel safe
set search_path = ''
as $$
declare
    -- A digit doubled, with the digits of the product added (Luhn), indexed by digit + 1.
    doubled constant integer[] := array[0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
begin
    if digits !~ '^[0-9]{9}' then
        return false;
    end if;
    -- From the right: the check digit (9th) counts once, the 8th, 6th, 4th and 2nd doubled.
    return (
        pg_catalog.substr(digits, 1, 1)::integer
        + doubled[pg_catalog.substr(digits, 2, 1)::integer + 1]
        + pg_catalog.substr(digits, 3, 1)::integer
        + doubled[pg_catalog.substr(digits, 4, 1)::integer + 1]
        + pg_catalog.substr(digits, 5, 1)::integer
        + doubled[pg_catalog.substr(digits, 6, 1)::integer + 1]
        + pg_catalog.substr(digits, 7, 1)::integer
        + doubled[pg_catalog.substr(digits, 8, 1)::integer + 1]
        + pg_catalog.substr(digits, 9, 1)::integer
    ) % 10 = 0;
end
$$;

comment on function private.pii_npwp_check_digit_ok(text) is
    'Luhn check of the first nine digits of an NPWP; the ninth is the check digit.';


create function private.pii_is_mobile_number(digits text)
returns boolean
language plpgsql
immutable
strict
parallel safe
set search_path = ''
as $$
begin
    return case
        -- "+62 08...": the country code written before the national leading 0.
        when digits like '620%' then pg_catalog.substr(digits, 3)
        when digits like '62%' then '0' || pg_catalog.substr(digits, 3)
        else digits
    end ~ '^08[1-35-9][0-9]{7,10}$';
end
$$;

comment on function private.pii_is_mobile_number(text) is
    'Whether digits (no separators) are an Indonesian mobile number in the 0, 62 or +62 form.';


-- Context words of each kind, as a pattern; letters next to one make it another word
-- ("teknik" holds no NIK).
create function private.pii_context_pattern(kind text)
returns text
language plpgsql
immutable
strict
parallel safe
set search_path = ''
as $$
begin
    return '(?<![a-z])(?:' || case kind
        when 'NIK' then 'nik|ktp|nomor[^a-z0-9]+induk[^a-z0-9]+kependudukan'
        when 'NPWP' then 'npwp|nomor[^a-z0-9]+pokok[^a-z0-9]+wajib[^a-z0-9]+pajak'
        when 'NISN' then 'nisn|nomor[^a-z0-9]+induk[^a-z0-9]+siswa[^a-z0-9]+nasional'
        when 'NUPTK' then 'nuptk|nomor[^a-z0-9]+unik[^a-z0-9]+pendidik[^a-z0-9]+dan'
            || '[^a-z0-9]+tenaga[^a-z0-9]+kependidikan'
    end || ')(?![a-z])';
end
$$;

comment on function private.pii_context_pattern(text) is
    'Regular expression (case-insensitive) of the context words of NIK, NPWP, NISN or NUPTK.';


-- The kinds whose context word the object key holds; worked out once per string. camelCase
-- keys read as words: studentNisn is tried as "student Nisn".
create function private.pii_key_context(field_key text)
returns text[]
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
    words text;
begin
    if field_key is null
        or field_key !~* '(nik|ktp|kependudukan|npwp|pajak|nisn|nasional|nuptk|kependidikan)'
    then
        return '{}'::text[];
    end if;
    words := pg_catalog.regexp_replace(field_key, '([a-z])([A-Z])', '\1 \2', 'g');
    return array(
        select k.kind
        from pg_catalog.unnest(array['NIK', 'NPWP', 'NISN', 'NUPTK']) as k(kind)
        where words ~* private.pii_context_pattern(k.kind)
    );
end
$$;

comment on function private.pii_key_context(text) is
    'The kinds (NIK, NPWP, NISN, NUPTK) whose context word an object key holds.';


-- A context word counts when it is the key the string sits under, or ends at most 40
-- characters before the number (`before` holds the 100 characters before it).
create function private.pii_has_context(kind text, before text, key_kinds text[])
returns boolean
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
    if kind = any (key_kinds) then
        return true;
    end if;
    -- A word that ends in the last 40 characters starts in the last 83 (the longest context
    -- phrase has 43): a plain search there spares the full pattern in most cases.
    if not coalesce(pg_catalog.right(before, 83) ~* case kind
        when 'NIK' then 'nik|ktp|kependudukan'
        when 'NPWP' then 'npwp|pajak'
        when 'NISN' then 'nisn|nasional'
        when 'NUPTK' then 'nuptk|kependidikan'
    end, false) then
        return false;
    end if;
    return before ~* (private.pii_context_pattern(kind) || '.{0,40}$');
end
$$;

comment on function private.pii_has_context(text, text, text[]) is
    'Whether a context word of the kind ends within 40 characters before a number, or is '
    'named by the key of its string (key_kinds, from private.pii_key_context).';


-- What one number (a whole chain or space-separated part of one) starting at character `at`
-- of `value` is, if anything. The order of the rules decides between kinds that share a
-- length: context first, then "+62", then structure.
create function private.pii_classify_number(
    value text,
    at integer,
    number text,
    key_kinds text[],
    near boolean,
    out type text,
    out confidence text,
    out masked text
)
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
    -- A chain holds digits and the separator characters only.
    digits text := pg_catalog.translate(number, ' .-()', '');
    n integer := pg_catalog.char_length(digits);
    before text;
    valid_nik boolean;
    zero_and_npwp boolean;
begin
    if n not between 10 and 16 or digits = pg_catalog.repeat(pg_catalog.left(digits, 1), n) then
        return;
    end if;
    if near then
        before := pg_catalog.substr(value, greatest(1, at - 100), at - greatest(1, at - 100));
    end if;
    masked := pg_catalog.left(digits, 2) || pg_catalog.repeat('*', n - 4)
        || pg_catalog.right(digits, 2);
    valid_nik := n = 16 and private.pii_is_valid_nik(digits);
    zero_and_npwp := n = 16 and pg_catalog.left(digits, 1) = '0'
        and private.pii_npwp_check_digit_ok(pg_catalog.substr(digits, 2));

    if n = 16 and near and private.pii_has_context('NUPTK', before, key_kinds) then
        type := 'NUPTK';
        confidence := 'high';
    elsif n = 10 and near and private.pii_has_context('NISN', before, key_kinds) then
        type := 'NISN';
        confidence := 'high';
    elsif (valid_nik or zero_and_npwp) and near
        and private.pii_has_context('NPWP', before, key_kinds)
    then
        type := 'NPWP';
        confidence := 'high';
    elsif n < 16 and at > 1 and pg_catalog.substr(value, at - 1, 1) = '+'
        and private.pii_is_mobile_number(digits)
    then
        -- "+62 ..." is a phone even where the digits would also pass the NPWP check.
        type := 'PHONE';
        confidence := 'high';
    elsif valid_nik then
        type := 'NIK';
        confidence := case
            when near and private.pii_has_context('NIK', before, key_kinds) then 'high'
            else 'medium'
        end;
    elsif n = 15 and private.pii_npwp_check_digit_ok(digits) then
        type := 'NPWP';
        confidence := case
            when number ~ '^[0-9]{2}\.[0-9]{3}\.[0-9]{3}\.[0-9]-[0-9]{3}\.[0-9]{3}$'
                or near and private.pii_has_context('NPWP', before, key_kinds)
                then 'high'
            else 'low'
        end;
    elsif zero_and_npwp then
        type := 'NPWP';
        confidence := 'low';
    elsif n < 16 and private.pii_is_mobile_number(digits) then
        type := 'PHONE';
        confidence := 'high';
    else
        masked := null;
    end if;
end
$$;

comment on function private.pii_classify_number(text, integer, text, text[], boolean) is
    'Kind, confidence and masked form of the number at a position of a string; nulls when it '
    'is no identifier. near is false when neither the string nor its key can hold a context '
    'word, and spares the context patterns.';


-- Each string is scanned with two regular expressions over its whole length; only the
-- numbers they find that are long enough are looked at one by one.
--
-- The number pattern differs from pii.ts in form, not in what it finds: PostgreSQL rebuilds
-- the automaton of a pattern on every call, so lookarounds and counted repeats cost much
-- more here than in JavaScript. Leftmost-longest matching of "digit (separator? digit)*"
-- yields exactly the maximal chains; those shorter than 10 digits are skipped below.
create function private.pii_text_findings(value text, field_key text default null)
returns table (type text, confidence text, masked text)
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
    chain_pattern constant text := '[0-9](?:(?:[ .-]|[ ]?[()][ ]?)?[0-9])*';
    email_pattern constant text :=
        '(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}';
    chain text;
    at integer;
    search_from integer := 1;
    hit record;
    groups text[];
    starts integer[];
    counts integer[];
    first_group integer;
    last_group integer;
    next_group integer;
    total integer;
    key_kinds text[];
    near boolean;
    digits text;
begin
    for chain in
        select m.match[1]
        from pg_catalog.regexp_matches(value, chain_pattern, 'g') with ordinality as m(match, n)
        where pg_catalog.char_length(m.match[1]) >= 10
        order by m.n
    loop
        -- The first occurrence after the previous long chain is this chain: a chain is
        -- maximal, so it cannot sit inside the shorter chains skipped in between.
        at := search_from - 1
            + pg_catalog.strpos(pg_catalog.substr(value, search_from), chain);
        search_from := at + pg_catalog.char_length(chain);
        if near is null then
            key_kinds := private.pii_key_context(field_key);
            -- Every context pattern needs one of these words.
            near := key_kinds <> '{}' or value
                ~* '(nik|ktp|kependudukan|npwp|pajak|nisn|nasional|nuptk|kependidikan)';
        end if;

        -- Without a 0 or 62 in front (no phone), only 15 or 16 digits, or 10 next to a
        -- context word, can be an identifier.
        digits := pg_catalog.translate(chain, ' .-()', '');
        if pg_catalog.char_length(digits) between 10 and 16
            and (
                digits ~ '^(0|62)'
                or pg_catalog.char_length(digits) in (15, 16)
                or (near and pg_catalog.char_length(digits) = 10)
            )
        then
            hit := private.pii_classify_number(value, at, chain, key_kinds, near);
            if hit.type is not null then
                type := hit.type;
                confidence := hit.confidence;
                masked := hit.masked;
                return next;
                continue;
            end if;
        end if;

        -- Every run of groups but the whole chain leaves out its first or its last group;
        -- with fewer than 10 digits left there is nothing to try.
        if pg_catalog.strpos(chain, ' ') > 0
            and pg_catalog.char_length(digits) - least(
                pg_catalog.char_length(
                    pg_catalog.translate(pg_catalog.split_part(chain, ' ', 1), '.-()', '')),
                pg_catalog.char_length(
                    pg_catalog.translate(pg_catalog.split_part(chain, ' ', -1), '.-()', ''))
            ) >= 10
        then
            -- Runs of space-separated groups, leftmost first, longest first; the whole
            -- chain was tried above.
            groups := pg_catalog.string_to_array(chain, ' ');
            starts := '{}';
            counts := '{}';
            total := at;
            for g in 1 .. pg_catalog.cardinality(groups) loop
                starts := starts || total;
                total := total + pg_catalog.char_length(groups[g]) + 1;
                counts := counts
                    || pg_catalog.char_length(pg_catalog.translate(groups[g], '.-()', ''));
            end loop;
            first_group := 1;
            while first_group <= pg_catalog.cardinality(groups) loop
                last_group := first_group;
                total := counts[first_group];
                while last_group < pg_catalog.cardinality(groups)
                    and total + counts[last_group + 1] <= 16
                loop
                    last_group := last_group + 1;
                    total := total + counts[last_group];
                end loop;
                next_group := first_group + 1;
                while last_group >= first_group and total >= 10 loop
                    if not (first_group = 1 and last_group = pg_catalog.cardinality(groups)) then
                        hit := private.pii_classify_number(value, starts[first_group],
                            pg_catalog.array_to_string(groups[first_group:last_group], ' '),
                            key_kinds, near);
                        if hit.type is not null then
                            type := hit.type;
                            confidence := hit.confidence;
                            masked := hit.masked;
                            return next;
                            next_group := last_group + 1;
                            exit;
                        end if;
                    end if;
                    total := total - counts[last_group];
                    last_group := last_group - 1;
                end loop;
                first_group := next_group;
            end loop;
        end if;
    end loop;

    if pg_catalog.strpos(value, '@') > 0 then
        return query
        select
            'EMAIL',
            'high',
            pg_catalog.left(e.address, 1) || '***@' || pg_catalog.left(e.domain, 1) || '***.'
                || pg_catalog.substring(e.domain, '[^.]+$')
        from pg_catalog.regexp_matches(value, email_pattern, 'g') as m(match)
        cross join lateral (
            select m.match[1] as address, pg_catalog.split_part(m.match[1], '@', 2) as domain
        ) as e;
    end if;
end
$$;

comment on function private.pii_text_findings(text, text) is
    'Identifiers in one string: kind, confidence and masked form. field_key is the object key '
    'the string sits under; it counts as context for every number in the string.';


-- Every string and integer of the document, with its path. A container is entered only when
-- its text passes a screen, and a string is scanned only when it holds 10 digits or an @:
-- a clean payload costs one scan of its text, and a clean branch is never walked.
--
-- The screen is loose by default (10 digits with short separators, or an @). With
-- pupil_only it also needs what every high-confidence pupil identifier needs in its string
-- or key: an @, the start of a mobile number, or a NIK, NISN or NUPTK context word (as a
-- word, or the core of a long form; in a key anywhere, as camelCase keys join words).
-- Findings of other kinds may then be missed; those the submission trigger refuses never
-- are.
create function private.pii_findings(doc jsonb, pupil_only boolean default false)
returns table (type text, confidence text, path text, masked text)
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
    loose constant text := '[0-9](?:[ .()-]{0,3}[0-9]){9}|@';
    -- Case-insensitive. Every context pattern of NIK, NISN and NUPTK holds one of these;
    -- the long forms hold "induk" or "unik ... pendidik".
    pupil_words constant text := 'nik|ktp|nisn|nuptk|induk|unik[^a-z0-9]+pendidik';
    mobile_start constant text := '[02][ .()-]{0,3}8[ .()-]{0,3}[1-35-9]';
    -- For a string padded with a space at each end: the short words must stand alone.
    pupil_in_string constant text := '@|' || mobile_start
        || '|[^a-z](nik|ktp|nisn|nuptk)[^a-z]|induk|unik[^a-z0-9]+pendidik';
    -- The same for JSON text, where an escape (\n, \u001b) may stand before a word, a
    -- separator may be escaped (unik\npendidik), and keys ("nikSiswa":) hold words anywhere.
    pupil_in_json constant text := '@|' || mobile_start
        || '|(?:[^a-z]|\\[a-z]|\\u00[0-9a-f]{2})(?:nik|ktp|nisn|nuptk)[^a-z]'
        || '|induk|unik[^a-z0-9]|(?:nik|ktp|nisn|nuptk|induk|unik)[^"]*":';
    doc_text text;
begin
    if doc is null then
        return;
    end if;
    doc_text := doc::text;
    if doc_text !~ loose or (pupil_only and doc_text !~* pupil_in_json) then
        return;
    end if;
    return query
    with recursive node (path, field_key, value, kind, content) as (
        select
            '$'::text,
            null::text,
            doc,
            pg_catalog.jsonb_typeof(doc),
            case
                when pg_catalog.jsonb_typeof(doc) = 'string' or doc_text ~ '^-?[0-9]+$'
                    then doc #>> '{}'
            end
        union all
        select n.path || c.step, c.field_key, c.value, c.kind, c.content
        from node as n
        cross join lateral (
            select
                case
                    -- A key that may itself be an identifier is not repeated.
                    when e.key ~ '[0-9]{6}|@' then '[*]'
                    when e.key ~ '^[A-Za-z_][A-Za-z0-9_]*$' then '.' || e.key
                    else '[' || pg_catalog.to_jsonb(e.key)::text || ']'
                end as step,
                e.key as field_key,
                e.value
            from pg_catalog.jsonb_each(case when n.kind = 'object' then n.value end) as e
            union all
            select '[' || (a.n - 1) || ']', null, a.value
            from pg_catalog.jsonb_array_elements(case when n.kind = 'array' then n.value end)
                with ordinality as a(value, n)
        ) as child
        cross join lateral (
            select
                child.step,
                -- Array items sit under the key of their array.
                coalesce(child.field_key, n.field_key) as field_key,
                child.value,
                pg_catalog.jsonb_typeof(child.value) as kind,
                case
                    when pg_catalog.jsonb_typeof(child.value) in ('string', 'number')
                        then child.value #>> '{}'
                end as content
            -- Kept as a subquery, so that each child's text is made once.
            offset 0
        ) as c
        where n.kind in ('object', 'array')
            -- CASE fixes the order of the tests: cheap ones first, a container's text
            -- made only to screen it.
            and case
                when c.kind in ('object', 'array') then
                    c.value::text ~ loose
                    and (
                        not pupil_only
                        or c.value::text ~* pupil_in_json
                        or coalesce(c.field_key ~* pupil_words, false)
                    )
                -- Integers only, as the digits they are written with.
                when c.kind = 'number' and c.content !~ '^-?[0-9]+$' then false
                when c.kind in ('string', 'number') then
                    (
                        pg_catalog.strpos(c.content, '@') > 0
                        or pg_catalog.char_length(c.content) - pg_catalog.char_length(
                            pg_catalog.translate(c.content, '0123456789', '')) >= 10
                    )
                    and (
                        not pupil_only
                        or (' ' || c.content || ' ') ~* pupil_in_string
                        or coalesce(c.field_key ~* pupil_words, false)
                    )
                else false
            end
    )
    select f.type, f.confidence, n.path, f.masked
    from node as n
    cross join lateral private.pii_text_findings(n.content, n.field_key) as f
    where n.content is not null;
end
$$;

comment on function private.pii_findings(jsonb, boolean) is
    'Identifiers in every string and integer of a JSON document: kind, confidence, JSON path '
    '($.a[2]["b c"]; [*] for a key with 6 digits in a row or an @) and masked form; never the '
    'value. With pupil_only, only high-confidence NIK, NISN, NUPTK, phone and e-mail findings '
    'are sure to be reported.';


revoke execute on function
    private.pii_is_valid_nik(text),
    private.pii_npwp_check_digit_ok(text),
    private.pii_is_mobile_number(text),
    private.pii_context_pattern(text),
    private.pii_key_context(text),
    private.pii_has_context(text, text, text[]),
    private.pii_classify_number(text, integer, text, text[], boolean),
    private.pii_text_findings(text, text),
    private.pii_findings(jsonb, boolean)
    from public, anon, authenticated;


-- Runs for every writer, members through the API and server-side code alike. SECURITY
-- DEFINER so that the detector functions need no grant to the API roles; it reads only the
-- new row and raises, nothing else.
create function private.screen_submission_payload()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    finding record;
    item record;
    field text;
begin
    -- A review or a visibility change leaves the content as it was accepted.
    if tg_op = 'UPDATE'
        and new.payload is not distinct from old.payload
        and new.activity_code is not distinct from old.activity_code
    then
        return new;
    end if;

    select f.type, f.path
    into finding
    from private.pii_findings(new.payload, pupil_only => true) as f
    where f.confidence = 'high'
        and f.type in ('NIK', 'NISN', 'NUPTK', 'PHONE', 'EMAIL')
    order by f.path, f.type
    limit 1;
    if found then
        raise exception 'submission payload holds a pupil identifier (%) at %',
            finding.type, finding.path
            using errcode = 'LGP01',
                detail = pg_catalog.format('kind: %s; path: %s', finding.type, finding.path),
                hint = 'Remove the identifier; refer to pupils by an anonymized_id.';
    end if;

    if new.activity_code <> 'AMPLIFY' then
        return new;
    end if;

    if new.payload ? 'studentsData' then
        if pg_catalog.jsonb_typeof(new.payload -> 'studentsData') <> 'array' then
            raise exception 'AMPLIFY payload: $.studentsData must be an array of objects'
                using errcode = 'LGP02',
                    detail = 'path: $.studentsData',
                    hint = 'Allowed fields: grade_level, subject, performance_metric, '
                        || 'anonymized_id.';
        end if;
        select a.n - 1 as position, a.value
        into item
        from pg_catalog.jsonb_array_elements(new.payload -> 'studentsData')
            with ordinality as a(value, n)
        where case
            when pg_catalog.jsonb_typeof(a.value) <> 'object' then true
            -- What is left after removing the allowed fields must be nothing.
            else a.value - array['grade_level', 'subject', 'performance_metric', 'anonymized_id']
                <> '{}'::jsonb
        end
        order by a.n
        limit 1;
        if found then
            if pg_catalog.jsonb_typeof(item.value) <> 'object' then
                raise exception 'AMPLIFY payload: $.studentsData[%] must be an object',
                    item.position
                    using errcode = 'LGP02',
                        detail = pg_catalog.format('path: $.studentsData[%s]', item.position),
                        hint = 'Allowed fields: grade_level, subject, performance_metric, '
                            || 'anonymized_id.';
            end if;
            select k.name
            into field
            from pg_catalog.jsonb_object_keys(item.value) as k(name)
            where k.name not in ('grade_level', 'subject', 'performance_metric', 'anonymized_id')
            order by k.name
            limit 1;
            -- A key is named only when it looks like a field name: a key could itself be
            -- an identifier, and errors never repeat those.
            raise exception 'AMPLIFY payload: $.studentsData[%] has a field that is not allowed%',
                item.position,
                case
                    when field ~ '^[A-Za-z_]{1,40}$' then pg_catalog.format(' (%s)', field)
                    else ''
                end
                using errcode = 'LGP02',
                    detail = pg_catalog.format('path: $.studentsData[%s]', item.position),
                    hint = 'Allowed fields: grade_level, subject, performance_metric, '
                        || 'anonymized_id.';
        end if;
    end if;

    if (new.payload -> 'consentDocumented') is distinct from 'true'::jsonb
        or (new.payload -> 'institutionalApproval') is distinct from 'true'::jsonb
    then
        raise exception 'AMPLIFY payload must record consentDocumented: true and '
            'institutionalApproval: true'
            using errcode = 'LGP03',
                detail = pg_catalog.format('missing: %s', pg_catalog.concat_ws(', ',
                    case
                        when (new.payload -> 'consentDocumented') is distinct from 'true'::jsonb
                            then '$.consentDocumented'
                    end,
                    case
                        when (new.payload -> 'institutionalApproval')
                            is distinct from 'true'::jsonb
                            then '$.institutionalApproval'
                    end)),
                hint = 'Record parental consent and the school''s approval before sharing '
                    || 'classroom data.';
    end if;

    return new;
end
$$;

comment on function private.screen_submission_payload() is
    'Refuses submission payloads holding a pupil identifier (LGP01) and AMPLIFY payloads '
    'breaking the studentsData (LGP02) or consent (LGP03) rules.';

-- Named to fire after submissions_guard_update (triggers fire in name order), so a change the
-- caller may not make at all is refused as such before its content is looked at.
create trigger submissions_screen_payload
    before insert or update on public.submissions
    for each row execute function private.screen_submission_payload();
