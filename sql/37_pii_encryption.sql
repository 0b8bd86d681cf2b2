-- Encrypted personal identifiers: phone number, NIK, NPWP and bank account of each member.
--
-- * Values are stored only as pgp_sym_encrypt ciphertext (AES-256), each with the id of the key
--   that encrypted it. Keys live in Vault (vault.decrypted_secrets) and are read only inside
--   the SECURITY DEFINER functions below, into variables: no key is ever part of a statement's
--   text, so statement logs, pgaudit and pg_stat_statements cannot show one.
-- * Exact-match lookup and uniqueness (phone, NIK, and the sign-in e-mail) go through a blind
--   index: an HMAC-SHA256, under a separate key, of the normalised value.
-- * Clients never handle ciphertext: they write through public.set_personal_identifier() and
--   read through public.reveal_personal_identifier(), allowed to the member and to ADMIN and
--   above at aal2, and audited as PII access. The table itself is not reachable through the
--   Data API.
-- * Keys rotate with npm run pii:rotate-key: a new key becomes active and values are
--   re-encrypted in committed batches (private.pii_reencrypt_batch), resumable at any point.
-- * New keys are made from server-side random bytes and handed to vault.create_secret() in the
--   same expression, never as text of ours. Vault must not pass a secret to a logged
--   statement as a parameter (the local stand-in does not); where pgaudit.log_parameter is on
--   and the Vault in use would, rotate keys from a session with it off.


create type private.identifier_kind as enum ('phone', 'nik', 'npwp', 'bank_account');

comment on type private.identifier_kind is
    'Personal identifiers kept encrypted: mobile phone number, NIK (national id), NPWP (tax '
    'id), bank account.';


-- The kind named by a caller, or a clear error (22023) listing the kinds.
create function private.identifier_kind_of(field text)
returns private.identifier_kind
language plpgsql
immutable
set search_path = ''
as $$
begin
    if field is null then
        raise exception using errcode = 'invalid_text_representation';
    end if;
    return field::private.identifier_kind;
exception when invalid_text_representation then
    raise exception 'field must be one of phone, nik, npwp, bank_account'
        using errcode = 'invalid_parameter_value';
end
$$;


-- Keys, by id. The secret itself is in Vault under secret_name; this table holds no key.
create table private.pii_keys (
    key_id smallint primary key,
    purpose text not null
        check (purpose in ('encryption', 'blind_index', 'analytics')),
    secret_name text not null unique,
    state text not null default 'ACTIVE'
        check (state in ('ACTIVE', 'RETIRING', 'RETIRED')),
    created_at timestamptz not null default pg_catalog.now(),
    retired_at timestamptz
);

-- One active key per purpose.
create unique index pii_keys_one_active
    on private.pii_keys (purpose)
    where state = 'ACTIVE';

comment on table private.pii_keys is
    'Keys of the personal-data encryption, the blind index and the analytics pseudonyms: ids '
    'and Vault secret names only. RETIRING keys still decrypt values awaiting re-encryption; '
    'RETIRED ones decrypt nothing current but stay in Vault for backups.';

alter table private.pii_keys enable row level security;
revoke all on private.pii_keys from public, anon, authenticated, service_role;


create table private.member_identifiers (
    user_id uuid primary key references public.users (id) on delete cascade,
    phone bytea,
    phone_key smallint references private.pii_keys (key_id),
    phone_index bytea,
    nik bytea,
    nik_key smallint references private.pii_keys (key_id),
    nik_index bytea,
    npwp bytea,
    npwp_key smallint references private.pii_keys (key_id),
    bank_account bytea,
    bank_account_key smallint references private.pii_keys (key_id),
    email_index bytea,
    updated_at timestamptz not null default pg_catalog.now(),
    check ((phone is null) = (phone_key is null) and (phone is null) = (phone_index is null)),
    check ((nik is null) = (nik_key is null) and (nik is null) = (nik_index is null)),
    check ((npwp is null) = (npwp_key is null)),
    check ((bank_account is null) = (bank_account_key is null))
);

comment on table private.member_identifiers is
    'Members'' phone, NIK, NPWP and bank account as ciphertext (with the key id of each), and '
    'blind indexes for phone, NIK and e-mail. Written and read only through functions.';

