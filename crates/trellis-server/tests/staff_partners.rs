//! The staff workspace's partner pages on every backend: the partners list
//! with progress and filters, a partner's page, tier mobility, and the
//! quarterly review from start to publication, with the refusals that
//! change nothing. Measurements go in through the REST API; the clock
//! starts on 2026-01-05, so the rolling window is 2025-Q1 to 2025-Q4.

use reqwest::StatusCode;
use serde_json::{json, Value};
use trellis_domain::program::Program;
use trellis_store::Role;
use trellis_testkit::web::{location, Visitor};
use trellis_testkit::{backends, TestApp, ADMIN_TOKEN as ADMIN};

/// Revenue for resellers, joint customers for ISVs, certified people for all.
const PROGRAM: &str = include_str!("fixtures/tier_program.toml");

async fn app(db: trellis_testkit::Db) -> TestApp {
    let program = Program::parse(PROGRAM).expect("test program").program;
    TestApp::spawn_with(db, program).await
}

async fn partner_at(app: &TestApp, name: &str, kind: &str, tier: &str, region: &str) -> i64 {
    let body = json!({"name": name, "kind": kind, "tier": tier, "regions": [region]});
    let (status, body) = app.post("/api/v1/partners", ADMIN, body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().expect("id")
}

async fn metric(app: &TestApp, partner: i64, body: Value) {
    let path = format!("/api/v1/partners/{partner}/metrics");
    let (status, body) = app.post(&path, ADMIN, body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn revenue(app: &TestApp, partner: i64, amount: i64) {
    let source = format!("inv-{partner}-{amount}");
    let body = json!({"metric": "revenue", "value": amount, "occurred_at": "2025-06-01T00:00:00Z", "source_id": source});
    metric(app, partner, body).await;
}

async fn certify(app: &TestApp, partner: i64, person: &str) {
    let body = json!({"metric": "certification", "value": 1, "occurred_at": "2025-03-01T00:00:00Z",
        "source_id": format!("cert-{partner}-{person}"), "item": person,
        "evidence_url": format!("https://training.example/certificates/{person}")});
    metric(app, partner, body).await;
}

/// The demo cast: Northwind three quarters of the way to Select, Contoso an
/// ISV at Select, Fabrikam a narrow miss of Select, Litware a wide one.
struct Cast {
    northwind: i64,
    contoso: i64,
    fabrikam: i64,
    litware: i64,
}

async fn cast(app: &TestApp) -> Cast {
    let northwind = partner_at(app, "Northwind", "reseller", "registered", "emea").await;
    revenue(app, northwind, 120_000).await;
    certify(app, northwind, "ana").await;
    app.register(northwind, "Globex", "globex.com").await;
    let contoso = partner_at(app, "Contoso", "isv", "select", "amer").await;
    let fabrikam = partner_at(app, "Fabrikam", "reseller", "select", "emea").await;
    revenue(app, fabrikam, 95_000).await;
    certify(app, fabrikam, "cleo").await;
    certify(app, fabrikam, "dan").await;
    let litware = partner_at(app, "Litware", "reseller", "select", "apac").await;
    revenue(app, litware, 40_000).await;
    Cast {
        northwind,
        contoso,
        fabrikam,
        litware,
    }
}

/// The table row of the partners list naming `name`, or None.
fn list_row<'h>(html: &'h str, name: &str) -> Option<&'h str> {
    let at = html.find(&format!(">{name}</a>"))?;
    let end = html[at..].find("</tr>")? + at;
    Some(&html[at..end])
}

#[tokio::test]
async fn the_partners_list_shows_tiers_progress_and_open_registrations_and_filters() {
    for db in backends() {
        let app = app(db).await;
        let c = cast(&app).await;
        let staff = app.staff_visitor(Role::Manager).await;
        let (status, html) = staff.page("/staff/partners").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let order: Vec<usize> = ["Contoso", "Fabrikam", "Litware", "Northwind"]
            .iter()
            .map(|name| html.find(&format!(">{name}</a>")).expect(name))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "sorted by name");
        let northwind = list_row(&html, "Northwind").expect("Northwind");
        assert!(northwind.contains("value=\"75\""), "{northwind}");
        assert!(northwind.contains("75% to Select"), "{northwind}");
        assert!(northwind.contains("emea") && northwind.contains("reseller"));
        assert!(
            northwind.contains("<td class=\"num\">1</td>"),
            "{northwind}"
        );
        let contoso = list_row(&html, "Contoso").expect("Contoso");
        assert!(contoso.contains("Select") && contoso.contains("0% to Elite"));
        assert!(html.contains(&format!("/staff/partners/{}", c.contoso)));

        let (_, select) = staff.page("/staff/partners?tier=select").await;
        assert!(list_row(&select, "Northwind").is_none());
        assert!(list_row(&select, "Fabrikam").is_some() && list_row(&select, "Contoso").is_some());
        let (_, isv) = staff.page("/staff/partners?kind=isv").await;
        assert!(list_row(&isv, "Contoso").is_some() && list_row(&isv, "Litware").is_none());
        let (_, emea) = staff.page("/staff/partners?region=emea&kind=").await;
        assert!(list_row(&emea, "Northwind").is_some() && list_row(&emea, "Fabrikam").is_some());
        assert!(list_row(&emea, "Litware").is_none(), "{db:?}");
        assert!(emea.contains("3 partners match") || emea.contains("2 partners match"));
        let _ = (c.northwind, c.fabrikam, c.litware);
    }
}

