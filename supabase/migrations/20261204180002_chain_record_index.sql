-- chain_record_index: written by hand (it fills a new column of an append-only table). The
-- statements migra computes for the rest of this change follow in the next migration.
--
-- The index that follows one row's history moves off the write path: audit.audit_log loses
-- its btree on record_id, and audit.chain gains record_id (copied by the sealer) with the
-- index instead. Links sealed before this migration get their record_id here, with the
-- append-only guard lifted for that one statement inside this transaction.

drop index if exists audit.audit_log_record_idx;

alter table audit.chain add column record_id uuid;

alter table audit.chain disable trigger chain_append_only;
update audit.chain as c
set record_id = l.record_id
from audit.audit_log as l
where l.id = c.log_id
    and l.occurred_at = c.occurred_at
    and l.record_id is not null;
alter table audit.chain enable trigger chain_append_only;

create index chain_record_idx
    on audit.chain (record_id)
    where record_id is not null;