create unique index member_identifiers_phone_index
    on private.member_identifiers (phone_index) where phone_index is not null;
create unique index member_identifiers_nik_index
    on private.member_identifiers (nik_index) where nik_index is not null;
create unique index member_identifiers_email_index
    on private.member_identifiers (email_index) where email_index is not null;
-- Rotation finds the values under retiring keys.
create index member_identifiers_keys
    on private.member_identifiers (phone_key, nik_key, npwp_key, bank_account_key);

alter table private.member_identifiers enable row level security;
revoke all on private.member_identifiers from public, anon, authenticated, service_role;


-- The key of a purpose (active by default, or a given id), from Vault. Raises when missing.
create function private.pii_key(wanted_purpose text, wanted_id smallint default null,
    out key_id smallint, out secret text)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    select k.key_id, s.decrypted_secret
    into key_id, secret
    from private.pii_keys as k
    join vault.decrypted_secrets as s on s.name = k.secret_name
    where k.purpose = wanted_purpose
        and (case when wanted_id is null then k.state = 'ACTIVE' else k.key_id = wanted_id end);
    if secret is null then
        raise exception 'no % key%', wanted_purpose,
            coalesce(' with id ' || wanted_id, ' is active')
            using errcode = 'LGK01',
                hint = 'Keys are created by the migrations and by npm run pii:rotate-key.';
    end if;
end
$$;

comment on function private.pii_key(text, smallint) is
    'Key material of a purpose (encryption, blind_index, analytics) from Vault: the active '
    'key, or the key with the given id. Internal to the definer functions of this module.';


-- Creates a key of a purpose in Vault from server-side random bytes and makes it the active
-- one; the previous active key of that purpose becomes RETIRING. Returns the new id.
create function private.pii_create_key(new_purpose text)
returns smallint
language plpgsql
security definer
set search_path = ''
as $$
declare
    new_id smallint := coalesce((select pg_catalog.max(k.key_id) from private.pii_keys as k), 0)
        + 1;
    name text := pg_catalog.format('leaps_pii_%s_key_%s', new_purpose, new_id);
begin
    perform vault.create_secret(
        pg_catalog.encode(extensions.gen_random_bytes(32), 'hex'), name,
        pg_catalog.format('leaps-guard %s key %s', new_purpose, new_id));
    update private.pii_keys as k
    set state = 'RETIRING'
    where k.purpose = new_purpose
        and k.state = 'ACTIVE';
    insert into private.pii_keys (key_id, purpose, secret_name)
    values (new_id, new_purpose, name);
    return new_id;
end
$$;


