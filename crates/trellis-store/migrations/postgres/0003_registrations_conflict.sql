-- A conflict's members are read by conflict id whenever a conflict opens,
-- is joined, settles or is shown; without an index each of those reads
-- scanned every registration, inside the write transaction.
CREATE INDEX registrations_conflict ON registrations(conflict_id, id) WHERE conflict_id IS NOT NULL;
