-- The session ticker reads only the sessions written since its last round
-- (active or just finished), not every active session each round.
CREATE INDEX charging_sessions_updated ON charging_sessions (updated_at);
