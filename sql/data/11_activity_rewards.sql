-- rows of: private.activity_rewards
--
-- Points each approved activity earns. Idempotent; every activity code has exactly one row.

insert into private.activity_rewards (activity_code, points)
values
    ('LEARN', 10),
    ('EXPLORE', 20),
    ('AMPLIFY', 30),
    ('PRESENT', 40),
    ('SHINE', 50)
on conflict (activity_code) do update
set points = excluded.points;
