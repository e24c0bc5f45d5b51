//! How messages reach people: which channels a partner chose, the Slack
//! incoming webhook that is one of them, the SMTP relay mail leaves through,
//! and the sender mail carries. Each is validated here once, at the edge,
//! with an error that says what to write instead.
//!
//! A webhook URL and a relay URL with a password are secrets (whoever holds
//! them can post to the channel or send as the program), so neither prints
//! itself whole: `Debug` and `Display` show a redacted form.

use std::fmt;
use url::Url;

/// A channel address that cannot be used, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChannelError(String);

impl ChannelError {
    fn new(message: impl Into<String>) -> Self {
        ChannelError(message.into())
    }
}

/// Where a partner's people hear of their registrations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum NotifyVia {
    #[default]
    Email,
    Slack,
    Both,
}

impl NotifyVia {
    pub const ALL: [NotifyVia; 3] = [NotifyVia::Email, NotifyVia::Slack, NotifyVia::Both];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyVia::Email => "email",
            NotifyVia::Slack => "slack",
            NotifyVia::Both => "both",
        }
    }

    pub fn parse(text: &str) -> Result<NotifyVia, ChannelError> {
        NotifyVia::ALL
            .into_iter()
            .find(|via| via.as_str() == text)
            .ok_or_else(|| {
                ChannelError::new(format!(
                    "'{text}' is not a channel: use email, slack or both"
                ))
            })
    }

    pub fn by_email(self) -> bool {
        matches!(self, NotifyVia::Email | NotifyVia::Both)
    }

    pub fn by_slack(self) -> bool {
        matches!(self, NotifyVia::Slack | NotifyVia::Both)
    }
}

/// A Slack incoming-webhook URL: https, or plain http to this machine only
/// (a local fake), never with credentials or a fragment.
#[derive(Clone, PartialEq, Eq)]
pub struct SlackWebhook(Url);

impl SlackWebhook {
    pub fn parse(input: &str) -> Result<SlackWebhook, ChannelError> {
        let url = absolute_url(input).ok_or_else(|| {
            ChannelError::new(
                "is not a URL: paste the whole incoming-webhook URL Slack shows, \
                 https://hooks.slack.com/services/...",
            )
        })?;
        let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        match url.scheme() {
            "https" => {}
            "http" if local => {}
            "http" => {
                return Err(ChannelError::new(
                    "must use https (plain http is accepted only for 127.0.0.1 or localhost)",
                ))
            }
            other => {
                return Err(ChannelError::new(format!(
                    "uses {other}: a Slack webhook URL starts with https://"
                )))
            }
        }
        if url.host_str().is_none_or(str::is_empty) || url.path().len() <= 1 {
            return Err(ChannelError::new(
                "has no webhook path: paste the whole URL, https://hooks.slack.com/services/...",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(ChannelError::new(
                "must not carry a user name, password or #fragment",
            ));
        }
        Ok(SlackWebhook(url))
    }

    /// The URL to post to: for delivery only, never for logs or answers.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// Enough to recognise which hook is set without being able to use it:
    /// the two path segments before the secret (`T…/B…` on Slack) and the
    /// secret's last four characters, `…/T000/B000/…XXXX`.
    pub fn hint(&self) -> String {
        let segments: Vec<&str> = self.0.path().split('/').filter(|s| !s.is_empty()).collect();
        let (secret, before) = segments.split_last().unwrap_or((&"", &[]));
        let tail: String = {
            let chars: Vec<char> = secret.chars().collect();
            chars[chars.len().saturating_sub(4)..].iter().collect()
        };
        let shown = &before[before.len().saturating_sub(2)..];
        let mut hint = String::from("…/");
        for segment in shown {
            hint.push_str(segment);
            hint.push('/');
        }
        hint.push('…');
        hint.push_str(&tail);
        hint
    }
}

impl fmt::Debug for SlackWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SlackWebhook({})", self.hint())
    }
}

