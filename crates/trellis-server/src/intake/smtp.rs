//! The built-in SMTP receiver (`trellis serve --smtp-listen ADDR`): partners
//! mail the intake address directly. mailin speaks the protocol (RFC 5321);
//! this module does the IO, refuses other recipients at RCPT, and answers
//! the end of DATA only after the message has been processed, so a `250`
//! means the registration (or the reply saying what is missing) is recorded.

use super::email;
use crate::AppState;
use mailin::{response, Handler, Response, SessionBuilder};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use trellis_intake::email::MAX_MESSAGE_BYTES;

/// The longest command or data line read (RFC 5321 allows 1,000 octets; a
/// generous margin for broken clients, a hard stop for hostile ones).
const MAX_LINE: usize = 64 * 1024;

/// Listens on `addr` and serves each connection in its own task.
pub async fn listen(state: AppState, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((socket, peer)) => {
                    let state = state.clone();
                    tokio::spawn(async move {
                        if let Err(e) = converse(state, socket, peer.ip()).await {
                            tracing::debug!(error = %e, %peer, "SMTP connection ended");
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "SMTP accept failed"),
            }
        }
    });
    Ok(bound)
}

/// What the protocol handler collects for the connection loop.
#[derive(Default)]
struct Message {
    data: Vec<u8>,
    too_large: bool,
    /// Set at the end of DATA: the loop processes `data` and answers.
    complete: bool,
}

struct Collector {
    intake: String,
    message: Arc<Mutex<Message>>,
}

impl Collector {
    fn with<T>(&self, f: impl FnOnce(&mut Message) -> T) -> T {
        f(&mut self.message.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Handler for Collector {
    fn rcpt(&mut self, to: &str) -> Response {
        let to = to.trim().trim_start_matches('<').trim_end_matches('>');
        if to.eq_ignore_ascii_case(&self.intake) {
            response::OK
        } else {
            response::NO_MAILBOX
        }
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.with(|m| *m = Message::default());
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.with(|m| {
            if m.data.len() + buf.len() > MAX_MESSAGE_BYTES {
                m.too_large = true;
            } else if !m.too_large {
                m.data.extend_from_slice(buf);
            }
        });
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.with(|m| m.complete = true);
        response::OK
    }
}

async fn converse(state: AppState, socket: TcpStream, peer: IpAddr) -> std::io::Result<()> {
    let (reader, mut writer) = socket.into_split();
    let mut reader = BufReader::new(reader);
    let message = Arc::new(Mutex::new(Message::default()));
    let collector = Collector {
        intake: state.program.intake.email_address.clone(),
        message: message.clone(),
    };
    let mut session = SessionBuilder::new("trellis").build(peer, collector);
    writer.write_all(&session.greeting().buffer()?).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await?;
        if read == 0 {
            return Ok(());
        }
        let response = session.process(&line);
        let finished = take_finished(&message);
        let response = match finished {
            Some(finished) => answer(&state, finished).await,
            None => response,
        };
        if response.action != mailin::Action::NoReply {
            writer.write_all(&response.buffer()?).await?;
        }
        if response.action == mailin::Action::Close {
            return Ok(());
        }
    }
}

fn take_finished(message: &Mutex<Message>) -> Option<Message> {
    let mut guard = message.lock().unwrap_or_else(PoisonError::into_inner);
    guard.complete.then(|| std::mem::take(&mut *guard))
}

/// Processes a complete message; only then does the client hear `250`.
async fn answer(state: &AppState, message: Message) -> Response {
    if message.too_large {
        return Response::custom(
            552,
            format!("message larger than {MAX_MESSAGE_BYTES} bytes"),
        );
    }
    match email::process(state, &message.data).await {
        Ok(done) => {
            let case = done
                .case_number
                .map(|c| format!(" {c}"))
                .unwrap_or_default();
            Response::custom(250, format!("OK {}{case}", done.outcome))
        }
        Err(crate::problem::ApiError::Internal(e)) => {
            tracing::error!(error = ?e, "SMTP intake failed; the client will retry");
            response::INTERNAL_ERROR
        }
        Err(refusal) => Response::custom(554, format!("not accepted: {}", refusal.detail())),
    }
}