#[tokio::test]
async fn a_partner_page_shows_its_scorecard_evidence_registrations_and_history() {
    for db in backends() {
        let app = app(db).await;
        let c = cast(&app).await;
        let staff = app.staff_visitor(Role::Manager).await;
        let (status, html) = staff
            .page(&format!("/staff/partners/{}", c.northwind))
            .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("75% of the way to Select"), "{html}");
        assert!(html.contains("Partner revenue") && html.contains("Certified people"));
        assert!(
            html.contains("1 of 2") && html.contains("Missing"),
            "{html}"
        );
        assert!(html.contains("2025-Q1 to 2025-Q4"), "the window: {html}");
        assert!(html.contains("https://training.example/certificates/ana"));
        assert!(html.contains("/staff/registrations/REG-"), "{html}");
        assert!(html.contains("Globex"));
        assert!(
            html.contains("of the way to select"),
            "the nudge in the history: {html}"
        );
        assert!(html.contains("joined the program"), "{html}");

        let (status, _) = staff.page("/staff/partners/999999").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{db:?}");
    }
}

#[tokio::test]
async fn tier_mobility_lists_partners_near_an_upgrade_at_risk_and_in_grace() {
    for db in backends() {
        let app = app(db).await;
        let c = cast(&app).await;
        let staff = app.staff_visitor(Role::Manager).await;
        let (status, html) = staff.page("/staff/tiers").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let near = section(&html, "near-heading");
        assert!(near.contains("Northwind") && near.contains("75%"), "{near}");
        assert!(near.contains("Certified people: 1 of 2"), "why: {near}");
        assert!(!near.contains("Litware"), "{near}");
        let risk = section(&html, "risk-heading");
        assert!(risk.contains("review of 2025-Q4"), "{risk}");
        assert!(
            risk.contains("Fabrikam") && risk.contains("(grace)"),
            "{risk}"
        );
        assert!(
            risk.contains("Litware") && risk.contains("(downgrade)"),
            "{risk}"
        );
        assert!(
            risk.contains("grace margin"),
            "the engine's reasons: {risk}"
        );
        assert!(section(&html, "grace-heading").contains("None."));

        let (status, review) = app
            .post("/api/v1/reviews", ADMIN, json!({"quarter": "2025-Q4"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{review}");
        let path = format!("/api/v1/reviews/{}/publish", review["id"]);
        assert_eq!(app.post(&path, ADMIN, json!({})).await.0, StatusCode::OK);
        let (_, html) = staff.page("/staff/tiers").await;
        let grace = section(&html, "grace-heading");
        assert!(grace.contains("Fabrikam"), "{db:?}: {grace}");
        assert!(grace.contains("ends on 2026-04-01"), "{grace}");
        assert!(
            grace.contains("Reach 100000 on Partner revenue"),
            "the plan: {grace}"
        );
        assert!(grace.contains(&format!("/staff/partners/{}", c.fabrikam)));
        assert!(section(&html, "risk-heading").contains("review of 2026-Q1"));
        let _ = (c.contoso, c.litware, c.northwind);
    }
}

/// The part of a page from the heading with `id` to the end of its section.
fn section<'h>(html: &'h str, id: &str) -> &'h str {
    let start = html.find(&format!("id=\"{id}\"")).expect(id);
    let end = html[start..].find("</section>").expect("section end") + start;
    &html[start..end]
}

#[tokio::test]
async fn a_review_is_started_adjusted_and_published_from_the_pages() {
    for db in backends() {
        let app = app(db).await;
        let c = cast(&app).await;
        let staff = app.staff_visitor(Role::Manager).await;
        let (_, html) = staff.page("/staff/reviews").await;
        assert!(
            html.contains("value=\"2025-Q4\""),
            "the last complete quarter"
        );
        for (quarter, says) in [("2025-Q5", "Quarter"), ("2026-Q1", "has not ended")] {
            let refused = staff.post("/staff/reviews", &[("quarter", quarter)]).await;
            assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let html = refused.text().await.expect("html");
            assert!(
                html.contains(says) && html.contains("Nothing was changed"),
                "{html}"
            );
        }
        let forged = staff
            .post_with_csrf("/staff/reviews", "forged", &[("quarter", "2025-Q4")])
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert!(app
            .store
            .review_summaries(i64::MAX, 10)
            .await
            .expect("reviews")
            .is_empty());

        let started = staff
            .post("/staff/reviews", &[("quarter", "2025-Q4")])
            .await;
        assert_eq!(started.status(), StatusCode::SEE_OTHER);
        let at = location(&started).to_owned();
        let id: i64 = at
            .trim_start_matches("/staff/reviews/")
            .parse()
            .expect("id");
        let (_, html) = staff.page(&at).await;
        assert!(
            html.contains("Litware") && html.contains("downgrade"),
            "{html}"
        );
        assert!(html.contains("Publish the review of 2025-Q4"));

        let adjust = format!("/staff/reviews/{id}/proposals/{}", c.litware);
        let keep = [("proposed_tier", "select"), ("action", "hold")];
        let no_reason = staff
            .post(&adjust, &[keep[0], keep[1], ("reason", "  ")])
            .await;
        assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(no_reason.text().await.expect("html").contains("Reason"));
        let forged = staff
            .post_with_csrf(
                &adjust,
                "forged",
                &[keep[0], keep[1], ("reason", "A big deal slipped")],
            )
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let draft = app.store.review(id).await.expect("review");
        let litware = draft
            .proposals
            .iter()
            .find(|p| p.partner_id.0 == c.litware)
            .expect("p");
        assert_eq!(litware.proposal.proposed_tier, "registered", "unchanged");

        let reason = ("reason", "A signed 300k deal closed two days late");
        let adjusted = staff.post(&adjust, &[keep[0], keep[1], reason]).await;
        assert_eq!(adjusted.status(), StatusCode::SEE_OTHER);
        let draft = app.store.review(id).await.expect("review");
        let litware = draft
            .proposals
            .iter()
            .find(|p| p.partner_id.0 == c.litware)
            .expect("p");
        assert_eq!(litware.proposal.proposed_tier, "select");
        assert_eq!(litware.adjusted_reason.as_deref(), Some(reason.1));

        let publish = format!("/staff/reviews/{id}/publish");
        staff.page(&at).await;
        let forged = staff.post_with_csrf(&publish, "forged", &[]).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.store.review(id).await.expect("review").status, "draft");
        assert_eq!(
            staff.post(&publish, &[]).await.status(),
            StatusCode::SEE_OTHER
        );
        let (_, html) = staff.page(&at).await;
        assert!(html.contains("was published on 2026-01-05"), "{html}");
        assert!(!html.contains("Adjust this proposal") && !html.contains("Publish the review"));
        let again = staff.post(&publish, &[]).await;
        assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY, "{db:?}");

        let reviewed = app.store.events_of_kind("reviewed").await.expect("events");
        assert_eq!(reviewed.len(), 4);
        assert!(
            reviewed.iter().all(|e| e.actor.starts_with("staff-user:")),
            "{reviewed:?}"
        );
        let (_, tier) = app
            .get(&format!("/api/v1/partners/{}", c.litware), ADMIN)
            .await;
        assert_eq!(tier["tier"], "select", "the adjustment was applied");
        let (_, list) = staff.page("/staff/reviews").await;
        assert!(list.contains("published") && list.contains(&format!("/staff/reviews/{id}")));
        let _ = (c.northwind, c.contoso, c.fabrikam);
    }
}

