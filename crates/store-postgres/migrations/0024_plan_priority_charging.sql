-- A plan may give its subscribers priority where a site's power is shared
-- (load management): their sessions rank with booked ones. A subscription
-- keeps the terms it was bought with, this one included.
ALTER TABLE plans ADD COLUMN priority_charging BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE customer_plans ADD COLUMN priority_charging BOOLEAN NOT NULL DEFAULT FALSE;
