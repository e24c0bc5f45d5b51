-- A partner's open registrations and how many are tidy (a contact and a
-- next step), counted for every partner at once by the partners list, tier
-- mobility and reviews: this partial index on the very expression the count
-- reads answers it without touching the table.
CREATE INDEX registrations_open_tidy ON registrations(
    partner_id, (deal_next_step IS NOT NULL AND contact_name <> '')
) WHERE status IN ('submitted', 'more_info', 'approved');
