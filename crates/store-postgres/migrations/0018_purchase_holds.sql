-- A purchase whose metered energy could not have flowed (a meter that ran
-- backwards, more than the connector delivers in the session's time) is
-- held for review instead of billed: payment_status 'held' and, here, why.
-- An admin releases it with a corrected figure (back to 'unpaid') or voids
-- it ('void'); the reason stays as the record of the hold.
ALTER TABLE purchases ADD COLUMN hold_reason TEXT;
