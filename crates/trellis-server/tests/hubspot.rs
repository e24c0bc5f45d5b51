//! HubSpot form submissions through `POST /webhooks/hubspot`, signed with
//! request signature v3 exactly as HubSpot signs them: base64 of
//! HMAC-SHA256(client secret, method + URI + body + timestamp).

use reqwest::StatusCode;
use serde_json::{json, Value};
use trellis_domain::program::Program;
use trellis_testkit::{backends, hubspot_v3, Db, TestApp, ADMIN_TOKEN};

const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
const PUBLIC: &str = "https://prm.vendor.example";

async fn app(db: Db) -> TestApp {
    TestApp::spawn_tuned(db, Program::default(), |state| {
        state.secrets.hubspot_client_secret = Some(SECRET.into());
        state.public_url = PUBLIC.into();
    })
    .await
}

fn sign(uri: &str, body: &str, timestamp: i64) -> String {
    hubspot_v3(SECRET, uri, body, timestamp)
}

async fn deliver(
    app: &TestApp,
    body: &str,
    signature: &str,
    timestamp: i64,
) -> (StatusCode, Value) {
    let signature = Some(signature.to_owned());
    app.post_hubspot("/webhooks/hubspot", body, SECRET, signature, timestamp)
        .await
}

/// The signature with its first character changed.
fn altered(mut signature: String) -> String {
    let first = if signature.starts_with('A') { "B" } else { "A" };
    signature.replace_range(0..1, first);
    signature
}

fn submission(partner: i64) -> String {
    json!({
        "company": "Initech GmbH", "website": "https://www.initech.de", "firstname": "Bill", "lastname": "Lumbergh",
        "email": "bill@initech.de", "message": "Needs TPS reporting", "LEGAL_CONSENT.processing": "true",
        "trellis_partner_id": partner.to_string(),
    })
    .to_string()
}

#[tokio::test]
async fn a_signed_form_submission_registers_for_the_hidden_partner() {
    for db in backends() {
        let app = app(db).await;
        let partner = app.partner("Northwind", "reseller").await;
        let body = submission(partner);
        let now = app.millis();
        let (status, answer) = deliver(
            &app,
            &body,
            &sign(&format!("{PUBLIC}/webhooks/hubspot"), &body, now),
            now,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {answer}");
        assert_eq!(
            answer["results"][0]["outcome"], "registered",
            "{db:?}: {answer}"
        );
        let signature = sign(&format!("{PUBLIC}/webhooks/hubspot"), &body, now);
        let (status, _) = deliver(&app, &body, &signature, now).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{db:?}: a replay is refused"
        );
        let (_, registration) = app.get("/api/v1/registrations/1", ADMIN_TOKEN).await;
        assert_eq!(
            (
                registration["channel"].as_str(),
                registration["partner_id"].as_i64()
            ),
            (Some("hubspot"), Some(partner)),
            "{db:?}"
        );
        assert_eq!(
            (
                registration["company_domain"].as_str(),
                registration["contact_name"].as_str()
            ),
            (Some("initech.de"), Some("Bill Lumbergh"))
        );

        let unknown = submission(999);
        let (status, answer) = deliver(
            &app,
            &unknown,
            &sign(&format!("{PUBLIC}/webhooks/hubspot"), &unknown, now),
            now,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{db:?}: refused, answered, not retried"
        );
        assert_eq!(
            answer["results"][0]["outcome"], "refused",
            "{db:?}: {answer}"
        );
    }
}

#[tokio::test]
async fn forged_stale_or_misdirected_signatures_get_401_and_create_nothing() {
    let app = app(Db::Sqlite).await;
    let partner = app.partner("Northwind", "reseller").await;
    let body = submission(partner);
    let now = app.millis();
    let uri = format!("{PUBLIC}/webhooks/hubspot");
    let stale = now - 5 * 60 * 1000 - 1;
    for (signature, timestamp, why) in [
        (altered(sign(&uri, &body, now)), now, "altered signature"),
        (sign(&uri, &body, stale), stale, "older than five minutes"),
        (
            sign("https://elsewhere.example/webhooks/hubspot", &body, now),
            now,
            "signed for another URI",
        ),
        (
            sign(&uri, &body.replace("Initech", "Initrode"), now),
            now,
            "signed another body",
        ),
    ] {
        let (status, answer) = deliver(&app, &body, &signature, timestamp).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{why}: {signature} {answer}"
        );
    }
    let (_, list) = app.get("/api/v1/registrations", ADMIN_TOKEN).await;
    assert_eq!(list["items"], json!([]));
}
