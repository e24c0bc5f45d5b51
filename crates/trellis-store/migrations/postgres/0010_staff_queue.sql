-- The staff decision queue reads registrations of one status oldest
-- submitted first, a page at a time (keyset on submitted_at, id).
CREATE INDEX registrations_queue ON registrations(status, submitted_at, id);
-- The conflicts page lists the most recently settled conflicts.
CREATE INDEX conflicts_settled ON conflicts(status, resolved_at);
