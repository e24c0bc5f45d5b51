//! The mail that carries a sign-in link, for the partner portal and the
//! staff workspace alike. It carries a secret, so it is sent at once rather
//! than through the notification queue, and the request that asked for it
//! is answered the same whether or not the address is known.

use crate::mail::OutgoingMail;
use crate::AppState;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;

/// How long a sign-in link works.
pub const LINK_MINUTES: i64 = 30;

/// Sign-in requests per address: each may send a mail (or test a
/// password), so a stranger must not flood a mailbox or guess at length.
pub type SignInLimiter = DefaultKeyedRateLimiter<String>;

/// Five requests per address and hour.
pub fn limiter() -> Arc<SignInLimiter> {
    let quota = Quota::per_hour(NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN));
    Arc::new(RateLimiter::keyed(quota))
}

/// Whom a link is for and where it leads.
pub struct LinkMail<'a> {
    pub to: &'a str,
    pub name: &'a str,
    /// "partner portal" or "staff workspace".
    pub place: &'a str,
    /// The whole link, secret included.
    pub url: String,
}

/// Mails a sign-in link.
pub async fn send(state: &AppState, link: LinkMail<'_>) -> anyhow::Result<()> {
    let program = &state.program.name;
    let text = format!(
        "Hello {},\n\nSign in to the {program} {} with this link. It works once, \
         within {LINK_MINUTES} minutes; keep it to yourself:\n{}\n\n\
         If you did not ask to sign in, ignore this mail.\n\n-- \n{program}\n",
        link.name, link.place, link.url
    );
    let mail = OutgoingMail {
        to: link.to.to_owned(),
        subject: format!("Your sign-in link for {program}"),
        text,
        html: None,
        in_reply_to: None,
    };
    state.mailer.send(&mail).await
}

/// Runs `work` (looking the address up, storing and mailing a link) in
/// the background, so a known address is answered as fast as an unknown
/// one and the timing gives nothing away.
pub fn in_background(work: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
    tokio::spawn(async move {
        if let Err(e) = work.await {
            tracing::error!(error = %e, "could not send a sign-in link");
        }
    });
}

/// The answer to every request for a link.
pub fn check_your_mail(email: &impl std::fmt::Display, who: &str) -> String {
    format!(
        "If {email} belongs to {who}, a sign-in link is on its way. It works once, within {LINK_MINUTES} minutes."
    )
}
