//! The REST API under `/api/v1`. Routes and their OpenAPI description are
//! declared together (utoipa-axum), so the document cannot drift from code.

mod accounts;
mod conflicts;
mod events;
mod intake;
mod json;
mod partners;
mod registrations;
mod reviews;
mod system;
mod tiers;
mod views;

pub(crate) use conflicts::resolution;
pub(crate) use registrations::decision;
pub(crate) use reviews::{adjustment, decision as appeal_decision, quarter};
pub(crate) use tiers::benefits_of;

use crate::AppState;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Trellis API", description = "Partner relationship management: partners, accounts, lead and deal registration, channel conflicts, tiers."),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(partners::create, partners::list))
        .routes(routes!(partners::get, partners::update))
        .routes(routes!(partners::add_user))
        .routes(routes!(partners::create_token))
        .routes(routes!(registrations::create, registrations::list))
        .routes(routes!(registrations::get))
        .routes(routes!(registrations::events))
        .routes(routes!(registrations::decide))
        .routes(routes!(registrations::provide_info))
        .routes(routes!(registrations::log_meeting))
        .routes(routes!(registrations::close))
        .routes(routes!(accounts::create))
        .routes(routes!(accounts::matching))
        .routes(routes!(accounts::get))
        .routes(routes!(conflicts::list))
        .routes(routes!(conflicts::resolve))
        .routes(routes!(tiers::record, tiers::list))
        .routes(routes!(tiers::scorecard))
        .routes(routes!(tiers::benefits))
        .routes(routes!(tiers::events))
        .routes(routes!(reviews::create))
        .routes(routes!(reviews::simulate))
        .routes(routes!(reviews::get))
        .routes(routes!(reviews::publish))
        .routes(routes!(reviews::adjust))
        .routes(routes!(reviews::appeal))
        .routes(routes!(reviews::decide))
        .routes(routes!(reviews::exception))
        .routes(routes!(events::dead_letter))
        .routes(routes!(events::retry))
        .routes(routes!(events::crm_status))
        .routes(with_limit(routes!(intake::csv), intake::CSV_LIMIT))
        .routes(with_limit(
            routes!(intake::email),
            trellis_intake::email::MAX_MESSAGE_BYTES,
        ))
}

/// A route that reads bodies larger than the default limit (uploads).
fn with_limit(
    (schemas, paths, router): UtoipaMethodRouter<AppState>,
    limit: usize,
) -> UtoipaMethodRouter<AppState> {
    (
        schemas,
        paths,
        router.layer(axum::extract::DefaultBodyLimit::max(limit)),
    )
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

pub fn router(state: &AppState) -> Router<AppState> {
    let (router, doc) = api_routes().split_for_parts();
    let doc = serde_json::to_value(&doc).unwrap_or_default();
    let mut router = router.merge(system::router(doc));
    if state.clock.is_test() {
        router = router.merge(system::test_clock_router());
    }
    router
}
