//! Outbound mail: replies to intake, status links. Through an SMTP relay
//! (lettre) when one is configured; otherwise each message is written as an
//! `.eml` file in the outbox folder, so nothing is lost and a newcomer can
//! read what Trellis would have sent.

use anyhow::Context;
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{Address, AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

/// A message to send, in plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
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
    /// An SMTP relay URL (`smtp://user:pass@host:587` for STARTTLS,
    /// `smtps://...` for implicit TLS), or the outbox folder when none.
    pub fn new(from: &str, smtp_url: Option<&str>, outbox: PathBuf) -> anyhow::Result<Mailer> {
        let from = from
            .parse()
            .with_context(|| format!("the sender address {from:?} is not a mailbox"))?;
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("the SMTP relay URL is not valid (smtp://user:pass@host:587 or smtps://...)")?
                    .build(),
            ),
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
            Transport::Outbox(folder) => {
                tokio::fs::create_dir_all(folder)
                    .await
                    .with_context(|| format!("creating the outbox folder {}", folder.display()))?;
                let files = AsyncFileTransport::<Tokio1Executor>::new(folder);
                files
                    .send(message)
                    .await
                    .map(|_| ())
                    .context("writing to the outbox")
            }
        }
    }

    fn message(&self, mail: &OutgoingMail) -> anyhow::Result<Message> {
        let to: Mailbox = mail
            .to
            .parse()
            .with_context(|| format!("{:?} is not a mailbox", mail.to))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN);
        if let Some(id) = &mail.in_reply_to {
            builder = builder.in_reply_to(id.clone()).references(id.clone());
        }
        builder
            .body(mail.text.clone())
            .context("building the message")
    }
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

    #[test]
    fn a_bad_relay_url_is_a_clear_error() {
        let err = Mailer::new(
            "register@localhost",
            Some("carrier-pigeon://coop"),
            PathBuf::from("/tmp"),
        )
        .err();
        assert!(err.is_some_and(|e| e.to_string().contains("SMTP relay URL")));
    }
}
