//! The Trellis HTTP server: the REST API under `/api/v1`, its OpenAPI
//! document, and the background sweep that applies deadlines.

mod api;
mod auth;
pub mod clock;
pub mod crm;
mod input;
pub mod intake;
pub mod mail;
pub mod metric_input;
mod outbox;
pub mod passwords;
mod problem;
mod slack_webhook;
pub mod sweep;
pub mod tokens;
mod web;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use clock::Clock;
use mail::Mailer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use trellis_domain::channels::SlackWebhook;
use trellis_domain::program::Program;
use trellis_store::{MetricDays, Store, TeamChannels};

pub use api::openapi;

/// The largest request body the API reads; bigger ones get 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub program: Arc<Program>,
    pub clock: Clock,
    /// Replies and links to partners.
    pub mailer: Mailer,
    /// The address partners reach this server at, for links in mail and for
    /// rebuilding signed webhook URIs (`--public-url`).
    pub public_url: String,
    pub secrets: Secrets,
    /// Per-address limit on the open form.
    pub form_limiter: Arc<web::FormLimiter>,
    /// Outbound HTTP: captcha verification, Slack follow-ups.
    pub http: reqwest::Client,
    /// The CRM kept in step (`[crm]` in the program); none: nothing syncs.
    pub crm: Option<Arc<crm::CrmLink>>,
    /// The metrics page's figures, kept per day by this process.
    pub metric_days: Arc<MetricDays>,
}

/// Secrets from the environment: never in the program file, never logged.
#[derive(Clone, Default)]
pub struct Secrets {
    /// `TRELLIS_SLACK_SIGNING_SECRET`.
    pub slack_signing_secret: Option<String>,
    /// `TRELLIS_HUBSPOT_CLIENT_SECRET`.
    pub hubspot_client_secret: Option<String>,
    /// `TRELLIS_CAPTCHA_SECRET`, else `[intake.captcha] secret`.
    pub captcha_secret: Option<String>,
    /// `TRELLIS_SLACK_WEBHOOK_URL`: the partner team's Slack channel.
    pub slack_webhook_url: Option<SlackWebhook>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn set<T>(secret: &Option<T>) -> &'static str {
            if secret.is_some() {
                "set"
            } else {
                "unset"
            }
        }
        f.debug_struct("Secrets")
            .field("slack_signing_secret", &set(&self.slack_signing_secret))
            .field("hubspot_client_secret", &set(&self.hubspot_client_secret))
            .field("captcha_secret", &set(&self.captcha_secret))
            .field("slack_webhook_url", &set(&self.slack_webhook_url))
            .finish()
    }
}

impl AppState {
    /// A state with mail going to `./outbox` and links to the local address;
    /// `serve` sets both from its flags.
    pub fn new(store: Store, program: Program, clock: Clock) -> AppState {
        let form_limiter = web::form_limiter(program.intake.captcha.provider);
        AppState {
            store,
            program: Arc::new(program),
            clock,
            mailer: Mailer::outbox("outbox".into()),
            public_url: "http://127.0.0.1:8080".into(),
            secrets: Secrets::default(),
            form_limiter,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            crm: None,
            metric_days: Arc::default(),
        }
    }

    /// Where the partner team hears of what needs a person: the program's
    /// escalation address, and its Slack channel when one is configured.
    pub fn team_channels(&self) -> TeamChannels {
        TeamChannels {
            email: self.program.notify.escalation_email.clone(),
            slack: self.secrets.slack_webhook_url.is_some(),
        }
    }
}

/// The whole application as a router (tests and `serve` use the same one).
pub fn app(state: AppState) -> Router {
    api::router(&state)
        .merge(intake::router())
        .merge(web::router())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span each request is traced in: its method and its route template
/// (`/status/{token}`), never the path itself, which may carry a secret (a
/// status link, a sign-in link).
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(no route)", |path| path.as_str());
    tracing::debug_span!("request", method = %request.method(), route)
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Binds `addr` (port 0 picks a free port), starts the expiry sweep, and
/// serves until the process ends.
pub async fn start(
    state: AppState,
    addr: SocketAddr,
    sweep_every: Duration,
) -> std::io::Result<Running> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    sweep::spawn(state.clone(), sweep_every);
    tokio::spawn(web::warm_metrics(state.clone()));
    if let Some(link) = state.crm.clone() {
        crm::dispatch::spawn(state.clone(), link.clone());
        crm::inbound::spawn_poll(state.clone(), link);
    }
    let router = app(state);
    // The peer address feeds the open form's per-address rate limit.
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move { axum::serve(listener, service).await });
    Ok(Running { addr, task })
}
