-- Indonesian personal identifiers in submissions: detection, and the trigger that refuses
-- pupil identifiers and enforces the AMPLIFY data rules.
--
-- The detector applies the rules of functions/_shared/pii.ts (which documents them in full);
-- both are run against tests/vectors/indonesian-pii.json and must agree on every vector.
-- The regular expressions below use only syntax that PostgreSQL and JavaScript read the same
-- way. In short: strings and keys are normalised (Unicode digits and spaces, invisible
-- characters, a word-initial O before a mobile prefix), chains of digit groups are tried as
-- a whole and then as runs of their pieces, high confidence first, and context words count
-- before a number or in any key above it.
--
-- Work on a string is linear in its length: each chain is found once, each piece of a chain
-- starts at most 7 runs of at most 16 pieces, and what a run needs (its text, its digits,
-- the 100 characters before it) is kept up to date as the start moves along, never rebuilt
-- from the start of the string. Nesting is another matter: each container's JSON text is
-- screened before it is entered, so a document nested thousands of levels deep costs time
-- that grows with the square of its depth (about a second for the deepest payload the
-- table accepts, 8,000 levels in 64 kB).
--
-- Not covered, on purpose or by nature: an identifier split across array items or strings;
-- duplicate keys in the JSON text (jsonb keeps the last value before the trigger sees it, so
-- {"consentDocumented": false, "consentDocumented": true} reads as true); look-alike letters
-- other than O.
--
-- Findings name the kind, a confidence, the JSON path and a masked form, never the value;
-- the errors raised here follow the same rule.
--
-- SQLSTATEs of class LG (leaps-guard), stable for clients:
--   LGP01  the payload, title or review note holds a pupil identifier (NIK, NISN, NUPTK,
--          phone or e-mail) of high confidence
--   LGP02  an AMPLIFY payload's pupil records (studentsData, students, siswa, murid or
--          pupils, in any letter case) are not an array of objects with allowed fields and
--          values
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


-- What the detector reads instead of the text as written, so that look-alike characters
-- cannot hide a number or a context word.
create function private.pii_normalise(value text)
returns text
language plpgsql
immutable
strict
parallel safe
set search_path = ''
as $$
declare
    normalised text := value;
begin
    if normalised ~ ('[\t\n\v\f\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000'
        || '\u00ad\u200b-\u200d\u2060\ufeff\u017f\u212a\u0660-\u0669\u06f0-\u06f9\uff10-\uff19]')
    then
        -- translate() drops the characters of the first list that have none in the second.
        normalised := pg_catalog.translate(normalised,
            -- Full-width, Arabic-Indic and extended Arabic-Indic digits.
            E'\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19'
                || E'\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669'
                || E'\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9'
                -- Long s and Kelvin sign: case-insensitive matching in JavaScript reads them
                -- as s and k, PostgreSQL does not.
                || E'\u017f\u212a'
                -- Tab, line breaks and the Unicode spaces.
                || E'\t\n\u000b\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006'
                || E'\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000'
                -- Removed: soft hyphen, zero-width space, non-joiner and joiner, word
                -- joiner, byte order mark.
                || E'\u00ad\u200b\u200c\u200d\u2060\ufeff',
            '012345678901234567890123456789sK                       ');
    end if;
    -- "O812 ...": a letter O at the start of a word, before a mobile prefix, is a 0.
    if pg_catalog.strpos(normalised, 'O8') > 0 or pg_catalog.strpos(normalised, 'o8') > 0 then
        normalised := pg_catalog.regexp_replace(normalised,
            '(?<![A-Za-z0-9])[Oo](?=8[1-35-9])', '0', 'g');
    end if;
    return normalised;
end
$$;

comment on function private.pii_normalise(text) is
    'Text as the detector reads it: full-width and Arabic-Indic digits as ASCII, Unicode '
    'spaces, tab and line breaks as a space, zero-width characters, soft hyphen and BOM '
    'removed, a word-initial O before 8 and 1-3 or 5-9 as 0.';


-- Context words of each kind, as a case-insensitive alternation: a short word may be written
-- with dots or spaces between its letters (N.I.K., N I K). Called with a constant kind, the
-- planner works it out once.
create function private.pii_context_words(kind text)
returns text
language sql
immutable
strict
parallel safe
set search_path = ''
return case kind
    when 'NIK' then 'n[. ]{0,2}i[. ]{0,2}k|k[. ]{0,2}t[. ]{0,2}p'
        || '|nomor[^a-z0-9]+induk[^a-z0-9]+kependudukan|national[^a-z0-9]+id'
    when 'NPWP' then 'n[. ]{0,2}p[. ]{0,2}w[. ]{0,2}p'
        || '|nomor[^a-z0-9]+pokok[^a-z0-9]+wajib[^a-z0-9]+pajak'
    when 'NISN' then 'n[. ]{0,2}i[. ]{0,2}s[. ]{0,2}n'
        || '|nomor[^a-z0-9]+induk[^a-z0-9]+siswa[^a-z0-9]+nasional|national[^a-z0-9]+id'
        || '|student[^a-z0-9]+(?:id|number)'
    when 'NUPTK' then 'n[. ]{0,2}u[. ]{0,2}p[. ]{0,2}t[. ]{0,2}k'
        || '|nomor[^a-z0-9]+unik[^a-z0-9]+pendidik[^a-z0-9]+dan[^a-z0-9]+tenaga'
        || '[^a-z0-9]+kependidikan'
end;

