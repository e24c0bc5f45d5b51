//! Dedupe through the API: every registration links to one account by
//! registrable domain or normalized name; near names are only suggested.

use reqwest::StatusCode;
use serde_json::json;
use trellis_testkit::{backends, lead_for, TestApp, ADMIN_TOKEN as ADMIN};

async fn register(app: &TestApp, body: serde_json::Value) -> serde_json::Value {
    let (status, created) = app.post("/api/v1/registrations", ADMIN, body).await;
    assert_eq!(status, StatusCode::CREATED, "{:?}: {created}", app.db);
    created
}

#[tokio::test]
async fn a_url_and_a_subdomain_email_reduce_to_one_registrable_domain() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (a, b) = (
            app.partner("A", "reseller").await,
            app.partner("B", "referral").await,
        );
        let mut first = lead_for(a, "Acme", "acme.co.uk");
        first["company_domain"] = "https://www.Acme.co.uk/x".into();
        let first = register(&app, first).await;
        assert_eq!(first["company_domain"], "acme.co.uk", "{db:?}");
        let mut second = lead_for(b, "Totally Different Name", "acme.co.uk");
        second
            .as_object_mut()
            .expect("object")
            .remove("company_domain");
        second["contact_email"] = "sales@eu.acme.co.uk".into();
        let second = register(&app, second).await;
        assert_eq!(
            second["account_id"], first["account_id"],
            "{db:?}: linked by the email's domain"
        );
    }
}

#[tokio::test]
async fn legal_forms_case_and_accents_do_not_split_an_account_but_free_mail_never_links() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partners = [
            app.partner("A", "reseller").await,
            app.partner("B", "service").await,
            app.partner("C", "isv").await,
        ];
        let mut ids = Vec::new();
        for (partner, name) in partners.iter().zip([
            "Müller & Söhne GmbH",
            "MULLER AND SOHNE",
            "Muller and Sohne Ltd.",
        ]) {
            let mut body = lead_for(*partner, name, "x.com");
            body.as_object_mut()
                .expect("object")
                .remove("company_domain");
            body["contact_email"] = "someone@gmail.com".into();
            let created = register(&app, body).await;
            assert_eq!(
                created["company_domain"],
                serde_json::Value::Null,
                "{db:?}: free mail is no company domain"
            );
            ids.push(created["account_id"].clone());
        }
        assert!(
            ids.windows(2).all(|w| w[0] == w[1]),
            "{db:?}: one account by name: {ids:?}"
        );
    }
}

#[tokio::test]
async fn a_near_name_is_a_possible_duplicate_never_a_merge() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (status, account) = app.post("/api/v1/accounts", ADMIN, json!({"company_name": "Northwind Logistics Inc", "company_domain": "northwind-logistics.com"})).await;
        assert_eq!(status, StatusCode::CREATED, "{db:?}: {account}");
        let partner = app.partner("P", "reseller").await;
        let created = register(
            &app,
            lead_for(partner, "Northwind Logistcs", "nwlogistics.net"),
        )
        .await;
        assert_ne!(created["account_id"], account["id"], "{db:?}: not merged");
        let dupes = created["possible_duplicates"].as_array().expect("list");
        assert_eq!(dupes.len(), 1, "{db:?}: {created}");
        assert_eq!(dupes[0]["account_id"], account["id"]);
        assert!(dupes[0]["score"].as_f64().unwrap_or_default() >= 0.88);

        let path =
            "/api/v1/accounts/match?company_name=Northwind%20Logistics%20GmbH&company_domain=";
        let (status, found) = app.get(path, ADMIN).await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {found}");
        assert_eq!(
            (found["linked"]["id"].clone(), found["matched_on"].as_str()),
            (account["id"].clone(), Some("name")),
            "{db:?}: {found}"
        );
        assert_eq!(found["name_key"], "northwind logistics");
        let (_, events) = app
            .get(
                &format!("/api/v1/registrations/{}/events", created["id"]),
                ADMIN,
            )
            .await;
        assert!(
            events[1]["why"]
                .as_str()
                .unwrap_or_default()
                .contains("similar account name"),
            "{db:?}: {events}"
        );
    }
}

#[tokio::test]
async fn the_same_partner_registering_an_account_again_gets_409_naming_the_case() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = app.partner("P", "reseller").await;
        let first = register(&app, lead_for(partner, "Stark Industries", "stark.com")).await;
        let (status, body) = app
            .post(
                "/api/v1/registrations",
                ADMIN,
                lead_for(partner, "Stark Industries LLC", "www.stark.com"),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(first["case_number"].as_str().unwrap_or("?")),
            "{db:?}: {detail}"
        );
        let (_, list) = app.get("/api/v1/registrations", ADMIN).await;
        assert_eq!(
            list["items"].as_array().map(Vec::len),
            Some(1),
            "{db:?}: nothing created"
        );

        let id = first["id"].as_i64().expect("id");
        app.post(
            &format!("/api/v1/registrations/{id}/decision"),
            ADMIN,
            json!({"decision": "decline", "reason": "dup"}),
        )
        .await;
        let (status, _) = app
            .post(
                "/api/v1/registrations",
                ADMIN,
                lead_for(partner, "Stark Industries", "stark.com"),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{db:?}: a closed claim no longer blocks"
        );
    }
}

#[tokio::test]
async fn the_account_page_lists_the_other_open_registrations() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (a, b) = (
            app.partner("A", "reseller").await,
            app.partner("B", "reseller").await,
        );
        let first = register(&app, lead_for(a, "Hooli", "hooli.com")).await;
        let second = register(&app, lead_for(b, "Hooli XYZ", "hooli.com")).await;
        let (_, detail) = app
            .get(&format!("/api/v1/registrations/{}", first["id"]), ADMIN)
            .await;
        let others = detail["other_registrations"].as_array().expect("others");
        assert_eq!(others.len(), 1, "{db:?}: {detail}");
        assert_eq!(others[0]["case_number"], second["case_number"]);
        assert_eq!(others[0]["partner_id"], b, "{db:?}: staff see who");
    }
}

#[tokio::test]
async fn import_of_known_accounts_is_seen_by_dedupe() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (status, body) = app
            .post(
                "/api/v1/accounts",
                ADMIN,
                json!({"company_name": "Initech", "company_domain": "initech.com"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{db:?}: {body}");
        let (status, dup) = app
            .post(
                "/api/v1/accounts",
                ADMIN,
                json!({"company_name": "Initech Corp.", "company_domain": ""}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}: {dup}");
        let (status, bad) = app
            .post(
                "/api/v1/accounts",
                ADMIN,
                json!({"company_name": "X", "company_domain": "not a domain"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}: {bad}");
        let (status, got) = app
            .get(&format!("/api/v1/accounts/{}", body["id"]), ADMIN)
            .await;
        assert_eq!(
            (status, got["domain"].as_str()),
            (StatusCode::OK, Some("initech.com")),
            "{db:?}"
        );
    }
}
