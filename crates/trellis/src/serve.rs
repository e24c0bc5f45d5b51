//! `trellis serve`.

use crate::{load_program, DbArgs};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use trellis_domain::channels::{SlackWebhook, SmtpUrl};
use trellis_domain::program::Program;
use trellis_server::clock::Clock;
use trellis_server::crm::CrmLink;
use trellis_server::mail::Mailer;
use trellis_server::{AppState, Secrets};

#[derive(clap::Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TRELLIS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub db: DbArgs,
    /// The program file (TOML); the built-in default program when absent.
    #[arg(long, env = "TRELLIS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Load the demo program into an empty database first.
    #[arg(long)]
    pub demo: bool,
    /// Let admins set the server's time (POST /api/v1/test-clock), from
    /// START (RFC 3339) when given, so that not even the first sweep sees
    /// the system time; otherwise from the system time.
    #[arg(long, value_name = "START", require_equals = true, value_parser = parse_time)]
    pub test_clock: Option<Option<OffsetDateTime>>,
    /// Seconds between sweeps (expiries, exception lapses, escalations,
    /// reminders, notification delivery).
    #[arg(long, default_value_t = 30)]
    pub sweep_seconds: u64,
    /// The URL partners reach this server at, for links in mail and for
    /// verifying signed webhooks.
    #[arg(long, env = "TRELLIS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// SMTP relay for outbound mail: smtp://user:pass@host:587 (STARTTLS)
    /// or smtps://user:pass@host:465; wins over the program file's
    /// [notify] smtp_url. Without either, mail goes to --outbox.
    #[arg(long, env = "TRELLIS_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Folder for outbound mail when no relay is configured (.eml files).
    #[arg(long, env = "TRELLIS_OUTBOX", default_value = "outbox")]
    pub outbox: PathBuf,
    /// Also receive registrations by SMTP on this address (off by default).
    #[arg(long)]
    pub smtp_listen: Option<SocketAddr>,
    /// Slack app signing secret, for POST /slack/commands.
    #[arg(long, env = "TRELLIS_SLACK_SIGNING_SECRET", hide_env_values = true)]
    pub slack_signing_secret: Option<String>,
    /// The partner team's Slack incoming webhook, for escalations and
    /// review reminders.
    #[arg(long, env = "TRELLIS_SLACK_WEBHOOK_URL", hide_env_values = true)]
    pub slack_webhook_url: Option<String>,
    /// HubSpot app client secret, for POST /webhooks/hubspot.
    #[arg(long, env = "TRELLIS_HUBSPOT_CLIENT_SECRET", hide_env_values = true)]
    pub hubspot_client_secret: Option<String>,
    /// Captcha secret for the open form (overrides the program file's).
    #[arg(long, env = "TRELLIS_CAPTCHA_SECRET", hide_env_values = true)]
    pub captcha_secret: Option<String>,
    /// An admin token to accept from the start (stored hashed).
    #[arg(long, env = "TRELLIS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Seconds between reads of changes back from the CRM (stages,
    /// meetings); HubSpot webhooks bring them sooner.
    #[arg(long, default_value_t = 60)]
    pub crm_poll_seconds: u64,
}

impl Default for ServeArgs {
    fn default() -> Self {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: ServeArgs,
        }
        Wrapper::parse_from(["trellis"]).args
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let program = match &args.config {
        Some(path) => load_program(path)?,
        None => Program::default(),
    };
    let store = args.db.open().await?;
    let clock = match args.test_clock {
        Some(start) => Clock::test(start.unwrap_or_else(OffsetDateTime::now_utc)),
        None => Clock::system(),
    };
    if let Some(secret) = &args.admin_token {
        store
            .ensure_admin_token(secret, clock.now())
            .await
            .context("storing TRELLIS_ADMIN_TOKEN")?;
    }
    if args.demo {
        crate::demo::load_if_empty(&store, &program).await?;
    }
    let mut state = AppState::new(store, program, clock);
    state.mailer = mailer(&args, &state.program)?;
    state.secrets = Secrets {
        slack_signing_secret: args.slack_signing_secret.clone(),
        hubspot_client_secret: args.hubspot_client_secret.clone(),
        captcha_secret: args
            .captcha_secret
            .clone()
            .or_else(|| state.program.intake.captcha.secret.clone()),
        slack_webhook_url: args
            .slack_webhook_url
            .as_deref()
            .map(SlackWebhook::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--slack-webhook-url {e}"))?,
    };
    state.public_url = match &args.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", args.listen),
    };
    state.crm = crm_link(&state.store, &state.program, args.crm_poll_seconds).await?;
    if let Some(addr) = args.smtp_listen {
        let bound = trellis_server::intake::smtp::listen(state.clone(), addr).await?;
        println!(
            "Receiving registrations by SMTP at {bound} for {}",
            state.program.intake.email_address
        );
    }
    let running = trellis_server::start(
        state,
        args.listen,
        Duration::from_secs(args.sweep_seconds.max(1)),
    )
    .await?;
    tracing::info!(addr = %running.addr, db = %crate::redact(&args.db.url), "trellis is listening");
    println!(
        "Trellis is running at http://{}/ (API under /api/v1, health at /healthz)",
        running.addr
    );
    running.task.await??;
    Ok(())
}

/// Connects the program's CRM, if it names one, and says at start-up what
/// the mapping names that the CRM lacks. A CRM that cannot be reached now
/// is not fatal: the queue waits for it.
async fn crm_link(
    store: &trellis_store::Store,
    program: &Program,
    poll_seconds: u64,
) -> anyhow::Result<Option<Arc<CrmLink>>> {
    let Some(config) = &program.crm else {
        return Ok(None);
    };
    let crm = trellis_sync::crm::connect(config).context("connecting the CRM named in [crm]")?;
    let released = store.release_orphaned_crm_claims().await?;
    if released > 0 {
        tracing::info!(
            released,
            "crm: batches an earlier process left unsent go out again"
        );
    }
    match trellis_sync::crm::missing_properties(crm.as_ref(), config).await {
        Ok(missing) if missing.is_empty() => {}
        Ok(missing) => tracing::error!(
            missing = %missing.join(", "),
            "the [crm] mapping names properties the CRM lacks; records will be rejected until they exist (see trellis crm check)"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "the CRM could not be checked at start-up; syncing will retry")
        }
    }
    let mut link = CrmLink::new(crm, config.clone());
    link.poll_every = Duration::from_secs(poll_seconds.max(1));
    Ok(Some(Arc::new(link)))
}

fn parse_time(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|at| at.to_offset(time::UtcOffset::UTC))
}

/// The mailer: the relay from `--smtp-url`, else the program file's, else
/// the outbox folder; the sender from the file, else the program's name at
/// its intake address. The relay is logged without its password.
fn mailer(args: &ServeArgs, program: &Program) -> anyhow::Result<Mailer> {
    let flag = args
        .smtp_url
        .as_deref()
        .map(SmtpUrl::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--smtp-url {e}"))?;
    let relay = flag.or_else(|| program.notify.smtp_url.clone());
    let from = match &program.notify.from {
        Some(from) => from.clone(),
        None => format!("{} <{}>", program.name, program.intake.email_address),
    };
    match &relay {
        Some(relay) => tracing::info!(%relay, %from, "mail goes through the SMTP relay"),
        None => tracing::info!(outbox = %args.outbox.display(), "mail goes to the outbox folder"),
    }
    Mailer::new(&from, relay.as_ref(), args.outbox.clone())
}