comment on function private.pii_context_words(text) is
    'Alternation (case-insensitive) of the context words of NIK, NPWP, NISN or NUPTK.';


-- The context words of a kind as whole words: letters next to one make it another word
-- ("teknik" and "nikah" hold no NIK).
create function private.pii_context_pattern(kind text)
returns text
language sql
immutable
strict
parallel safe
set search_path = ''
return '(?<![a-z])(?:' || private.pii_context_words(kind) || ')(?![a-z])';

comment on function private.pii_context_pattern(text) is
    'Regular expression (case-insensitive) of the context words of NIK, NPWP, NISN or NUPTK.';


-- Text is read as words before context is sought: a space goes between a lower-case letter
-- and a capital (camelCase keys: studentNisn) and after two capitals followed by a
-- lower-case letter (a word in capitals glued to the next: NIKsiswa, KTPnya).
create function private.pii_split_words(value text)
returns text
language sql
immutable
strict
parallel safe
set search_path = ''
return pg_catalog.regexp_replace(value, '([a-z])([A-Z])|([A-Z]{2})([a-z])', '\1\3 \2\4', 'g');

comment on function private.pii_split_words(text) is
    'Text with a space between camelCase words and after capitals glued to a lower-case word.';


-- The kinds whose context word an object key (normalised) holds, and PHONE for a phone key.
create function private.pii_key_context(field_key text)
returns text[]
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
    words text;
    kinds text[] := '{}'::text[];
begin
    -- Every key that holds a context or phone word matches this.
    if field_key is null or field_key !~* ('n[. ]{0,2}[ipu]|k[. ]{0,2}t|nomor|national|student'
        || '|tel|phone|hp|wa|whatsapp|ponsel|mobile')
    then
        return kinds;
    end if;
    words := private.pii_split_words(field_key);
    if words ~* ('(?<![a-z])(?:tel|telp|telpon|telepon|phone|hp|wa|whatsapp|handphone|ponsel'
        || '|mobile)(?![a-z])')
    then
        kinds := kinds || 'PHONE'::text;
    end if;
    if words ~* private.pii_context_pattern('NIK') then
        kinds := kinds || 'NIK'::text;
    end if;
    if words ~* private.pii_context_pattern('NPWP') then
        kinds := kinds || 'NPWP'::text;
    end if;
    if words ~* private.pii_context_pattern('NISN') then
        kinds := kinds || 'NISN'::text;
    end if;
    if words ~* private.pii_context_pattern('NUPTK') then
        kinds := kinds || 'NUPTK'::text;
    end if;
    return kinds;
end
$$;

comment on function private.pii_key_context(text) is
    'The kinds (NIK, NPWP, NISN, NUPTK) whose context word a normalised object key holds, and '
    'PHONE when it names a phone (tel, telepon, hp, wa, whatsapp, phone, ...).';


-- The context kinds of a number: those of the keys above its string (key_kinds), and those
-- of a context word that ends at most 40 characters before it (`before` holds the 100
-- characters before it). near is false when the string holds no context word at all.
create function private.pii_window_context(before text, key_kinds text[], near boolean)
returns text[]
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
    kinds text[] := key_kinds;
    words text;
begin
    -- One pattern that every context word matches (gaps may be empty, as words are split
    -- below) spares the four in most cases.
    if not near or before !~* pg_catalog.replace(
        private.pii_context_words('NIK') || '|' || private.pii_context_words('NPWP') || '|'
            || private.pii_context_words('NISN') || '|' || private.pii_context_words('NUPTK'),
        '[^a-z0-9]+', '[^a-z0-9]*')
    then
        return kinds;
    end if;
    words := private.pii_split_words(before);
    if not 'NIK' = any (kinds) and words ~* (private.pii_context_pattern('NIK') || '.{0,40}$') then
        kinds := kinds || 'NIK'::text;
    end if;
    if not 'NPWP' = any (kinds) and words ~* (private.pii_context_pattern('NPWP') || '.{0,40}$')
    then
        kinds := kinds || 'NPWP'::text;
    end if;
    if not 'NISN' = any (kinds) and words ~* (private.pii_context_pattern('NISN') || '.{0,40}$')
    then
        kinds := kinds || 'NISN'::text;
    end if;
    if not 'NUPTK' = any (kinds) and words ~* (private.pii_context_pattern('NUPTK') || '.{0,40}$')
    then
        kinds := kinds || 'NUPTK'::text;
    end if;
    return kinds;
end
$$;

comment on function private.pii_window_context(text, text[], boolean) is
    'Context kinds of a number: those of its keys and those of a context word ending within 40 '
    'characters before it.';


-- Whether digits may be an identifier at all, before any context is sought: spares the
-- classification of most numbers. A number of one repeated digit never is one; without a 0
-- or 62 in front (no phone) only 16 digits next to a context word or with a NIK's province,
-- 15 passing the NPWP check, or 10 next to a context word can be.
create function private.pii_worth_classifying(digits text, near boolean)
returns boolean
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
    n integer := pg_catalog.char_length(digits);
begin
    return n between 10 and 16
        and case
            when pg_catalog.left(digits, 1) = '0' or pg_catalog.left(digits, 2) = '62' then true
            when n = 16 then near or pg_catalog.left(digits, 2) = any (array[
                '11', '12', '13', '14', '15', '16', '17', '18', '19', '21', '31', '32', '33',
                '34', '35', '36', '51', '52', '53', '61', '63', '64', '65', '71', '72', '73',
                '74', '75', '76', '81', '82', '91', '92', '93', '94', '95', '96'])
            when n = 15 then private.pii_npwp_check_digit_ok(digits)
            else n = 10 and near
        end
        and digits <> pg_catalog.repeat(pg_catalog.left(digits, 1), n);