/// How mail to the relay is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayTls {
    /// `smtp://`: a plain connection upgraded with STARTTLS, which must succeed.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// An SMTP relay: `smtp://user:pass@host:587` (STARTTLS) or
/// `smtps://user:pass@host:465` (implicit TLS). Prints with the password
/// hidden.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub tls: RelayTls,
    pub host: String,
    pub port: u16,
    /// User name and password, percent-decoded, when the relay wants them.
    pub credentials: Option<(String, String)>,
}

impl SmtpUrl {
    pub fn parse(input: &str) -> Result<SmtpUrl, ChannelError> {
        let shape =
            "write smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465";
        let url = absolute_url(input)
            .ok_or_else(|| ChannelError::new(format!("is not a URL: {shape}")))?;
        let (tls, default_port) = match url.scheme() {
            "smtp" => (RelayTls::StartTls, 587),
            "smtps" => (RelayTls::Implicit, 465),
            other => return Err(ChannelError::new(format!("uses {other}: {shape}"))),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| ChannelError::new(format!("names no host: {shape}")))?;
        if url.path().len() > 1 || url.query().is_some() || url.fragment().is_some() {
            return Err(ChannelError::new(format!(
                "has a path or options after the port, which the relay does not use: {shape}"
            )));
        }
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, Some(password)) if !user.is_empty() => Some((decode(user)?, decode(password)?)),
            _ => {
                return Err(ChannelError::new(format!(
                    "has a user name without a password, or a password without a user name: {shape}"
                )))
            }
        };
        Ok(SmtpUrl {
            tls,
            host: host.trim_matches(['[', ']']).to_owned(),
            port: url.port().unwrap_or(default_port),
            credentials,
        })
    }
}

/// Shows the relay as written, with `***` for the password.
impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.tls {
            RelayTls::StartTls => "smtp",
            RelayTls::Implicit => "smtps",
        };
        write!(f, "{scheme}://")?;
        if let Some((user, _)) = &self.credentials {
            write!(f, "{user}:***@")?;
        }
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpUrl({self})")
    }
}

impl serde::Serialize for SmtpUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A URL written with its scheme and `://`; `host:port` alone would
/// otherwise parse as a URL whose scheme is the host.
fn absolute_url(input: &str) -> Option<Url> {
    let input = input.trim();
    input.contains("://").then(|| Url::parse(input).ok())?
}

fn decode(part: &str) -> Result<String, ChannelError> {
    let bytes: Vec<u8> = percent_decode(part)
        .ok_or_else(|| ChannelError::new("has a broken %-escape in its user name or password"))?;
    String::from_utf8(bytes)
        .map_err(|_| ChannelError::new("has a user name or password that is not UTF-8"))
}

/// `%41` to `A`; `None` on a `%` not followed by two hex digits.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// The sender of outgoing mail, `Name <address>` or a bare address. Only
/// the shape is checked: a program may mail from a private domain.
pub fn check_sender(text: &str) -> Result<(), ChannelError> {
    let text = text.trim();
    let address = match (text.rfind('<'), text.strip_suffix('>')) {
        (Some(open), Some(inner)) => &inner[open + 1..],
        (None, None) => text,
        _ => return Err(not_a_sender()),
    };
    let shaped = address
        .split_once('@')
        .is_some_and(|(local, host)| !local.is_empty() && !host.is_empty() && !host.contains('@'))
        && !address.contains(char::is_whitespace);
    if shaped {
        Ok(())
    } else {
        Err(not_a_sender())
    }
}

