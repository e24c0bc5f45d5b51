//! The fake HubSpot's own contract, spoken to in plain HTTP: the parts a
//! well-behaved client never provokes (oversized batches, missing required
//! properties, a wrong token, a search past its cap).

use std::time::Duration;

use serde_json::{json, Value};
use trellis_fakes::hubspot::{FakeHubSpot, HubSpotOptions};

struct Api {
    fake: FakeHubSpot,
    http: reqwest::Client,
}

impl Api {
    async fn start(options: HubSpotOptions) -> Api {
        Api {
            fake: FakeHubSpot::start(options).await,
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
        let request = self
            .http
            .post(format!("{}{path}", self.fake.base_url()))
            .json(&body);
        self.send(request.bearer_auth(HubSpotOptions::default().token))
            .await
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let response = request.send().await.expect("the fake answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.json().await.expect("a JSON body"))
    }
}

fn deal(id: &str, properties: Value) -> Value {
    json!({ "idProperty": "trellis_registration_id", "id": id, "properties": properties })
}

fn new_deal(id: &str) -> Value {
    deal(
        id,
        json!({ "dealname": id, "pipeline": "default", "dealstage": "appointmentscheduled" }),
    )
}

const UPSERT: &str = "/crm/v3/objects/deals/batch/upsert";

#[tokio::test]
async fn a_wrong_token_gets_hubspots_401() {
    let api = Api::start(HubSpotOptions::default()).await;
    let url = format!("{}/crm/v3/properties/deals", api.fake.base_url());
    let (status, _, body) = api.send(api.http.get(url).bearer_auth("nope")).await;
    assert_eq!(status, 401);
    assert_eq!(body["status"], "error");
    assert_eq!(body["category"], "INVALID_AUTHENTICATION");
    assert!(body["correlationId"].is_string());
}

#[tokio::test]
async fn upserts_create_then_update_by_unique_property() {
    let api = Api::start(HubSpotOptions::default()).await;
    let (status, _, created) = api
        .post(UPSERT, json!({ "inputs": [new_deal("r-1")] }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(created["results"][0]["new"], true);
    let update = deal("r-1", json!({ "amount": "10.00" }));
    let (status, _, updated) = api.post(UPSERT, json!({ "inputs": [update] })).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["results"][0]["new"], false);
    assert_eq!(updated["results"][0]["id"], created["results"][0]["id"]);
    assert_eq!(
        updated["results"][0]["properties"]["dealstage"],
        "appointmentscheduled"
    );
    assert_eq!((api.fake.created(), api.fake.updated()), (1, 1));
}

#[tokio::test]
async fn refused_batches_are_refused_whole_in_hubspots_shape() {
    let api = Api::start(HubSpotOptions::default()).await;
    let too_many: Vec<Value> = (0..101).map(|n| new_deal(&format!("r-{n}"))).collect();
    let (status, _, body) = api.post(UPSERT, json!({ "inputs": too_many })).await;
    assert_eq!(
        (status, body["category"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );

    let no_stage = deal("r-2", json!({ "dealname": "x", "pipeline": "default" }));
    let (status, _, body) = api
        .post(UPSERT, json!({ "inputs": [new_deal("r-1"), no_stage] }))
        .await;
    assert_eq!(status, 400);
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Property values were not valid: "),
        "{message}"
    );
    assert!(message.contains("dealstage"), "{message}");
    assert_eq!(body["errors"][0]["context"]["propertyName"][0], "dealstage");

    let unknown = deal("r-3", json!({ "colour": "blue" }));
    let (_, _, body) = api.post(UPSERT, json!({ "inputs": [unknown] })).await;
    assert_eq!(body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");
    assert!(
        api.fake.records("deals").is_empty(),
        "nothing of a refused batch is applied"
    );
}

#[tokio::test]
async fn search_pages_by_modification_within_its_cap() {
    let api = Api::start(HubSpotOptions::default()).await;
    let inputs: Vec<Value> = (0..5).map(|n| new_deal(&format!("r-{n}"))).collect();
    api.post(UPSERT, json!({ "inputs": inputs })).await;
    let search = |after: &str| {
        json!({
            "filterGroups": [{ "filters": [{ "propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "0" }] }],
            "sorts": [{ "propertyName": "hs_lastmodifieddate", "direction": "ASCENDING" }],
            "properties": ["dealstage"],
            "limit": 2,
            "after": after,
        })
    };
    let path = "/crm/v3/objects/deals/search";
    let (status, headers, page) = api.post(path, search("2")).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 5);
    assert_eq!(page["results"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["paging"]["next"]["after"], "4");
    assert!(headers.get("x-hubspot-ratelimit-remaining").is_none());
    let (status, _, _) = api.post(path, search("9999")).await;
    assert_eq!(status, 400, "past 10,000 results");
}

#[tokio::test]
async fn past_the_rate_limit_comes_a_429() {
    let api =
        Api::start(HubSpotOptions::default().with_rate_limit(2, Duration::from_secs(10))).await;
    let url = format!("{}/crm/v3/properties/deals", api.fake.base_url());
    let get = || {
        api.http
            .get(&url)
            .bearer_auth(HubSpotOptions::default().token)
    };
    let (_, headers, _) = api.send(get()).await;
    assert_eq!(headers["x-hubspot-ratelimit-remaining"], "1");
    assert_eq!(
        headers["x-hubspot-ratelimit-interval-milliseconds"],
        "10000"
    );
    api.send(get()).await;
    let (status, _, body) = api.send(get()).await;
    assert_eq!(status, 429);
    assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(api.fake.rate_limited(), 1);
}
