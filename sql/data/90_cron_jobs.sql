-- pg_cron jobs of the project. cron.schedule() replaces a job of the same name, so this file
-- is idempotent. pg_cron lives only in the stack's main database; elsewhere (scratch
-- databases) there is nothing to schedule. npm run db:drift compares these with cron.job.

do $do$
begin
    if pg_catalog.to_regnamespace('cron') is null then
        return;
    end if;

    -- Link newly written audit rows into the hash chain.
    perform cron.schedule('audit-seal', '* * * * *',
        $$select pg_catalog.set_config('leaps.job', 'audit-seal', true), audit.seal()$$);

    -- Keep three months of audit partitions ready ahead of time.
    perform cron.schedule('audit-partitions', '0 3 1 * *',
        $$select pg_catalog.set_config('leaps.job', 'audit-partitions', true),
            audit.ensure_partitions(3)$$);

    -- Drop the audit months past their retention period (legal holds keep theirs).
    perform cron.schedule('audit-retention', '30 3 1 * *',
        $$select pg_catalog.set_config('leaps.job', 'audit-retention', true),
            pg_catalog.count(*) from audit.retire_expired_partitions()$$);

    -- The retention schedule (private.retention_policies), every night at 02:00 UTC, and the
    -- watchdog that alerts when a policy has not succeeded for too long.
    perform cron.schedule('retention', '0 2 * * *',
        $$call private.run_retention()$$);
    -- The detectors (sql/91_security_signals.sql), every minute.
    perform cron.schedule('security-detectors', '* * * * *',
        $$select pg_catalog.set_config('leaps.job', 'security-detectors', true),
            private.run_detectors()$$);
    perform cron.schedule('retention-watchdog', '15 * * * *',
        $$select pg_catalog.set_config('leaps.job', 'retention-watchdog', true),
            private.retention_watchdog()$$);
end
$do$;
