//! `/api/v1/partners`: the partners in the program, their users and tokens,
//! and how each hears of its registrations. A partner's Slack webhook URL
//! is write-only: answers say whether one is set and show a hint.

use super::json::{parse, Json, Query};
use super::registrations::page_limit;
use super::views::Page;
use crate::auth::{Admin, Caller, Staff};
use crate::input::Checker;
use crate::problem::{ApiError, ApiResult};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Deserializer, Serialize};
use trellis_domain::channels::{NotifyVia, SlackWebhook};
use trellis_domain::dedupe::{Email, WebDomain};
use trellis_domain::ids::PartnerId;
use trellis_domain::partner::{Partner, PartnerKind};
use trellis_domain::values::Text;
use trellis_store::{NewPartner, PartnerChannels, PartnerUser, Role};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerRequest {
    name: String,
    /// reseller | referral | service | isv
    kind: String,
    /// A tier id of the program; the lowest tier when left out.
    tier: Option<String>,
    #[serde(default)]
    email_domains: Vec<String>,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    segments: Vec<String>,
    /// How its people hear of their registrations: email | slack | both;
    /// email when left out.
    notify_via: Option<String>,
    /// The partner's Slack incoming-webhook URL (https); needed for slack
    /// or both. Never shown again whole.
    slack_webhook_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PartnerView {
    id: i64,
    name: String,
    kind: String,
    tier: String,
    email_domains: Vec<String>,
    regions: Vec<String>,
    segments: Vec<String>,
    /// email | slack | both
    notify_via: String,
    slack_webhook: SlackWebhookView,
}

/// Whether a Slack webhook is set, and enough to recognise it by: anyone
/// holding the URL can post to the partner's channel, so it is never shown.
#[derive(Serialize, ToSchema)]
pub struct SlackWebhookView {
    configured: bool,
    /// `…/T000/B000/…XXXX`: the path before the secret and its last four
    /// characters.
    hint: Option<String>,
}

impl PartnerView {
    fn new(p: Partner, channels: &PartnerChannels) -> Self {
        PartnerView {
            id: p.id.0,
            name: p.name,
            kind: p.kind.as_str().into(),
            tier: p.tier,
            email_domains: p.email_domains,
            regions: p.regions,
            segments: p.segments,
            notify_via: channels.notify_via.as_str().into(),
            slack_webhook: SlackWebhookView {
                configured: channels.slack_webhook.is_some(),
                hint: channels.slack_webhook.as_ref().map(SlackWebhook::hint),
            },
        }
    }
}

/// A change to how a partner hears of its registrations; a key left out
/// keeps its value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelsRequest {
    /// email | slack | both
    notify_via: Option<String>,
    /// The partner's Slack incoming-webhook URL (https); `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    slack_webhook_url: Option<Option<String>>,
}

/// Tells a key sent as `null` (`Some(None)`: remove) from one left out
/// (`None`: keep).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `current` with the requested changes, checking that a partner hearing
/// by Slack has a webhook to hear on; every problem is recorded in `c`.
fn merge_channels(
    c: &mut Checker,
    current: PartnerChannels,
    notify_via: Option<&str>,
    slack_webhook_url: Option<Option<&str>>,
) -> Option<PartnerChannels> {
    let notify_via = match notify_via {
        Some(text) => c.parsed("notify_via", NotifyVia::parse(text)),
        None => Some(current.notify_via),
    };
    let slack_webhook = match slack_webhook_url {
        Some(Some(url)) => c
            .parsed("slack_webhook_url", SlackWebhook::parse(url))
            .map(Some),
        Some(None) => Some(None),
        None => Some(current.slack_webhook),
    };
    let (notify_via, slack_webhook) = (notify_via?, slack_webhook?);
    if notify_via.by_slack() && slack_webhook.is_none() {
        c.fail(
            "slack_webhook_url",
            format!(
                "is needed when notify_via is {}: give the partner's Slack incoming-webhook URL, \
                 or choose notify_via email",
                notify_via.as_str()
            ),
        );
        return None;
    }
    Some(PartnerChannels {
        notify_via,
        slack_webhook,
    })
}

impl PartnerRequest {
    fn validate(self, state: &AppState) -> ApiResult<(NewPartner, PartnerChannels)> {
        let mut c = Checker::default();
        let name = c.check("name", Text::parse("name", &self.name));
        let kind = PartnerKind::parse(&self.kind);
        if kind.is_none() {
            c.fail(
                "kind",
                format!(
                    "'{}' is not a partner kind: use reseller, referral, service or isv",
                    self.kind
                ),
            );
        }
        let tier = self
            .tier
            .unwrap_or_else(|| state.program.lowest_tier().id.clone());
        let tier = c.tier("tier", &state.program, &tier);
        let domains: Vec<_> = self
            .email_domains
            .iter()
            .filter_map(|d| {
                c.value("email_domains", WebDomain::parse(d))
                    .map(|d| d.as_str().to_owned())
            })
            .collect();
        let channels = merge_channels(
            &mut c,
            PartnerChannels::default(),
            self.notify_via.as_deref(),
            self.slack_webhook_url.as_deref().map(Some),
        );
        c.finish(|| {
            let partner = NewPartner {
                name: name?.into_string(),
                kind: kind?,
                tier: tier?,
                email_domains: domains,
                regions: self.regions,
                segments: self.segments,
            };
            Some((partner, channels?))
        })
    }
}

