-- Alerts and the notification outbox (sql/90_notifications.sql): one open alert per cause,
-- notifications by severity route, leased claims, backoff, dead letters that raise an alert.

begin;
set local search_path = public, extensions;
select plan(14);

select isnt(
    private.raise_alert('test.signal', 'critical', 'Something critical', '{"n": 1}', 'test:one'),
    null, 'a new cause raises an alert'
);
select is(
    private.raise_alert('test.signal', 'critical', 'Something critical again', '{}', 'test:one'),
    null, 'the same cause while the alert is open raises nothing more'
);
select is(
    (select pg_catalog.array_agg(channel order by channel) from private.notification_outbox
    where body ->> 'kind' = 'test.signal'),
    array['email', 'pagerduty', 'slack', 'webhook'],
    'a critical alert goes to every channel, PagerDuty included, once each'
);
update private.security_alerts set acknowledged_at = now() where cause = 'test:one';
select isnt(
    private.raise_alert('test.signal', 'low', 'Back again', '{}', 'test:one'),
    null, 'once acknowledged, the same cause may raise a new alert'
);
select is(
    (select pg_catalog.array_agg(channel) from private.notification_outbox
    where title = 'Back again'),
    array['webhook'], 'a low alert goes to the webhook only'
);

-- Delivery: only due messages are claimed, and a claim leases them.
update private.notification_outbox set next_attempt_at = now() + interval '1 hour'
where title <> 'Back again';
create temporary table t350_claimed as select * from private.claim_notifications(10);
select is((select pg_catalog.count(*)::int from t350_claimed), 1, 'only due messages are claimed');
select is(
    (select pg_catalog.count(*)::int from private.claim_notifications(10)), 0,
    'a leased message is not claimed twice'
);
select is(
    private.finish_notification((select id from t350_claimed), 'failed', 'HTTP 500'), 'retry',
    'a failure is retried'
);
select ok(
    (select status = 'pending' and attempts = 1
        and next_attempt_at between now() + interval '29 seconds' and now() + interval '31 seconds'
    from private.notification_outbox where id = (select id from t350_claimed)),
    'the first retry waits 30 seconds'
);

-- Up to the last attempt: then dead, and an alert about it.
update private.notification_outbox
set attempts = private.notification_max_attempts() - 1, next_attempt_at = now()
where id = (select id from t350_claimed);
select is((select pg_catalog.count(*)::int from private.claim_notifications(10)), 1,
    'claimed for its last attempt');
select is(
    private.finish_notification((select id from t350_claimed), 'failed', 'HTTP 500'), 'dead',
    'the last failure makes the message dead'
);
select is(
    (select severity from private.security_alerts
    where kind = 'notification.dead_letter' and acknowledged_at is null),
    'high', 'a dead message raises a HIGH alert'
);
select is(
    private.finish_notification((select id from t350_claimed), 'delivered'), null,
    'a message not being sent cannot be finished'
);
select throws_ok(
    $$select private.finish_notification(1, 'maybe')$$, '22023', null,
    'an unknown outcome is refused'
);

select * from finish();
rollback;
