//! Who hears a notice, and on which channels: a partner's people by mail
//! and its Slack channel, as the partner chose; the partner team at its
//! escalation address and the program's Slack channel. The messages are
//! queued in the caller's transaction, one per recipient and channel.

use crate::db::Tx;
use crate::error::Result;
use crate::notify::{self, Outgoing, SlackChannel};
use crate::partners::reach;
use time::OffsetDateTime;
use trellis_domain::ids::PartnerId;
use trellis_notices::Notice;

/// The partner team's channels: the program file's escalation address, and
/// whether the server has a Slack channel for the team.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamChannels {
    pub email: Option<String>,
    pub slack: bool,
}

impl TeamChannels {
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && !self.slack
    }
}

/// Who a notice is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Audience<'a> {
    /// A partner's people, about the partner's own records only.
    Partner(PartnerId),
    Team(&'a TeamChannels),
}

/// Queues `notice`, signed by `program`, for `audience` on each of its
/// channels; returns how many messages.
pub(crate) async fn tell(
    tx: &mut Tx,
    audience: Audience<'_>,
    notice: &Notice,
    program: &str,
    now: OffsetDateTime,
) -> Result<usize> {
    let outgoing = Outgoing::new(notice, program);
    let notes = match audience {
        Audience::Partner(partner) => {
            let (via, emails) = reach(tx, partner).await?;
            let mut notes = Vec::new();
            if via.by_email() {
                notes.extend(emails.iter().map(|to| outgoing.email(to)));
            }
            if via.by_slack() {
                notes.push(outgoing.slack(SlackChannel::Partner(partner)));
            }
            notes
        }
        Audience::Team(team) => {
            let mail = team.email.iter().map(|to| outgoing.email(to));
            let slack = team.slack.then(|| outgoing.slack(SlackChannel::Program));
            mail.chain(slack).collect()
        }
    };
    notify::queue(tx, &notes, now, None).await?;
    Ok(notes.len())
}