/// Add a partner to the program (staff).
#[utoipa::path(post, path = "/api/v1/partners", tag = "partners", request_body = PartnerRequest,
    responses((status = 201, body = PartnerView), (status = 422, body = crate::problem::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Json(r): Json<PartnerRequest>,
) -> ApiResult<(StatusCode, Json<PartnerView>)> {
    let (new, channels) = r.validate(&state)?;
    let partner = state
        .store
        .create_partner_with(&new, &channels, &staff.actor(), state.clock.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PartnerView::new(partner, &channels)),
    ))
}

/// Change how a partner hears of its registrations (staff): `notify_via`,
/// and its Slack webhook URL (`null` removes it).
#[utoipa::path(patch, path = "/api/v1/partners/{id}", tag = "partners", request_body = ChannelsRequest,
    responses((status = 200, body = PartnerView), (status = 404, body = crate::problem::Problem),
        (status = 422, body = crate::problem::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<i64>,
    Json(r): Json<ChannelsRequest>,
) -> ApiResult<Json<PartnerView>> {
    let id = PartnerId(id);
    let partner = state.store.partner(id).await?;
    let current = state.store.partner_channels(id).await?;
    let mut c = Checker::default();
    let hook = r.slack_webhook_url.as_ref().map(Option::as_deref);
    let channels = merge_channels(&mut c, current, r.notify_via.as_deref(), hook);
    let channels = c.finish(|| channels)?;
    state
        .store
        .set_partner_channels(id, &channels, &staff.actor(), state.clock.now())
        .await?;
    Ok(Json(PartnerView::new(partner, &channels)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

/// List partners (a partner token sees only itself).
#[utoipa::path(get, path = "/api/v1/partners", tag = "partners", params(PageQuery), responses((status = 200, body = Page<PartnerView>)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<PartnerView>>> {
    let limit = page_limit(q.limit)?;
    let partners = match caller.0.partner_scope() {
        Some(own) => vec![with_channels(&state, own).await?],
        None => {
            let after = q.after.unwrap_or(0);
            state.store.partners_with_channels(after, limit).await?
        }
    };
    let views = partners
        .into_iter()
        .map(|(partner, channels)| PartnerView::new(partner, &channels))
        .collect();
    Ok(Json(Page::new(views, limit, |p: &PartnerView| p.id)))
}

/// One partner.
#[utoipa::path(get, path = "/api/v1/partners/{id}", tag = "partners",
    responses((status = 200, body = PartnerView), (status = 404, body = crate::problem::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<PartnerView>> {
    caller.may_see(PartnerId(id))?;
    let (partner, channels) = with_channels(&state, PartnerId(id)).await?;
    Ok(Json(PartnerView::new(partner, &channels)))
}

async fn with_channels(state: &AppState, id: PartnerId) -> ApiResult<(Partner, PartnerChannels)> {
    let partner = state.store.partner(id).await?;
    Ok((partner, state.store.partner_channels(id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    name: String,
    email: String,
}

/// Add a person to a partner (staff).
#[utoipa::path(post, path = "/api/v1/partners/{id}/users", tag = "partners", request_body = UserRequest,
    responses((status = 201, body = serde_json::Value), (status = 409, body = crate::problem::Problem)))]
pub async fn add_user(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<i64>,
    Json(r): Json<UserRequest>,
) -> ApiResult<(StatusCode, Json<PartnerUser>)> {
    let mut c = Checker::default();
    let name = c.check("name", Text::parse("name", &r.name));
    let email = c.value("email", Email::parse(&r.email));
    let (name, email) = c.finish(|| Some((name?, email?)))?;
    let user = state
        .store
        .add_partner_user(
            PartnerId(id),
            name.as_str(),
            &email,
            &staff.actor(),
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token is for, e.g. "CRM integration".
    label: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    id: i64,
    partner_id: i64,
    /// Shown once; only its hash is stored.
    token: String,
}

/// Create a partner-scoped token (admin). The secret is shown only here.
#[utoipa::path(post, path = "/api/v1/partners/{id}/tokens", tag = "partners", request_body = TokenRequest,
    responses((status = 201, body = TokenView), (status = 404, body = crate::problem::Problem)))]
pub async fn create_token(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<TokenView>)> {
    // The body is optional: an empty one takes the default label.
    let request: Option<TokenRequest> = if body.is_empty() {
        None
    } else {
        Some(parse(&headers, &body)?)
    };
    let partner = state.store.partner(PartnerId(id)).await?;
    let label = request
        .and_then(|r| r.label)
        .unwrap_or_else(|| format!("{} API token", partner.name));
    if label.chars().count() > 200 {
        return Err(ApiError::invalid("label", "must be at most 200 characters"));
    }
    let secret = crate::tokens::new_secret();
    let token_id = state
        .store
        .create_token(
            &secret,
            Role::Partner,
            Some(partner.id),
            &label,
            state.clock.now(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenView {
            id: token_id,
            partner_id: partner.id.0,
            token: secret,
        }),
    ))
}
