-- rows of: private.retention_rules
--
-- How long data is kept, and from which event. Idempotent: re-applying it leaves exactly these
-- rows, so a change here is carried into the next migration as this whole file. Jobs read
-- these rows at run time; legal holds (private.legal_holds) override them.

with listed (schema_name, table_name, retention, basis, description) as (
    values
        ('audit', 'audit_log', interval '10 years', 'end of the month the event was recorded',
            'Audit events are evidence for investigations and disputes; whole months are '
                || 'dropped by audit.retire_expired_partitions().'),
        ('public', 'dsar_requests', interval '5 years', 'request completed or rejected',
            'Evidence that requests were answered in time; details are cleared at erasure.'),
        ('private', 'member_identifiers', null, 'account erased',
            'Kept while the member has an account; erased with it (pseudonymised accounts '
                || 'lose them too).'),
        ('private', 'legal_holds', interval '1 year', 'hold lifted or lapsed',
            'A lifted hold is kept a year as the record of why data outlived its schedule.')
),
removed as (
    delete from private.retention_rules as r
    where not exists (
        select 1
        from listed as l
        where l.schema_name = r.schema_name
            and l.table_name = r.table_name
    )
)
insert into private.retention_rules (schema_name, table_name, retention, basis, description)
select
    schema_name,
    table_name,
    retention,
    basis,
    description
from listed
on conflict (schema_name, table_name) do update
set retention = excluded.retention,
    basis = excluded.basis,
    description = excluded.description;
