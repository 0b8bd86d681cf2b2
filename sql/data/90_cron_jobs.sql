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
    -- Notifications: incident-notify every minute through pg_net, where the platform has it
    -- (Supabase does; the local stack has its own scheduler instead). The functions' URL and
    -- the service-role key are read from Vault at each call, never written into the job.
    if pg_catalog.to_regnamespace('net') is not null then
        perform cron.schedule('incident-notify', '* * * * *', $job$
            select net.http_post(
                url := (select decrypted_secret from vault.decrypted_secrets
                        where name = 'leaps_functions_url') || '/incident-notify',
                headers := pg_catalog.jsonb_build_object(
                    'content-type', 'application/json',
                    'authorization', 'Bearer ' || (select decrypted_secret
                        from vault.decrypted_secrets where name = 'leaps_service_role_key')),
                body := '{}'::jsonb)
        $job$);
    end if;

    perform cron.schedule('retention-watchdog', '15 * * * *',
        $$select pg_catalog.set_config('leaps.job', 'retention-watchdog', true),
            private.retention_watchdog()$$);
end
$do$;
