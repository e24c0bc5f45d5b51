-- A partner's appeals, for its page in the staff workspace.
CREATE INDEX appeals_partner ON appeals(partner_id, id);
