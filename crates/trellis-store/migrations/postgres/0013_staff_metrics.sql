-- Registration metrics for the staff workspace (metrics_report.rs). Every
-- figure is read over a period of one timestamp, so each has an index led by
-- that timestamp and holding the other columns its statement reads: a page
-- reads only the period's index entries, never the table.

-- When staff first answered a registration (approved, declined or asked for
-- more): kept by the store as it saves a decision, so the time to a first
-- response is read from the row rather than searched for in the event log.
ALTER TABLE registrations ADD COLUMN first_response_at BIGINT;
UPDATE registrations SET first_response_at = (
    SELECT MIN(at) FROM events
    WHERE events.registration_id = registrations.id
      AND events.kind IN ('approved', 'declined', 'info_requested')
);

-- Approval rates by partner and segment, and response times.
CREATE INDEX registrations_submitted ON registrations(
    submitted_at, partner_id, segment, status, approved_at, first_response_at
);
-- Meetings within the SLA, by approval date.
CREATE INDEX registrations_approved ON registrations(approved_at, first_meeting_at)
    WHERE approved_at IS NOT NULL;
-- Wins, losses and won volume, by close date.
CREATE INDEX registrations_closed ON registrations(
    closed_at, status, approved_at, won_currency, won_amount
) WHERE closed_at IS NOT NULL;
-- Protection windows open now, by region, segment or product.
CREATE INDEX registrations_holding ON registrations(hold_until, region, segment, product)
    WHERE status = 'approved';
-- Conflicts avoided and open, by the day they opened.
CREATE INDEX conflicts_opened ON conflicts(opened_at, status);