-- The normalised form a blind index is computed over: lowercase e-mail; phone as 62 followed
-- by the number (from +62, 62, 0, or the "+62 0..." mistake); digits only for the rest.
create function private.normalise_identifier(kind text, value text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
    digits text;
begin
    if value is null then
        return null;
    end if;
    if kind = 'email' then
        return pg_catalog.lower(pg_catalog.btrim(value));
    end if;
    digits := pg_catalog.regexp_replace(value, '[^0-9]', '', 'g');
    if kind = 'phone' then
        if digits ~ '^620' then
            digits := '62' || pg_catalog.substr(digits, 4);
        elsif digits ~ '^0' then
            digits := '62' || pg_catalog.substr(digits, 2);
        elsif digits !~ '^62' then
            return null;
        end if;
    end if;
    return nullif(digits, '');
end
$$;

comment on function private.normalise_identifier(text, text) is
    'Canonical form of an identifier for its blind index: e-mail lowercased and trimmed; phone '
    'as 62 + number whatever the prefix (+62, 62, 0, "+62 0"); digits only otherwise.';


-- HMAC-SHA256 of kind:normalised value under the active blind-index key (null for null).
create function private.blind_index(kind text, value text)
returns bytea
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    normalised text := private.normalise_identifier(kind, value);
    index_key text;
begin
    if normalised is null then
        return null;
    end if;
    index_key := (private.pii_key('blind_index')).secret;
    return extensions.hmac(kind || ':' || normalised, index_key, 'sha256');
end
$$;


-- Encrypts under the active key; returns the ciphertext and the key id.
create function private.pii_encrypt(value text, out cipher bytea, out key_id smallint)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    k record;
begin
    k := private.pii_key('encryption');
    cipher := extensions.pgp_sym_encrypt(value, k.secret, 'cipher-algo=aes256');
    key_id := k.key_id;
end
$$;


-- Decrypts with the key the value names. A wrong or missing key raises (LGK02); the OpenPGP
-- integrity check means a wrong key never yields garbage.
create function private.pii_decrypt(cipher bytea, cipher_key smallint)
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    k record;
begin
    if cipher is null then
        return null;
    end if;
    k := private.pii_key('encryption', cipher_key);
    begin
        return extensions.pgp_sym_decrypt(cipher, k.secret);
    exception when others then
        raise exception 'cannot decrypt with key %: wrong key or damaged value', cipher_key
            using errcode = 'LGK02';
    end;
end
$$;


-- Checks a value before it is stored; raises LGV01 naming the kind, never echoing the value.
create function private.check_identifier(kind private.identifier_kind, value text)
returns void
language plpgsql
immutable
set search_path = ''
as $$
declare
    digits text := pg_catalog.regexp_replace(value, '[^0-9]', '', 'g');
begin
    if value ~ '[^0-9 .+()-]' then
        raise exception '% may hold only digits and the separators + ( ) . - and space', kind
            using errcode = 'LGV01';
    end if;
    if kind = 'phone' and not coalesce(
        private.pii_is_mobile_number(private.normalise_identifier('phone', value)), false)
    then
        raise exception 'phone is not an Indonesian mobile number (+62 8xx or 08xx)'
            using errcode = 'LGV01';
    elsif kind = 'nik' and not private.pii_is_valid_nik(digits) then
        raise exception 'nik is not a valid NIK (16 digits: region, birth date, serial)'
            using errcode = 'LGV01';
    elsif kind = 'npwp' and not (
        (pg_catalog.length(digits) = 15 and private.pii_npwp_check_digit_ok(digits))
        or (pg_catalog.length(digits) = 16 and (private.pii_is_valid_nik(digits)
            or (digits ~ '^0' and private.pii_npwp_check_digit_ok(pg_catalog.substr(digits, 2)))))
    ) then
        raise exception 'npwp is not a valid NPWP (15 digits with a check digit, or 16)'
            using errcode = 'LGV01';
    elsif kind = 'bank_account' and pg_catalog.length(digits) not between 6 and 20 then
        raise exception 'bank_account must have 6 to 20 digits' using errcode = 'LGV01';
    end if;
end
$$;


-- Whether the caller may act on another member's identifiers: user:manage in an allowed
-- session, and only a SUPERADMIN for an ADMIN's or SUPERADMIN's (as with their status).
create function private.may_manage_identifiers_of(target uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
    select private.session_allowed()
        and private.authorize('user:manage')
        and (private.caller_role() = 'SUPERADMIN'
            or coalesce((select u.role < 'ADMIN' from public.users as u where u.id = target),
                true))
$$;


-- Stores (or clears, with null) one identifier of a member. Caller: the member, or
-- user:manage (ADMIN and above) at aal2. Returns true.
create function public.set_personal_identifier(
    field text,
    value text,
    member uuid default null
)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
    kind private.identifier_kind := private.identifier_kind_of(field);
    caller uuid := auth.uid();
    target uuid := coalesce(member, caller);
    cipher bytea;
    cipher_key smallint;
    idx bytea;
begin
    if caller is null
        or not private.session_allowed()
        or (target <> caller and not private.may_manage_identifiers_of(target))
    then
        raise exception 'not allowed to change this member''s personal identifiers'
            using errcode = 'insufficient_privilege';
    end if;
    if not exists (select 1 from public.users as u where u.id = target and u.deleted_at is null)
    then
        raise exception 'member % not found', target using errcode = 'no_data_found';
    end if;
    if value is not null then
        perform private.check_identifier(kind, value);
        select e.cipher, e.key_id into cipher, cipher_key
        from private.pii_encrypt(pg_catalog.btrim(value)) as e;
        if kind in ('phone', 'nik') then
            idx := private.blind_index(kind::text, value);
            -- Whether a phone or NIK is already someone's is an answer worth guessing for, so
            -- a member gets few of them: their refused attempts are recorded, and counted.
            if not private.authorize('user:manage') and (
                select pg_catalog.count(*) from audit.audit_log as l
                where l.actor_id = caller and l.action = 'pii.duplicate'
                    and l.occurred_at > pg_catalog.now() - interval '24 hours') >= 5
            then
                raise exception 'too many attempts to register an identifier; try again tomorrow'
                    using errcode = 'LGV03',
                        hint = 'Contact an administrator if your number is registered to '
                            || 'someone else.';
            end if;
            if exists (
                select 1 from private.member_identifiers as m
                where m.user_id <> target
                    and idx = case kind when 'phone' then m.phone_index else m.nik_index end)
            then
                -- Not an exception: that would roll back the record of the attempt.
                perform audit.record_event('pii.duplicate', 'private.member_identifiers',
                    target::text, 'FAILURE', pg_catalog.jsonb_build_object('field', kind));
                raise warning using errcode = 'LGV02', message = pg_catalog.format(
                    '%s is already registered to another member; nothing stored', kind);
                return false;
            end if;
        end if;
    end if;

    insert into private.member_identifiers as m (user_id)
    values (target)
    on conflict (user_id) do nothing;
    begin
        execute pg_catalog.format(
            'update private.member_identifiers set %1$I = $1, %2$I = $2, updated_at = '
                || 'pg_catalog.now()%3$s where user_id = $4',
            kind, kind || '_key',
            case when kind in ('phone', 'nik')
                then pg_catalog.format(', %I = $3', kind || '_index') else '' end)
        using cipher, cipher_key, idx, target;
    exception when unique_violation then
        -- A concurrent registration of the same value won the race.
        raise exception '% is already registered to another member', kind
            using errcode = 'LGV02';
    end;
    return true;
end
$$;

comment on function public.set_personal_identifier(text, text, uuid) is
    'Stores a member''s phone, NIK, NPWP or bank account encrypted (null clears it); true when '
    'stored. A phone or NIK registered to another member is not stored: false, a warning '
    '(LGV02) and a pii.duplicate event; after 5 such attempts in 24 hours a member gets LGV03. '
    'Caller: the member, or user:manage at aal2 (an ADMIN''s only by a SUPERADMIN). Invalid '
    'values: LGV01. Messages never repeat the value.';


-- Reveals one identifier. Caller: the member, or user:manage (ADMIN and above) at aal2. Every
-- reveal is recorded as pii.reveal (who, whose, which kind; never the value).
create function public.reveal_personal_identifier(
    field text,
    member uuid default null
)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
    kind private.identifier_kind := private.identifier_kind_of(field);
    caller uuid := auth.uid();
    target uuid := coalesce(member, caller);
    cipher bytea;
    cipher_key smallint;
    revealed text;
begin
    if caller is null
        or not private.session_allowed()
        or (target <> caller and not private.may_manage_identifiers_of(target))
    then
        raise exception 'not allowed to reveal this member''s personal identifiers'
            using errcode = 'insufficient_privilege';
    end if;
    execute pg_catalog.format(
        'select %1$I, %2$I from private.member_identifiers where user_id = $1',
        kind, kind || '_key')
    into cipher, cipher_key
    using target;
    revealed := private.pii_decrypt(cipher, cipher_key);
    perform audit.record_event('pii.reveal', 'private.member_identifiers', target::text,
        'SUCCESS', pg_catalog.jsonb_build_object('field', kind, 'own', target = caller,
            'present', revealed is not null));
    return revealed;
end
$$;

comment on function public.reveal_personal_identifier(text, uuid) is
    'Decrypts a member''s phone, NIK, NPWP or bank account (null when none). Caller: the '
    'member, or user:manage at aal2. Recorded in the audit trail as pii.reveal.';


-- A member's identifiers in clear, for their own data export (the function that calls it
-- records the export). Service role only.
create function private.export_identifiers(subject uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    m private.member_identifiers;
begin
    select * into m from private.member_identifiers as i where i.user_id = subject;
    return pg_catalog.jsonb_build_object(
        'phone', private.pii_decrypt(m.phone, m.phone_key),
        'nik', private.pii_decrypt(m.nik, m.nik_key),
        'npwp', private.pii_decrypt(m.npwp, m.npwp_key),
        'bank_account', private.pii_decrypt(m.bank_account, m.bank_account_key),
        'updated_at', m.updated_at);
end
$$;


-- Finds the member an e-mail, phone or NIK belongs to, through the blind index. Caller:
-- user:manage at aal2. Recorded as pii.lookup (kind and whether found; never the value).
create function public.find_member_by_identifier(kind text, value text)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    found_id uuid;
    idx bytea;
begin
    if auth.uid() is null
        or not private.session_allowed()
        or not private.authorize('user:manage')
    then
        raise exception 'not allowed to look members up by personal identifier'
            using errcode = 'insufficient_privilege';
    end if;
    if kind not in ('email', 'phone', 'nik') then
        raise exception 'lookup works by email, phone or nik, not %', kind
            using errcode = 'invalid_parameter_value';
    end if;
    idx := private.blind_index(kind, value);
    execute pg_catalog.format(
        'select user_id from private.member_identifiers where %I = $1', kind || '_index')
    into found_id
    using idx;
    perform audit.record_event('pii.lookup', 'private.member_identifiers', found_id::text,
        'SUCCESS', pg_catalog.jsonb_build_object('field', kind, 'found', found_id is not null));
    return found_id;
end
$$;

comment on function public.find_member_by_identifier(text, text) is
    'Member whose e-mail, phone or NIK this is (blind index), or null. Caller: user:manage at '
    'aal2. Recorded as pii.lookup.';


-- Keeps the blind index of each member's sign-in e-mail (auth.users) current.
create function private.index_member_email()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if not exists (select 1 from public.users as u where u.id = new.id) then
        return null;
    end if;
    insert into private.member_identifiers as m (user_id, email_index)
    values (new.id, private.blind_index('email', new.email))
    on conflict (user_id) do update
    set email_index = excluded.email_index,
        updated_at = pg_catalog.now();
    return null;
end
$$;

create trigger on_auth_user_email_indexed
    after insert or update of email on auth.users
    for each row execute function private.index_member_email();


-- Key rotation ---------------------------------------------------------------------------------

-- Starts a rotation of the encryption key unless one is unfinished (values still under a
-- RETIRING key), in which case that one continues. Returns the active key id and the number
-- of values left to re-encrypt.
create function private.pii_start_rotation(out active_key smallint, out values_left bigint,
    out resumed boolean)
language plpgsql
security definer
set search_path = ''
as $$
begin
    values_left := private.pii_values_to_rotate();
    resumed := values_left > 0;
    if not resumed then
        perform private.pii_create_key('encryption');
        values_left := private.pii_values_to_rotate();
    end if;
    active_key := (select k.key_id from private.pii_keys as k
                   where k.purpose = 'encryption' and k.state = 'ACTIVE');
end
$$;

-- Values encrypted under a key other than the active one.
create function private.pii_values_to_rotate()
returns bigint
language sql
stable
security definer
set search_path = ''
as $$
    with active as (
        select k.key_id from private.pii_keys as k
        where k.purpose = 'encryption' and k.state = 'ACTIVE'
    )
    select coalesce(pg_catalog.sum(
        coalesce((m.phone_key <> a.key_id)::int, 0) + coalesce((m.nik_key <> a.key_id)::int, 0)
        + coalesce((m.npwp_key <> a.key_id)::int, 0)
        + coalesce((m.bank_account_key <> a.key_id)::int, 0)), 0)::bigint
    from private.member_identifiers as m
    cross join active as a
$$;

-- Re-encrypts the values of up to batch_size members still under an old key, skipping rows
-- other sessions hold. Returns how many members it rewrote; 0 means the rotation is done.
create function private.pii_reencrypt_batch(batch_size integer default 500)
returns integer
language plpgsql
security definer
set search_path = ''
set jit = off
as $$
declare
    active smallint := (private.pii_key('encryption')).key_id;
    member record;
    done integer := 0;
begin
    if batch_size not between 1 and 10000 then
        raise exception 'batch_size must be between 1 and 10000'
            using errcode = 'invalid_parameter_value';
    end if;
    for member in
        select m.*
        from private.member_identifiers as m
        where m.phone_key <> active or m.nik_key <> active or m.npwp_key <> active
            or m.bank_account_key <> active
        limit batch_size
        for update skip locked
    loop
        update private.member_identifiers as m
        set phone = case when member.phone_key <> active then
                (private.pii_encrypt(private.pii_decrypt(member.phone, member.phone_key))).cipher
                else m.phone end,
            phone_key = case when member.phone_key is not null then active end,
            nik = case when member.nik_key <> active then
                (private.pii_encrypt(private.pii_decrypt(member.nik, member.nik_key))).cipher
                else m.nik end,
            nik_key = case when member.nik_key is not null then active end,
            npwp = case when member.npwp_key <> active then
                (private.pii_encrypt(private.pii_decrypt(member.npwp, member.npwp_key))).cipher
                else m.npwp end,
            npwp_key = case when member.npwp_key is not null then active end,
            bank_account = case when member.bank_account_key <> active then
                (private.pii_encrypt(private.pii_decrypt(member.bank_account,
                    member.bank_account_key))).cipher
                else m.bank_account end,
            bank_account_key = case when member.bank_account_key is not null then active end
        where m.user_id = member.user_id;
        done := done + 1;
    end loop;
    return done;
end
$$;

-- Marks RETIRING encryption keys that no value uses any more as RETIRED. Returns how many.
create function private.pii_finish_rotation()
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    finished integer;
begin
    update private.pii_keys as k
    set state = 'RETIRED',
        retired_at = pg_catalog.now()
    where k.purpose = 'encryption'
        and k.state = 'RETIRING'
        and not exists (
            select 1
            from private.member_identifiers as m
            where k.key_id in (m.phone_key, m.nik_key, m.npwp_key, m.bank_account_key)
        );
    get diagnostics finished = row_count;
    return finished;
end
$$;


revoke all on function private.pii_key(text, smallint) from public, anon, authenticated,
    service_role;
revoke all on function private.pii_create_key(text) from public, anon, authenticated,
    service_role;
revoke all on function private.normalise_identifier(text, text) from public, anon,
    authenticated;
revoke all on function private.blind_index(text, text) from public, anon, authenticated,
    service_role;
revoke all on function private.pii_encrypt(text) from public, anon, authenticated,
    service_role;
revoke all on function private.pii_decrypt(bytea, smallint) from public, anon, authenticated,
    service_role;
revoke all on function private.check_identifier(private.identifier_kind, text)
    from public, anon, authenticated;
revoke all on function private.index_member_email() from public, anon, authenticated,
    service_role;
revoke all on function private.pii_start_rotation() from public, anon, authenticated,
    service_role;
revoke all on function private.pii_values_to_rotate() from public, anon, authenticated,
    service_role;
revoke all on function private.pii_reencrypt_batch(integer) from public, anon, authenticated,
    service_role;
revoke all on function private.pii_finish_rotation() from public, anon, authenticated,
    service_role;
revoke all on function private.may_manage_identifiers_of(uuid) from public, anon,
    authenticated;
revoke all on function private.export_identifiers(uuid) from public, anon, authenticated;
grant execute on function private.export_identifiers(uuid) to service_role;
revoke all on function private.identifier_kind_of(text) from public, anon;
grant execute on function private.identifier_kind_of(text) to authenticated;
revoke all on function public.set_personal_identifier(text, text, uuid) from public, anon;
grant execute on function public.set_personal_identifier(text, text, uuid) to authenticated;
revoke all on function public.reveal_personal_identifier(text, uuid) from public, anon;
grant execute on function public.reveal_personal_identifier(text, uuid) to authenticated;
revoke all on function public.find_member_by_identifier(text, text) from public, anon;
grant execute on function public.find_member_by_identifier(text, text) to authenticated;


-- The first keys of each purpose, made here from server-side randomness (never in this text).
select private.pii_create_key(p.purpose)
from (values ('encryption'), ('blind_index'), ('analytics')) as p (purpose)
where not exists (
    select 1 from private.pii_keys as k where k.purpose = p.purpose and k.state = 'ACTIVE'
);
