-- Regional rules (sql/38_regional_rules_and_analytics.sql, rows in sql/data/22_regional_rules.sql)
-- and anonymised analytics.
--
-- A member whose province requires additional consent cannot submit without
-- "additionalConsent": true (LGR01, naming the path), through the API or as the service role;
-- members elsewhere can. Analytics give ADMIN+ at aal2 members and submissions under a keyed
-- pseudonym that is stable across calls and is not the id, with no HIGH or MEDIUM field;
-- members and admins at aal1 are refused (42501); every read is audited.

begin;
set local search_path = public, extensions;
select plan(16);

select tests.create_member('t_reg331_aceh') as aceh \gset
select tests.create_member('t_reg331_bali') as bali \gset
select tests.create_member('t_reg331_admin', 'ADMIN', mfa_verified => true) as admin \gset
update public.users set region = 'Aceh' where id = :'aceh';
update public.users set region = 'bali' where id = :'bali';
select private.analytics_key_of(:'aceh') as aceh_key \gset

select is(
    (select pg_catalog.count(*) from private.regional_rules),
    38::bigint,
    'the 38 provinces have a rule'
);
select is(
    (select pg_catalog.array_agg(r.name order by r.region_code) from private.regional_rules as r
    where r.additional_consent_required),
    array['Aceh', 'DI Yogyakarta', 'Papua', 'Papua Barat', 'Papua Selatan', 'Papua Tengah',
        'Papua Pegunungan', 'Papua Barat Daya'],
    'the provinces with special autonomy require additional consent'
);


-- Submissions -------------------------------------------------------------------------------

select tests.act_as(:'aceh');
select throws_ok(
    format($$insert into public.submissions (owner_id, activity_code, title, payload)
        values (%L, 'LEARN', 'Pelatihan', '{"hours": 2}')$$, :'aceh'),
    'LGR01', 'submissions from Aceh need additional consent',
    'member in Aceh: a submission without additional consent is refused (LGR01)'
);
select lives_ok(
    format($$insert into public.submissions (owner_id, activity_code, title, payload)
        values (%L, 'LEARN', 'Pelatihan', '{"hours": 2, "additionalConsent": true}')$$, :'aceh'),
    'member in Aceh: with "additionalConsent": true it is accepted'
);
select tests.clear_actor();
update public.users set region = 'Prov. Nanggroe Aceh Darussalam' where id = :'aceh';
select tests.act_as(:'aceh');
select throws_ok(
    format($$insert into public.submissions (owner_id, activity_code, title, payload)
        values (%L, 'LEARN', 'Pelatihan', '{"hours": 2}')$$, :'aceh'),
    'LGR01', null,
    'member in "Prov. Nanggroe Aceh Darussalam": the alias is the same province (LGR01)'
);
select tests.act_as(:'bali');
select lives_ok(
    format($$insert into public.submissions (owner_id, activity_code, title, payload)
        values (%L, 'LEARN', 'Pelatihan', '{"hours": 2}')$$, :'bali'),
    'member in Bali (written in lower case): no additional consent is needed'
);
select tests.act_as_service();
select throws_ok(
    format($$insert into public.submissions (owner_id, activity_code, title, payload)
        values (%L, 'LEARN', 'Pelatihan', '{"hours": 2, "additionalConsent": "yes"}')$$,
        :'aceh'),
    'LGR01', null,
    'service role: the same rule holds, and only the JSON value true counts as consent'
);
select tests.clear_actor();

select is(
    (select pg_catalog.count(*) from public.submissions where owner_id = :'aceh'),
    1::bigint,
    'only the consented submission from Aceh was stored'
);


-- Analytics ----------------------------------------------------------------------------------

select tests.act_as(:'bali');
select throws_ok('select * from public.anonymised_members()', '42501', null,
    'participant: anonymised members are refused (42501)');
select tests.act_as(:'admin', 'aal1');
select throws_ok('select * from public.anonymised_submissions()', '42501', null,
    'admin at aal1: anonymised submissions are refused (42501)');

select tests.act_as(:'admin', 'aal2');
create temporary table first_call on commit drop as
select * from public.anonymised_members();
select is(
    (select pg_catalog.count(*) from first_call as f
    join public.anonymised_members() as s using (member_key)),
    (select pg_catalog.count(*) from first_call),
    'admin aal2: every member gets the same key on the next call'
);
select is(
    (select pg_catalog.count(*) from first_call as f
    where f.member_key in (select u.id::text from public.users as u)
        or f.member_key !~ '^[0-9a-f]{64}$'),
    0::bigint,
    'admin aal2: keys are 64-character hashes, never a member id'
);
select ok(
    (select pg_catalog.count(*) from public.anonymised_submissions() as s
    where s.member_key in (select f.member_key from first_call as f)) >= 2,
    'admin aal2: submissions carry the same keys, so they can be joined to members'
);
select is(
    (select pg_catalog.jsonb_build_object('region', f.region, 'band', f.points_band % 50)
    from first_call as f where f.member_key = :'aceh_key'),
    '{"region": null, "band": 0}'::jsonb,
    'admin aal2: a region fewer than five members share is blurred, points come in bands of 50'
);
select tests.clear_actor();

select is(
    (select pg_catalog.array_agg(distinct a.name order by a.name)
    from pg_catalog.pg_proc as p
    cross join lateral unnest(p.proargnames, p.proargmodes::text[]) as a(name, mode)
    where p.oid in ('public.anonymised_members()'::regprocedure,
            'public.anonymised_submissions()'::regprocedure)
        and a.mode = 't'
        and exists (select 1 from private.data_classification as d
                    where d.column_name = a.name and d.sensitivity in ('HIGH', 'MEDIUM'))),
    null::text[],
    'no column of the analytics is classified HIGH or MEDIUM'
);
select is(
    (select pg_catalog.array_agg(l.target_id order by l.id) from audit.audit_log as l
    where l.actor_id = :'admin' and l.action = 'analytics.read'),
    array['members', 'members', 'submissions'],
    'every analytics read is in the audit trail'
);

select * from finish();
rollback;