end
$$;

comment on function private.pii_worth_classifying(text, boolean) is
    'Whether digits may be an identifier at all (near: a context word is in the string or its '
    'keys); false spares private.pii_classify_number.';


-- What one number (a whole chain, or a run of its pieces) is, if anything. context is the
-- answer of private.pii_window_context, passed in when the caller has it already for this
-- position and handed back for the next call (null: work it out when a rule needs it). The
-- order of the rules decides between kinds that share a length: context first, then "+62",
-- then structure.
create function private.pii_classify_number(
    digits text,
    number text,
    plus boolean,
    before text,
    key_kinds text[],
    near boolean,
    inout context text[],
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
    n integer := pg_catalog.char_length(digits);
    valid_nik boolean;
    zero_and_npwp boolean;
begin
    valid_nik := n = 16 and private.pii_is_valid_nik(digits);
    zero_and_npwp := n = 16 and pg_catalog.left(digits, 1) = '0'
        and private.pii_npwp_check_digit_ok(pg_catalog.substr(digits, 2));
    -- Only 10, 15 (when it passes the NPWP check) and 16 digits ever consult context.
    if context is null
        and (n in (10, 16) or (n = 15 and private.pii_npwp_check_digit_ok(digits)))
    then
        context := private.pii_window_context(before, key_kinds, near);
    end if;

    if n = 16 and 'NUPTK' = any (context) then
        type := 'NUPTK';
        confidence := 'high';
    elsif n = 10 and 'NISN' = any (context) then
        type := 'NISN';
        confidence := 'high';
    elsif (valid_nik or zero_and_npwp) and 'NPWP' = any (context) then
        type := 'NPWP';
        confidence := 'high';
    elsif plus and n < 16 and private.pii_is_mobile_number(digits) then
        -- "+62 ..." is a phone even where the digits would also pass the NPWP check.
        type := 'PHONE';
        confidence := 'high';
    elsif valid_nik then
        type := 'NIK';
        confidence := case when 'NIK' = any (context) then 'high' else 'medium' end;
    elsif n = 15 and private.pii_npwp_check_digit_ok(digits) then
        type := 'NPWP';
        confidence := case
            when number ~ '^[0-9]{2}\.[0-9]{3}\.[0-9]{3}\.[0-9]-[0-9]{3}\.[0-9]{3}$'
                or 'NPWP' = any (context)
                then 'high'
            else 'low'
        end;
    elsif zero_and_npwp then
        type := 'NPWP';
        confidence := 'low';
    elsif n < 16 and private.pii_is_mobile_number(digits) then
        type := 'PHONE';
        confidence := 'high';
    end if;
    if type is not null then
        masked := pg_catalog.left(digits, 2) || pg_catalog.repeat('*', n - 4)
            || pg_catalog.right(digits, 2);
    end if;
end
$$;

comment on function private.pii_classify_number(
    text, text, boolean, text, text[], boolean, text[]
) is
    'Kind, confidence and masked form of a number (its digits and its text), given whether a '
    '+ stands before it and the text before it; nulls when it is no identifier.';


-- A chain that is no identifier as a whole may hold some between its soft separators (those
-- with a space, comma or slash): runs of its pieces are tried, leftmost then longest, never
-- the whole chain. A first pass takes high-confidence findings only; a second, needed only
-- when the first saw a lower one, looks in the pieces left between them. `before` holds the
-- 100 characters before the chain, `plus` whether a + stands right before it.
create function private.pii_chain_findings(
    chain text,
    before text,
    plus boolean,
    key_kinds text[],
    near boolean
)
returns table (type text, confidence text, masked text)
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
    -- Pieces (digit groups joined by dots, dashes, brackets or underscores) and the soft
    -- separators between them, alternately.
    token_pattern constant text := '[0-9]+(?:[^0-9 ,/]+[0-9]+)*|[^0-9]+';
    pieces text[];
    separators text[];
    counts integer[];
    piece_count integer;
    high_first integer[] := '{}'::integer[];
    high_last integer[] := '{}'::integer[];
    lower_seen boolean := false;
    gap integer;
    range_to integer;
    -- The run of pieces i .. last: its text, digits and number of digits.
    i integer;
    last integer;
    run_text text;
    run_digits text;
    total integer;
    -- The candidate being tried: pieces i .. j.
    j integer;
    try_text text;
    try_digits text;
    try_total integer;
    next_i integer;
    -- The 100 characters before piece window_at.
    window_text text;
    window_at integer;
    context text[];
    hit record;
begin
    select
        pg_catalog.array_agg(t.match[1] order by t.n) filter (where t.n % 2 = 1),
        pg_catalog.array_agg(t.match[1] order by t.n) filter (where t.n % 2 = 0),
        pg_catalog.array_agg(
            pg_catalog.char_length(pg_catalog.translate(t.match[1], '.()_-', '')) order by t.n
        ) filter (where t.n % 2 = 1)
    into pieces, separators, counts
    from pg_catalog.regexp_matches(chain, token_pattern, 'g') with ordinality as t(match, n);
    piece_count := pg_catalog.cardinality(pieces);
    if piece_count < 2 then
        return;
    end if;

    for pass in 1 .. 2 loop
        exit when pass = 2 and not lower_seen;
        window_text := before;
        window_at := 1;
        -- Pass 1 looks at the whole chain; pass 2 at each gap between its findings.
        gap := 1;
        i := 1;
        loop
            range_to := case
                when pass = 1 or gap > pg_catalog.cardinality(high_first) then piece_count + 1
                else high_first[gap]
            end;
            last := i - 1;
            run_text := '';
            run_digits := '';
            total := 0;
            while i < range_to loop
                while last + 1 < range_to and total + counts[last + 1] <= 16 loop
                    if last >= i then
                        run_text := run_text || separators[last];
                    end if;
                    last := last + 1;
                    run_text := run_text || pieces[last];
                    run_digits := run_digits || pg_catalog.translate(pieces[last], '.()_-', '');
                    total := total + counts[last];
                end loop;

                next_i := i + 1;
                if total >= 10 then
                    while window_at < i loop
                        window_text := pg_catalog.right(
                            window_text || pieces[window_at] || separators[window_at], 100);
                        window_at := window_at + 1;
                    end loop;
                    context := null;
                    j := last;
                    try_text := run_text;
                    try_digits := run_digits;
                    try_total := total;
                    while j >= i and try_total >= 10 loop
                        -- Most runs fail the first test, spared a function call.
                        if not (i = 1 and j = piece_count)
                            and (try_total >= 15 or (try_total = 10 and near)
                                or pg_catalog.left(try_digits, 1) = '0'
                                or pg_catalog.left(try_digits, 2) = '62')
                            and private.pii_worth_classifying(try_digits, near)
                        then
                            hit := private.pii_classify_number(try_digits, try_text,
                                plus and i = 1, window_text, key_kinds, near, context);
                            context := hit.context;
                            if hit.type is not null then
                                if pass = 2 or hit.confidence = 'high' then
                                    type := hit.type;
                                    confidence := hit.confidence;
                                    masked := hit.masked;
                                    return next;
                                    if pass = 1 then
                                        high_first := high_first || i;
                                        high_last := high_last || j;
                                    end if;
                                    next_i := j + 1;
                                    exit;
                                end if;
                                lower_seen := true;
                            end if;
                        end if;
                        try_total := try_total - counts[j];
                        try_digits := pg_catalog.left(try_digits, try_total);
                        if j > i then
                            try_text := pg_catalog.left(try_text, pg_catalog.char_length(try_text)
                                - pg_catalog.char_length(pieces[j])
                                - pg_catalog.char_length(separators[j - 1]));
                        end if;
                        j := j - 1;
                    end loop;
                end if;

                -- Move the start along, dropping the pieces passed from the front of the run.
                while i < next_i loop
                    if last > i then
                        run_text := pg_catalog.substr(run_text, pg_catalog.char_length(pieces[i])
                            + pg_catalog.char_length(separators[i]) + 1);
                        run_digits := pg_catalog.substr(run_digits, counts[i] + 1);
                        total := total - counts[i];
                    elsif last = i then
                        run_text := '';
                        run_digits := '';
                        total := 0;
                    else
                        last := i;
                    end if;
                    i := i + 1;
                end loop;
            end loop;

            exit when pass = 1 or gap > pg_catalog.cardinality(high_first);
            i := high_last[gap] + 1;
            gap := gap + 1;
        end loop;
    end loop;
end
$$;

comment on function private.pii_chain_findings(text, text, boolean, text[], boolean) is
    'Identifiers in runs of the pieces of a chain that is none as a whole: high confidence '
    'first, then the rest in what is left.';


-- Identifiers in one normalised string (see private.pii_normalise). key_kinds are the
-- context kinds of the keys above it (private.pii_key_context): they count as context for
-- every number in the string.
create function private.pii_text_findings(value text, key_kinds text[] default '{}')
returns table (type text, confidence text, masked text)
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
    -- A chain (digit groups joined by one to three separator characters), and the text
    -- between it and the previous one. Leftmost-longest matching makes every chain maximal.
    chain_pattern constant text := '([^0-9]*)([0-9]+(?:[ .,/_()-]{1,3}[0-9]+)*)';
    email_pattern constant text :=
        '(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}';
    step record;
    -- The (at most) 100 characters before the current chain's text.
    tail text := '';
    before text;
    digits text;
    n integer;
    near boolean;
    hit record;
    -- Whether the chain as a whole is an identifier.
    whole boolean;
begin
    for step in
        select m.match[1] as gap, m.match[2] as chain
        from pg_catalog.regexp_matches(value, chain_pattern, 'g') with ordinality as m(match, n)
        order by m.n
    loop
        if pg_catalog.char_length(step.chain) >= 10 then
            digits := pg_catalog.translate(step.chain, ' .,/_()-', '');
            n := pg_catalog.char_length(digits);
        else
            n := 0;
        end if;
        -- A chain of one digit repeated holds no identifier, in whole or in part.
        if n >= 10 and digits <> pg_catalog.repeat(pg_catalog.left(digits, 1), n) then
            before := pg_catalog.right(tail || step.gap, 100);
            if near is null then
                -- Every context word matches this once gaps may be empty (words split).
                near := key_kinds && array['NIK', 'NPWP', 'NISN', 'NUPTK']
                    or value ~* pg_catalog.replace(
                        private.pii_context_words('NIK') || '|'
                            || private.pii_context_words('NPWP') || '|'
                            || private.pii_context_words('NISN') || '|'
                            || private.pii_context_words('NUPTK'),
                        '[^a-z0-9]+', '[^a-z0-9]*');
            end if;
            whole := false;
            if private.pii_worth_classifying(digits, near) then
                hit := private.pii_classify_number(digits, step.chain,
                    pg_catalog.right(step.gap, 1) = '+', before, key_kinds, near, null);
                whole := hit.type is not null;
            end if;
            if whole then
                type := hit.type;
                confidence := hit.confidence;
                masked := hit.masked;
                return next;
            elsif step.chain ~ '[ ,/]' then
                return query
                select *
                from private.pii_chain_findings(step.chain, before,
                    pg_catalog.right(step.gap, 1) = '+', key_kinds, near);
            end if;
        end if;
        tail := pg_catalog.right(tail || step.gap || step.chain, 100);
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

comment on function private.pii_text_findings(text, text[]) is
    'Identifiers in one normalised string: kind, confidence and masked form. key_kinds, the '
    'context kinds of the keys above it, count as context for every number in it.';


-- A step of a JSON path, for the key of an object member. A key that may be personal data
-- itself (4 digits, an @ or a space, once normalised) is not repeated: it becomes [*].
create function private.pii_path_step(field_key text, normalised text)
returns text
language sql
immutable
strict
parallel safe
set search_path = ''
return case
    when normalised ~ '(?:[0-9][^0-9]*){4}|@| ' then '[*]'
    when field_key ~ '^[A-Za-z_][A-Za-z0-9_]*$' then '.' || field_key
    else '[' || pg_catalog.to_jsonb(field_key)::text || ']'
end;

comment on function private.pii_path_step(text, text) is
    'Path step of an object key: .name, ["other name"], or [*] for a key with 4 digits, an @ '
    'or a space.';


-- The text of a JSON string or number as the detector scans it: a string normalised; a
-- number with no fraction as its integer digits, with the leading 0 a JSON number cannot
-- keep when a phone key is above it and the digits are a mobile number without it.
create function private.pii_scan_text(value jsonb, key_kinds text[])
returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
    digits text;
begin
    case pg_catalog.jsonb_typeof(value)
        when 'string' then
            return private.pii_normalise(value #>> '{}');
        when 'number' then
            digits := value::text;
            if digits !~ '^-?[0-9]+(\.0+)?$' then
                return null;
            end if;
            digits := pg_catalog.split_part(digits, '.', 1);
            if 'PHONE' = any (key_kinds) and digits ~ '^8[1-35-9][0-9]{7,10}$' then
                return '0' || digits;
            end if;
            return digits;
        else
            return null;
    end case;
end
$$;

comment on function private.pii_scan_text(jsonb, text[]) is
    'What the detector scans of a JSON string or number; null for anything else.';


-- What any text holding an identifier the detector can find matches, as plain text or as
-- JSON text, before normalisation: 9 digits (or letters O, which may stand for 0) joined by
-- up to 3 separator characters (a tab or line break, raw or as a JSON escape, is one), an
-- @, or a character that normalisation changes. Text that does not match is spared the
-- detector.
create function private.pii_screen_pattern()
returns text
language sql
immutable
parallel safe
set search_path = ''
return '[0-9Oo](?:(?:[ .,/_()\t\n\v\f\r-]|\\[a-z]|\\u00[0-9a-fA-F]{2}){0,3}[0-9Oo]){8}|@'
    || '|[\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u00ad\u200b-\u200d'
    || '\u2060\ufeff\u017f\u212a\u0660-\u0669\u06f0-\u06f9\uff10-\uff19]';

comment on function private.pii_screen_pattern() is
    'Regular expression that every text, plain or JSON, holding a detectable identifier '
    'matches.';


-- Every string, key and integer of the document, with its path. A container is entered only
-- when its text passes a screen, and a string is scanned only when it holds 9 digits or an
-- @ once normalised: a clean payload costs one scan of its text, and a clean branch is never
-- walked.
--
-- The screen is private.pii_screen_pattern(), loose by design. With pupil_only a string is
-- scanned only when it, or a key above it, could hold what every high-confidence pupil
-- identifier needs: an @, the start of a mobile number, or a NIK, NISN or NUPTK context
-- word. Findings of other kinds may then be missed; those the submission trigger refuses
-- never are.
create function private.pii_findings(doc jsonb, pupil_only boolean default false)
returns table (type text, confidence text, path text, masked text)
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
    loose constant text := private.pii_screen_pattern();
    -- Case-insensitive: an @, a mobile prefix, or a NIK, NISN or NUPTK context word with
    -- gaps that may be empty (words are split before context is sought).
    pupil_signal constant text := '@|[02][ .,/_()-]{0,3}8[ .,/_()-]{0,3}[1-35-9]|'
        || pg_catalog.replace(
            private.pii_context_words('NIK') || '|' || private.pii_context_words('NISN')
                || '|' || private.pii_context_words('NUPTK'),
            '[^a-z0-9]+', '[^a-z0-9]*');
begin
    if doc is null or doc::text !~ loose then
        return;
    end if;
    return query
    with recursive node (path, kinds, value, kind, content) as (
        select
            '$'::text,
            '{}'::text[],
            doc,
            pg_catalog.jsonb_typeof(doc),
            private.pii_scan_text(doc, '{}')
        union all
        select c.path, c.kinds, c.value, c.kind, c.content
        from node as n
        cross join lateral (
            -- Members: the context of the keys above carries down to every value beneath.
            select
                n.path || private.pii_path_step(e.key, k.normalised) as path,
                n.kinds || private.pii_key_context(k.normalised) as kinds,
                e.value
            from pg_catalog.jsonb_each(case when n.kind = 'object' then n.value end) as e
            cross join lateral (select private.pii_normalise(e.key) as normalised) as k
            union all
            -- Keys, scanned like strings, under the context of their object.
            select n.path || '[*]', n.kinds, pg_catalog.to_jsonb(e.key)
            from pg_catalog.jsonb_object_keys(case when n.kind = 'object' then n.value end)
                as e(key)
            where e.key ~ '[0-9@\u0660-\u0669\u06f0-\u06f9\uff10-\uff19]'
            union all
            select n.path || '[' || (a.n - 1) || ']', n.kinds, a.value
            from pg_catalog.jsonb_array_elements(case when n.kind = 'array' then n.value end)
                with ordinality as a(value, n)
        ) as child
        cross join lateral (
            select
                child.path,
                child.kinds,
                child.value,
                pg_catalog.jsonb_typeof(child.value) as kind,
                private.pii_scan_text(child.value, child.kinds) as content
            -- Kept as a subquery, so that each child's text is made once.
            offset 0
        ) as c
        where n.kind in ('object', 'array')
            -- CASE fixes the order of the tests: cheap ones first, a container's text
            -- made only to screen it.
            and case
                when c.kind in ('object', 'array') then c.value::text ~ loose
                when c.content is null or pg_catalog.char_length(c.content) < 6 then false
                else
                    (
                        pg_catalog.strpos(c.content, '@') > 0
                        or pg_catalog.char_length(c.content) - pg_catalog.char_length(
                            pg_catalog.translate(c.content, '0123456789', '')) >= 9
                    )
                    and (
                        not pupil_only
                        or c.kinds && array['NIK', 'NISN', 'NUPTK']
                        or c.content ~* pupil_signal
                    )
            end
    )
    select f.type, f.confidence, n.path, f.masked
    from node as n
    cross join lateral private.pii_text_findings(n.content, n.kinds) as f
    where n.content is not null;
end
$$;

comment on function private.pii_findings(jsonb, boolean) is
    'Identifiers in every string, key and integer of a JSON document: kind, confidence, JSON '
    'path ($.a[2]["b c"]; [*] for a key with 4 digits, an @ or a space, and for a finding in '
    'a key) and masked form; never the value. With pupil_only, only high-confidence NIK, '
    'NISN, NUPTK, phone and e-mail findings are sure to be reported.';


-- The first pupil identifier of high confidence in a document (or a string as JSON), in
-- path order: what the submission trigger refuses.
create function private.pii_first_pupil_identifier(doc jsonb, out type text, out path text)
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
    -- PL/pgSQL rather than SQL: its plan is kept for the session, where a SQL function
    -- with settings of its own would be planned again on every call.
    select f.type, f.path
    into type, path
    from private.pii_findings(doc, pupil_only => true) as f
    where f.confidence = 'high'
        and f.type in ('NIK', 'NISN', 'NUPTK', 'PHONE', 'EMAIL')
    order by f.path, f.type
    limit 1;
end
$$;

comment on function private.pii_first_pupil_identifier(jsonb) is
    'Kind and path of the first high-confidence pupil identifier (NIK, NISN, NUPTK, phone, '
    'e-mail) in a document; nulls when there is none.';


revoke execute on function
    private.pii_is_valid_nik(text),
    private.pii_npwp_check_digit_ok(text),
    private.pii_is_mobile_number(text),
    private.pii_normalise(text),
    private.pii_context_words(text),
    private.pii_context_pattern(text),
    private.pii_split_words(text),
    private.pii_key_context(text),
    private.pii_window_context(text, text[], boolean),
    private.pii_worth_classifying(text, boolean),
    private.pii_classify_number(text, text, boolean, text, text[], boolean, text[]),
    private.pii_chain_findings(text, text, boolean, text[], boolean),
    private.pii_text_findings(text, text[]),
    private.pii_path_step(text, text),
    private.pii_screen_pattern(),
    private.pii_scan_text(jsonb, text[]),
    private.pii_findings(jsonb, boolean),
    private.pii_first_pupil_identifier(jsonb)
    from public, anon, authenticated;


-- The first AMPLIFY pupil record at fault in an array of them, if any: its index, the
-- allowed field at fault (null for the record as a whole) and why. The rules: an object
-- with no field but grade_level (a whole number from 1 to 12, or text such as "4" or "kelas
-- 4"), subject (text of at most 60 characters and at most 5 digits), performance_metric (a
-- number, or text of one, with at most 5 digits before the point and 4 after) and
-- anonymized_id (1 to 64 letters, digits, - and _, holding no identifier even when read as
-- a pupil's number); a nested object or array is never a valid value. One query for the
-- whole array: the cheap tests come first, and normalisation or the detector run only for
-- the few values that need them.
create function private.amplify_record_problem(
    records jsonb,
    out item_index integer,
    out field text,
    out reason text
)
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
    fault text;
begin
    select r.n - 1, r.fault
    into item_index, fault
    from (
        select
            a.n,
            case
                when pg_catalog.jsonb_typeof(a.item) <> 'object' then 'object'
                when a.item - array['grade_level', 'subject', 'performance_metric',
                    'anonymized_id'] <> '{}'::jsonb
                    then 'fields'
                when v.grade is not null and not (case pg_catalog.jsonb_typeof(v.grade)
                    when 'number' then '[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]'::jsonb @> v.grade
                    when 'string' then private.pii_normalise(v.grade #>> '{}')
                        ~* '^(?:kelas )?(?:[1-9]|1[0-2])$'
                    else false
                end)
                    then 'grade_level'
                when v.subject is not null and (
                    pg_catalog.jsonb_typeof(v.subject) <> 'string'
                    or pg_catalog.char_length(v.subject #>> '{}') > 60
                    or pg_catalog.char_length(v.subject #>> '{}') - pg_catalog.char_length(
                        pg_catalog.translate(v.subject #>> '{}', '0123456789', '')) > 5
                    -- Normalisation adds digits only to text that is not plain ASCII or has
                    -- an O before an 8.
                    or (
                        (pg_catalog.octet_length(v.subject #>> '{}')
                                <> pg_catalog.char_length(v.subject #>> '{}')
                            or pg_catalog.strpos(pg_catalog.upper(v.subject #>> '{}'), 'O8') > 0)
                        and pg_catalog.char_length(private.pii_normalise(v.subject #>> '{}'))
                            - pg_catalog.char_length(pg_catalog.translate(
                                private.pii_normalise(v.subject #>> '{}'), '0123456789', '')) > 5
                    )
                )
                    then 'subject'
                when v.metric is not null and not (case pg_catalog.jsonb_typeof(v.metric)
                    -- At most 5 digits before the point and 4 after, as written.
                    when 'number' then pg_catalog.abs(v.metric::numeric) < 100000
                        and pg_catalog.scale(v.metric::numeric) <= 4
                    when 'string' then private.pii_normalise(v.metric #>> '{}')
                        ~ '^-?[0-9]{1,5}(?:\.[0-9]{1,4})?$'
                    else false
                end)
                    then 'performance_metric'
                when v.id is not null and (
                    pg_catalog.jsonb_typeof(v.id) <> 'string'
                    or (v.id #>> '{}') !~ '^[A-Za-z0-9_-]{1,64}$'
                    -- With fewer than 8 digits it cannot hold an identifier (a number needs
                    -- 10; an O before an 8 may stand for one of them).
                    or (
                        pg_catalog.char_length(v.id #>> '{}') - pg_catalog.char_length(
                            pg_catalog.translate(v.id #>> '{}', '0123456789', '')) >= 8
                        and exists (
                            select
                            from private.pii_text_findings(
                                private.pii_normalise(v.id #>> '{}'), array['NISN'])
                        )
                    )
                )
                    then 'anonymized_id'
            end as fault
        from pg_catalog.jsonb_array_elements(records) with ordinality as a(item, n)
        cross join lateral (
            select
                a.item -> 'grade_level' as grade,
                a.item -> 'subject' as subject,
                a.item -> 'performance_metric' as metric,
                a.item -> 'anonymized_id' as id
        ) as v
    ) as r
    where r.fault is not null
    order by r.n
    limit 1;

    field := case when fault in ('object', 'fields') then null else fault end;
    reason := case fault
        when 'object' then 'must be an object'
        when 'fields' then 'has a field that is not allowed'
        when 'grade_level' then 'must be a grade from 1 to 12'
        when 'subject' then 'must be text of at most 60 characters and 5 digits'
        when 'performance_metric'
            then 'must be a number with at most 5 digits before the point and 4 after'
        when 'anonymized_id' then 'must be 1 to 64 letters, digits, - or _ and hold no identifier'
    end;
end
$$;

comment on function private.amplify_record_problem(jsonb) is
    'Index, field (null: the record itself) and reason of the first AMPLIFY pupil record at '
    'fault in an array; nulls when every record is fine.';

revoke execute on function private.amplify_record_problem(jsonb)
    from public, anon, authenticated;


-- Runs for every writer, members through the API and server-side code alike. SECURITY
-- DEFINER so that the detector functions need no grant to the API roles; it reads only the
-- new and old row and raises, nothing else.
--
-- A column is screened when it is written: on insert, or when an update changes it. A
-- payload that holds nothing its accepted version did not hold (old @> new: a reduction, as
-- the erasure engine makes) is not screened for identifiers or pupil records again, so rows
-- accepted under older rules can still be pseudonymised; consent is checked on every change.
create function private.screen_submission_payload()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    -- A pupil record array whose JSON text matches this is valid under every rule of
    -- private.amplify_record_problem and can hold no identifier: subjects without digits,
    -- @, backslash or characters that normalisation changes, at most 8 digits in an
    -- anonymized_id. It spares checking record by record, and scanning the array for
    -- identifiers, in the common case.
    plain_field constant text := '"subject": "[^"\\0-9@\u00a0\u1680\u2000-\u200a\u2028\u2029'
        || '\u202f\u205f\u3000\u00ad\u200b-\u200d\u2060\ufeff\u017f\u212a\u0660-\u0669'
        || '\u06f0-\u06f9\uff10-\uff19]{0,60}"|"grade_level": (?:[1-9]|1[0-2])'
        || '|"anonymized_id": "(?:[A-Za-z_-]{1,20}[0-9]{0,4}|[0-9]{1,4})'
        || '(?:[A-Za-z_-]{1,8}[0-9]{1,4})?"|"performance_metric": -?[0-9]{1,5}(?:\.[0-9]{1,4})?';
    -- jsonb writes ", " between items and members, never an empty item: looser about
    -- commas than JSON, this accepts no text that jsonb writes for another shape.
    plain_records constant text := '^\[(?:\{(?:(?:' || plain_field || ')(?:, (?:'
        || plain_field || '))*)?\}(?:, )?)*\]$';
    allowed_fields constant text := 'Allowed fields: grade_level (1 to 12, or text such as '
        || '"kelas 4"), subject (text, at most 60 characters and 5 digits), performance_metric '
        || '(a number), anonymized_id (1 to 64 letters, digits, - and _, no identifier).';
    fresh boolean;
    -- The first pupil identifier found: its kind and path.
    found_type text;
    found_path text;
    student record;
    problem record;
    plain_keys text[] := '{}'::text[];
    record_keys text[] := '{}'::text[];
    record_key text;
    records jsonb;
    screened jsonb;
    path text;
begin
    -- Text that fails the detector's screen is spared the call.
    if (tg_op = 'INSERT' or new.title is distinct from old.title)
        and new.title ~ private.pii_screen_pattern()
    then
        select f.type into found_type
        from private.pii_first_pupil_identifier(pg_catalog.to_jsonb(new.title)) as f;
        if found_type is not null then
            raise exception 'submission title holds a personal identifier (%) at title',
                found_type
                using errcode = 'LGP01',
                    detail = pg_catalog.format('kind: %s; path: title', found_type),
                    hint = 'Remove it: titles are read by reviewers and, once public, by every '
                        || 'member.';
        end if;
    end if;

    if tg_op = 'INSERT'
        or new.payload is distinct from old.payload
        or new.activity_code is distinct from old.activity_code
    then
        fresh := tg_op = 'INSERT'
            or new.activity_code is distinct from old.activity_code
            or not coalesce(old.payload @> new.payload, false);
    else
        fresh := false;
    end if;

    if fresh then
        -- Top-level pupil records, under any of their names in any letter case: plain ones
        -- are valid and hold no identifier; under the other names, a number or text (a
        -- count, a note) is no record.
        for student in
            select e.key, e.value
            from pg_catalog.jsonb_each(new.payload) as e
            where pg_catalog.lower(e.key)
                in ('studentsdata', 'students', 'siswa', 'murid', 'pupils')
            order by e.key
        loop
            if pg_catalog.jsonb_typeof(student.value) = 'array'
                and student.value::text ~ plain_records
            then
                plain_keys := plain_keys || student.key;
            elsif pg_catalog.lower(student.key) = 'studentsdata'
                or pg_catalog.jsonb_typeof(student.value) in ('array', 'object')
            then
                record_keys := record_keys || student.key;
            end if;
        end loop;

        screened := new.payload - plain_keys;
        if screened::text ~ private.pii_screen_pattern() then
            select f.type, f.path into found_type, found_path
            from private.pii_first_pupil_identifier(screened) as f;
        end if;
        if found_type is not null then
            raise exception 'submission payload holds a pupil identifier (%) at %',
                found_type, found_path
                using errcode = 'LGP01',
                    detail = pg_catalog.format('kind: %s; path: %s', found_type, found_path),
                    hint = 'Remove the identifier; refer to pupils by an anonymized_id.';
        end if;

        if new.activity_code = 'AMPLIFY' then
            foreach record_key in array record_keys loop
                records := new.payload -> record_key;
                -- The names are known words, safe to repeat.
                path := '$.' || record_key;
                if pg_catalog.jsonb_typeof(records) <> 'array' then
                    raise exception 'AMPLIFY payload: % must be an array of objects', path
                        using errcode = 'LGP02',
                            detail = pg_catalog.format('path: %s', path),
                            hint = allowed_fields;
                end if;
                problem := private.amplify_record_problem(records);
                if problem.reason is not null then
                    -- The record is named by position, and only an allowed field by name:
                    -- any other key could be a pupil's name.
                    path := pg_catalog.format('%s[%s]%s', path, problem.item_index,
                        '.' || problem.field);
                    raise exception 'AMPLIFY payload: % %', path, problem.reason
                        using errcode = 'LGP02',
                            detail = pg_catalog.format('path: %s', path),
                            hint = allowed_fields;
                end if;
            end loop;
        end if;
    end if;

    if new.activity_code = 'AMPLIFY'
        and (
            tg_op = 'INSERT'
            or new.payload is distinct from old.payload
            or new.activity_code is distinct from old.activity_code
        )
        and (
            (new.payload -> 'consentDocumented') is distinct from 'true'::jsonb
            or (new.payload -> 'institutionalApproval') is distinct from 'true'::jsonb
        )
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

    if (tg_op = 'INSERT' or new.review_note is distinct from old.review_note)
        and new.review_note ~ private.pii_screen_pattern()
    then
        select f.type into found_type
        from private.pii_first_pupil_identifier(pg_catalog.to_jsonb(new.review_note)) as f;
        if found_type is not null then
            raise exception
                'submission review_note holds a personal identifier (%) at review_note',
                found_type
                using errcode = 'LGP01',
                    detail = pg_catalog.format('kind: %s; path: review_note', found_type),
                    hint = 'Remove it: review notes are read by the member and other reviewers.';
        end if;
    end if;

    return new;
end
$$;

comment on function private.screen_submission_payload() is
    'Refuses submissions whose title, payload or review note holds a pupil identifier (LGP01) '
    'and AMPLIFY payloads breaking the pupil record (LGP02) or consent (LGP03) rules.';

-- Named to fire after submissions_guard_update (triggers fire in name order), so a change the
-- caller may not make at all is refused as such before its content is looked at.
create trigger submissions_screen_payload
    before insert or update on public.submissions
    for each row execute function private.screen_submission_payload();