#[tokio::test]
async fn an_appeal_is_decided_from_the_review_page_with_a_reason() {
    for db in backends() {
        let app = app(db).await;
        let c = cast(&app).await;
        let (_, review) = app
            .post("/api/v1/reviews", ADMIN, json!({"quarter": "2025-Q4"}))
            .await;
        let id = review["id"].as_i64().expect("id");
        app.post(&format!("/api/v1/reviews/{id}/publish"), ADMIN, json!({}))
            .await;
        let body =
            json!({"review_id": id, "message": "Our Q4 revenue was booked under our parent"});
        let (status, appeal) = app
            .post(
                &format!("/api/v1/partners/{}/appeals", c.litware),
                ADMIN,
                body,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{appeal}");
        let appeal_id = appeal["id"].as_i64().expect("appeal id");

        let staff = app.staff_visitor(Role::Manager).await;
        let (_, html) = staff.page(&format!("/staff/reviews/{id}")).await;
        assert!(html.contains("booked under our parent") && html.contains("Decide the appeal"));
        let decide = format!("/staff/reviews/{id}/appeals/{appeal_id}/decision");
        let refused = staff
            .post(&decide, &[("decision", "upheld"), ("reason", "")])
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let forged = staff
            .post_with_csrf(
                &decide,
                "forged",
                &[
                    ("decision", "upheld"),
                    ("reason", "Parent booking confirmed"),
                ],
            )
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let elsewhere = format!("/staff/reviews/{}/appeals/{appeal_id}/decision", id + 1);
        let astray = staff
            .post(
                &elsewhere,
                &[
                    ("decision", "upheld"),
                    ("reason", "Parent booking confirmed"),
                ],
            )
            .await;
        assert_eq!(astray.status(), StatusCode::NOT_FOUND, "{db:?}");
        assert!(app
            .store
            .events_of_kind("appeal_decided")
            .await
            .expect("events")
            .is_empty());
        let upheld = staff
            .post(
                &decide,
                &[
                    ("decision", "upheld"),
                    ("reason", "Parent booking confirmed"),
                ],
            )
            .await;
        assert_eq!(upheld.status(), StatusCode::SEE_OTHER, "{db:?}");
        let decided = app
            .store
            .events_of_kind("appeal_decided")
            .await
            .expect("events");
        assert_eq!(decided.len(), 1);
        assert!(decided[0].actor.starts_with("staff-user:"), "{decided:?}");
        let (_, partner) = app
            .get(&format!("/api/v1/partners/{}", c.litware), ADMIN)
            .await;
        assert_eq!(partner["tier"], "select", "restored");
        let (_, html) = staff.page(&format!("/staff/reviews/{id}")).await;
        assert!(html.contains("upheld") && !html.contains("Decide the appeal"));
    }
}

#[tokio::test]
async fn every_route_needs_a_staff_session() {
    for db in backends() {
        let app = app(db).await;
        let p = app.partner("Northwind", "reseller").await;
        let stranger = Visitor::new(&app);
        for path in [
            "/staff/partners".to_owned(),
            "/staff/partners?tier=select".to_owned(),
            format!("/staff/partners/{p}"),
            "/staff/tiers".to_owned(),
            "/staff/reviews".to_owned(),
            "/staff/reviews/1".to_owned(),
        ] {
            let answer = stranger.get(&path).await;
            assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{path}");
            assert!(
                location(&answer).starts_with("/staff/sign-in?next="),
                "{path}"
            );
        }
        for path in [
            "/staff/reviews".to_owned(),
            format!("/staff/reviews/1/proposals/{p}"),
            "/staff/reviews/1/publish".to_owned(),
            "/staff/reviews/1/appeals/1/decision".to_owned(),
        ] {
            let answer = stranger.post(&path, &[("quarter", "2025-Q4")]).await;
            assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{path}");
            assert_eq!(location(&answer), "/staff/sign-in", "{path}");
        }
        assert!(app
            .store
            .review_summaries(i64::MAX, 10)
            .await
            .expect("reviews")
            .is_empty());
    }
}
