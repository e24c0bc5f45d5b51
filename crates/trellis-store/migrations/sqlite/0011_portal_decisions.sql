-- The partner portal lists one partner's review decisions and appeals,
-- newest first: without these, each page would read every partner's rows
-- (a review holds a proposal for every partner).
CREATE INDEX review_proposals_partner ON review_proposals(partner_id, review_id);
CREATE INDEX appeals_partner ON appeals(partner_id, id);