fn not_a_sender() -> ChannelError {
    ChannelError::new(
        "is not a sender: write an address, deals@example.com, or a name and an address, \
         Example Partners <deals@example.com>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_via_has_three_spellings() {
        for via in NotifyVia::ALL {
            assert_eq!(NotifyVia::parse(via.as_str()), Ok(via));
        }
        assert_eq!(NotifyVia::default(), NotifyVia::Email);
        assert!(NotifyVia::Both.by_email() && NotifyVia::Both.by_slack());
        assert!(!NotifyVia::Slack.by_email() && !NotifyVia::Email.by_slack());
        let err = NotifyVia::parse("pigeon").unwrap_err().to_string();
        assert!(err.contains("email, slack or both"), "{err}");
    }

    #[test]
    fn slack_webhooks_are_https_or_local_http() {
        let accepted = [
            "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX",
            " https://hooks.slack.com/services/T000/B000/XXXX ",
            "http://127.0.0.1:9000/services/T1/B1/abcd",
            "http://localhost:9000/hook",
        ];
        for url in accepted {
            assert!(SlackWebhook::parse(url).is_ok(), "{url}");
        }
        let refused = [
            ("hooks.slack.com/services/T/B/X", "not a URL"),
            ("http://hooks.slack.com/services/T/B/X", "must use https"),
            ("http://10.0.0.7/services/T/B/X", "must use https"),
            ("ftp://hooks.slack.com/services/T/B/X", "uses ftp"),
            ("https://hooks.slack.com/", "no webhook path"),
            ("https://user:pw@hooks.slack.com/services/T/B/X", "password"),
        ];
        for (url, expected) in refused {
            let err = SlackWebhook::parse(url).unwrap_err().to_string();
            assert!(err.contains(expected), "{url}: {err}");
            assert!(
                !err.contains("services/T/B"),
                "errors never echo the URL: {err}"
            );
        }
    }

    #[test]
    fn a_webhook_shows_only_its_hint() {
        let hook = SlackWebhook::parse("https://hooks.slack.com/services/T0001/B0002/abcdefgh1234")
            .unwrap();
        assert_eq!(hook.hint(), "…/T0001/B0002/…1234");
        assert_eq!(format!("{hook:?}"), "SlackWebhook(…/T0001/B0002/…1234)");
        let short = SlackWebhook::parse("http://localhost/x").unwrap();
        assert_eq!(short.hint(), "…/…x");
    }

    #[test]
    fn relays_take_starttls_or_implicit_tls_with_credentials() {
        let relay = SmtpUrl::parse("smtp://mailer:p%40ss@mail.example.com:2525").unwrap();
        assert_eq!(relay.tls, RelayTls::StartTls);
        assert_eq!(
            (relay.host.as_str(), relay.port),
            ("mail.example.com", 2525)
        );
        assert_eq!(
            relay.credentials,
            Some(("mailer".to_owned(), "p@ss".to_owned()))
        );
        assert_eq!(relay.to_string(), "smtp://mailer:***@mail.example.com:2525");
        assert!(!format!("{relay:?}").contains("p@ss"));
        let implicit = SmtpUrl::parse("smtps://mail.example.com").unwrap();
        assert_eq!((implicit.tls, implicit.port), (RelayTls::Implicit, 465));
        assert_eq!(implicit.credentials, None);
        assert_eq!(SmtpUrl::parse("smtp://relay").unwrap().port, 587);
    }

    #[test]
    fn bad_relays_say_what_to_write() {
        let refused = [
            ("mail.example.com:587", "not a URL"),
            ("https://mail.example.com", "uses https"),
            ("smtp://user@mail.example.com", "without a password"),
            ("smtp://mail.example.com:587/relay", "path or options"),
            ("smtp://mail.example.com?tls=none", "path or options"),
        ];
        for (url, expected) in refused {
            let err = SmtpUrl::parse(url).unwrap_err().to_string();
            assert!(err.contains(expected), "{url}: {err}");
            assert!(err.contains("smtp://user:password@host:587"), "{err}");
        }
    }

    #[test]
    fn senders_are_an_address_or_a_name_and_an_address() {
        for ok in [
            "deals@example.com",
            "Example Partners <deals@example.com>",
            "register@localhost",
        ] {
            assert_eq!(check_sender(ok), Ok(()), "{ok}");
        }
        for bad in [
            "deals",
            "Example <deals>",
            "Example deals@example.com>",
            "a b@c",
        ] {
            let err = check_sender(bad).unwrap_err().to_string();
            assert!(err.contains("is not a sender"), "{bad}: {err}");
        }
    }
}
