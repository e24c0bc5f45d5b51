-- Partners choose how they hear of their registrations (email, slack or
-- both); a partner's Slack incoming-webhook URL is a secret, kept here only
-- and read at delivery, so rotating it takes effect for queued messages.
ALTER TABLE partners ADD COLUMN notify_via TEXT NOT NULL DEFAULT 'email';
ALTER TABLE partners ADD COLUMN slack_webhook_url TEXT;

-- Each queued message goes out on one channel. For email the recipient is
-- the address; for Slack it names whose channel (partner:ID, or program for
-- the partner team's), never the webhook URL itself. The HTML part of a
-- mail and the Block Kit JSON of a Slack message are rendered when queued.
ALTER TABLE notifications ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
ALTER TABLE notifications ADD COLUMN html TEXT;
ALTER TABLE notifications ADD COLUMN slack_message TEXT;
