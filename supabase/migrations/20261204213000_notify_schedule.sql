-- notify_schedule: written by hand (sql/data/90_cron_jobs.sql is not compared by
-- db:migration). Where pg_net exists, pg_cron calls incident-notify every minute; the URL and
-- the service-role key come from Vault secrets leaps_functions_url and
-- leaps_service_role_key.

do $do$
begin
    if pg_catalog.to_regnamespace('cron') is null then
        return;
    end if;

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
end
$do$;
