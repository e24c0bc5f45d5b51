//! Outbound mail: notifications, replies to intake, status links. Through
//! an SMTP relay (lettre) when one is configured; otherwise each message is
//! written as an `.eml` file in the outbox folder, so nothing is lost and a
//! newcomer can read what Trellis would have sent.

use anyhow::Context;
use lettre::message::{header::ContentType, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{Address, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};
use trellis_domain::channels::{RelayTls, SmtpUrl};

/// A message to send: plain text, with an HTML alternative when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The Message-ID this answers, so mail clients thread the reply.
    pub in_reply_to: Option<String>,
}

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// The folder is created on first use, so a server that never mails
    /// leaves no trace.
    Outbox(PathBuf),
}

impl Mailer {
    /// Through the SMTP relay (STARTTLS for `smtp://`, implicit TLS for
    /// `smtps://`, logging in when it has credentials), or into the outbox
    /// folder when there is none.
    pub fn new(from: &str, relay: Option<&SmtpUrl>, outbox: PathBuf) -> anyhow::Result<Mailer> {
        let from = from
            .parse()
            .with_context(|| format!("the sender address {from:?} is not a mailbox"))?;
        let transport = match relay {
            Some(relay) => Transport::Smtp(smtp(relay)?),
            None => Transport::Outbox(outbox),
        };
        Ok(Mailer { from, transport })
    }

    /// A mailer that writes to `outbox` as "Trellis <register@localhost>".
    pub fn outbox(outbox: PathBuf) -> Mailer {
        let address = Address::new("register", "localhost").expect("a valid constant address");
        Mailer {
            from: Mailbox::new(Some("Trellis".into()), address),
            transport: Transport::Outbox(outbox),
        }
    }

    pub async fn send(&self, mail: &OutgoingMail) -> anyhow::Result<()> {
        let message = self.message(mail)?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .context("sending through the SMTP relay"),
            Transport::Outbox(folder) => write_to_outbox(folder, &message.formatted()).await,
        }
    }

    /// A plain-text message, or multipart/alternative (text first, so a
    /// client that shows only one part falls back to it) with HTML.
    fn message(&self, mail: &OutgoingMail) -> anyhow::Result<Message> {
        let to: Mailbox = mail
            .to
            .parse()
            .with_context(|| format!("{:?} is not a mailbox", mail.to))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject);
        if let Some(id) = &mail.in_reply_to {
            builder = builder.in_reply_to(id.clone()).references(id.clone());
        }
        let built = match &mail.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                html.clone(),
            )),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(mail.text.clone()),
        };
        built.context("building the message")
    }
}

/// The relay's transport. The password goes to lettre only; nothing here
/// prints it.
fn smtp(relay: &SmtpUrl) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let builder = match relay.tls {
        RelayTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&relay.host),
        RelayTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&relay.host),
    }
    .with_context(|| format!("setting up TLS for the SMTP relay {relay}"))?;
    let builder = builder.port(relay.port);
    let builder = match &relay.credentials {
        Some((user, password)) => {
            builder.credentials(Credentials::new(user.clone(), password.clone()))
        }
        None => builder,
    };
    Ok(builder.build())
}

/// Writes one message into the outbox folder whole or not at all: under a
/// hidden name first, then renamed, so whoever reads the folder (a person,
/// a script collecting mail) never finds half a message.
async fn write_to_outbox(folder: &Path, eml: &[u8]) -> anyhow::Result<()> {
    tokio::fs::create_dir_all(folder)
        .await
        .with_context(|| format!("creating the outbox folder {}", folder.display()))?;
    let name = format!("{:032x}", rand::random::<u128>());
    let partial = folder.join(format!(".{name}.eml.part"));
    tokio::fs::write(&partial, eml)
        .await
        .context("writing to the outbox")?;
    tokio::fs::rename(&partial, folder.join(format!("{name}.eml")))
        .await
        .context("writing to the outbox")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_relay_mail_lands_in_the_outbox_as_eml() {
        let dir = tempfile::tempdir().expect("dir");
        let mailer = Mailer::new(
            "Trellis <register@localhost>",
            None,
            dir.path().to_path_buf(),
        )
        .expect("mailer");
        let mail = OutgoingMail {
            to: "nora@northwind.com".into(),
            subject: "REG-000001 received".into(),
            text: "Your registration REG-000001 is pending.".into(),
            html: None,
            in_reply_to: Some("<abc@mail.northwind.com>".into()),
        };
        mailer.send(&mail).await.expect("send");
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
        let text = std::fs::read_to_string(&files[0]).expect("eml");
        for expected in [
            "To: nora@northwind.com",
            "Subject: REG-000001 received",
            "In-Reply-To: <abc@mail.northwind.com>",
            "REG-000001 is pending",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
    }

    #[tokio::test]
    async fn with_html_the_mail_is_multipart_alternative_text_first() {
        let dir = tempfile::tempdir().expect("dir");
        let mailer = Mailer::outbox(dir.path().to_path_buf());
        let mail = OutgoingMail {
            to: "nora@northwind.com".into(),
            subject: "REG-000001 Acme Inc.: approved".into(),
            text: "Your registration REG-000001 is approved.".into(),
            html: Some("<p>Your registration <strong>REG-000001</strong> is approved.</p>".into()),
            in_reply_to: None,
        };
        mailer.send(&mail).await.expect("send");
        let file = std::fs::read_dir(dir.path())
            .expect("read")
            .next()
            .expect("one file")
            .expect("entry");
        let eml = std::fs::read_to_string(file.path()).expect("eml");
        let plain = eml.find("Content-Type: text/plain").expect("a text part");
        let html = eml.find("Content-Type: text/html").expect("an HTML part");
        assert!(eml.contains("multipart/alternative"), "{eml}");
        assert!(plain < html, "text first, then the richer part: {eml}");
    }

    /// The relay's connection pool lives on the runtime.
    #[tokio::test]
    async fn a_relay_is_set_up_for_each_kind_of_tls() {
        for url in [
            "smtp://mailer:secret@mail.example.com:587",
            "smtps://mail.example.com",
        ] {
            let relay = SmtpUrl::parse(url).expect("relay");
            let mailer = Mailer::new("register@localhost", Some(&relay), PathBuf::from("/tmp"));
            assert!(mailer.is_ok(), "{url}");
        }
    }

    #[test]
    fn a_bad_sender_is_a_clear_error() {
        let err = Mailer::new("not a mailbox", None, PathBuf::from("/tmp")).err();
        assert!(err.is_some_and(|e| e.to_string().contains("is not a mailbox")));
    }
}
