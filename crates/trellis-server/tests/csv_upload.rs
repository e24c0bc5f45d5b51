//! CSV bulk upload through `POST /api/v1/intake/csv`, with the odd files
//! partners really send kept as fixtures.

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};
use trellis_testkit::{backends, lead_for, Db, TestApp, ADMIN_TOKEN};

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn intake_fixture(name: &str) -> Vec<u8> {
    fixture(&format!("../trellis-intake/tests/fixtures/csv/{name}"))
}

async fn upload(app: &TestApp, partner: i64, bytes: Vec<u8>, accept: &str) -> (StatusCode, String) {
    let form = Form::new().part("file", Part::bytes(bytes).file_name("registrations.csv"));
    let response = app
        .http
        .post(format!(
            "{}/api/v1/intake/csv?partner_id={partner}",
            app.base
        ))
        .bearer_auth(ADMIN_TOKEN)
        .header("accept", accept)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    (response.status(), response.text().await.expect("body"))
}

async fn count(app: &TestApp) -> usize {
    let (_, list) = app
        .get("/api/v1/registrations?limit=500", ADMIN_TOKEN)
        .await;
    list["items"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn every_row_gets_a_result_and_bad_rows_never_stop_good_ones() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = app.partner("Northwind", "reseller").await;
        let (status, _) = app
            .post(
                "/api/v1/registrations",
                ADMIN_TOKEN,
                lead_for(partner, "Globex", "globex.de"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);

        let (status, body) = upload(
            &app,
            partner,
            fixture("tests/fixtures/csv/mixed.csv"),
            "application/json",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {body}");
        let report: Value = serde_json::from_str(&body).expect("json");
        let rows: Vec<(i64, String)> = report["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                (
                    r["row"].as_i64().unwrap_or(0),
                    r["status"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let expected = [
            (2, "registered"),
            (3, "duplicate"),
            (4, "duplicate"),
            (5, "invalid"),
            (6, "registered"),
            (7, "invalid"),
            (8, "invalid"),
        ];
        assert_eq!(
            rows,
            expected.map(|(n, s)| (n, s.to_owned())),
            "{db:?}: {body}"
        );
        assert!(
            report["rows"][1]["reason"]
                .as_str()
                .unwrap_or("")
                .contains("REG-000001"),
            "{db:?}: already held: {body}"
        );
        assert!(
            report["rows"][2]["reason"]
                .as_str()
                .unwrap_or("")
                .contains("row 2"),
            "{db:?}: in-file repeat: {body}"
        );
        assert!(
            report["rows"][3]["reason"]
                .as_str()
                .unwrap_or("")
                .contains("contact_email"),
            "{db:?}: {body}"
        );
        assert_eq!(report["summary"]["registered"], 2);
        assert_eq!(count(&app).await, 3, "{db:?}");
        let (_, hooli) = app.get("/api/v1/registrations/3", ADMIN_TOKEN).await;
        assert_eq!(
            (hooli["company_name"].as_str(), hooli["channel"].as_str()),
            (Some("<b>Hooli</b>"), Some("csv")),
            "{db:?}"
        );
        assert_eq!(hooli["use_case"], "Multi\r\nline note");
    }
}

#[tokio::test]
async fn the_answer_comes_as_csv_when_asked() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let partner = app.partner("Northwind", "reseller").await;
    let (status, body) = upload(
        &app,
        partner,
        intake_fixture("utf8_bom_crlf.csv"),
        "text/csv",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut lines = body.lines();
    assert_eq!(lines.next(), Some("row,status,case_number,reason"));
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("2,registered,REG-000001")),
        "{body}"
    );
}

#[tokio::test]
async fn files_that_cannot_be_read_safely_are_refused_whole() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let partner = app.partner("Northwind", "reseller").await;
    for (file, expected) in [
        ("latin1.csv", "UTF-8"),
        ("workbook.xlsx", "Excel"),
        ("missing_column.csv", "no column for"),
        ("duplicate_headers.csv", "mean the same thing"),
        ("page.html", "HTML"),
        ("unclosed_quote.csv", "never closed"),
    ] {
        let (status, body) = upload(&app, partner, intake_fixture(file), "application/json").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{file}: {body}");
        assert!(body.contains(expected), "{file}: {body}");
    }
    let (status, _) = upload(
        &app,
        partner,
        intake_fixture("utf16le_bom.csv"),
        "application/json",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "UTF-16 is decoded");
    let registered = count(&app).await;
    let huge = vec![b'a'; 40 * 1024 * 1024];
    let (status, _) = upload(&app, partner, huge, "application/json").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        count(&app).await,
        registered,
        "nothing imported from refused files"
    );
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/intake/csv",
            Some(ADMIN_TOKEN),
            Some(json!({})),
        )
        .await;
    assert!(status.is_client_error(), "{body}");
}
