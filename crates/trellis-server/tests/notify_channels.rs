//! Notifications on the channels partners chose, on every backend with the
//! test clock: mail as text and HTML, Slack as Block Kit on a local fake
//! incoming webhook that answers as Slack documents (revoked hooks, rate
//! limits); conflict notices that say nothing of the other partner; and a
//! webhook URL the API never gives back. The first sweep also sends the
//! weekly summaries and the review reminder, so checks pick their messages
//! by subject.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::Duration;
use trellis_domain::channels::SlackWebhook;
use trellis_domain::program::Program;
use trellis_fakes::slack::{Answer, FakeSlack, Posted};
use trellis_server::sweep::run_once;
use trellis_store::Notification;
use trellis_testkit::{backends, problem_fields, Db, TestApp, ADMIN_TOKEN as ADMIN};

/// The secret part of the partners' webhook, which no answer may contain.
const SECRET: &str = "northwindsecret1234";

/// The app, with the partner team's Slack channel on the fake too.
async fn spawn(db: Db) -> (TestApp, FakeSlack) {
    let slack = FakeSlack::start().await.expect("fake Slack");
    let team = SlackWebhook::parse(&slack.webhook_url("TVENDOR", "BTEAM", "teamsecret0000"))
        .expect("team hook");
    let program = Program::parse("[notify]\nescalation_email = \"partners@vendor.com\"\n")
        .expect("program")
        .program;
    let app = TestApp::spawn_tuned(db, program, |state| {
        state.secrets.slack_webhook_url = Some(team);
    })
    .await;
    (app, slack)
}

/// The partners' webhook URL on the fake.
fn hook(slack: &FakeSlack) -> String {
    slack.webhook_url("T0001", "B0002", SECRET)
}

/// A reseller with one person, hearing by `via`, with the fake's webhook
/// when `via` needs one.
async fn partner(app: &TestApp, slack: &FakeSlack, name: &str, email: &str, via: &str) -> i64 {
    let mut body = json!({"name": name, "kind": "reseller", "notify_via": via});
    if via != "email" {
        body["slack_webhook_url"] = hook(slack).into();
    }
    let (status, created) = app.post("/api/v1/partners", ADMIN, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().expect("id");
    let user = json!({"name": "Someone", "email": email});
    let path = format!("/api/v1/partners/{id}/users");
    assert_eq!(app.post(&path, ADMIN, user).await.0, StatusCode::CREATED);
    id
}

/// Registers Acme for `partner` and approves it; returns its id.
async fn approved(app: &TestApp, partner: i64) -> i64 {
    let id = app.register(partner, "Acme Inc.", "acme.com").await;
    let path = format!("/api/v1/registrations/{id}/decision");
    let (status, body) = app.post(&path, ADMIN, json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

/// The mails sent to `to`.
fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    let to = format!("To: {to}");
    app.sent_mail()
        .into_iter()
        .filter(|m| m.contains(&to))
        .collect()
}

/// The mails sent to `to` with `subject`.
fn mails_with(app: &TestApp, to: &str, subject: &str) -> Vec<String> {
    let subject = format!("Subject: {subject}");
    mails_to(app, to)
        .into_iter()
        .filter(|m| m.contains(&subject))
        .collect()
}

/// The messages the fake accepted whose fallback text is `subject`.
fn slack_with(slack: &FakeSlack, subject: &str) -> Vec<Posted> {
    slack
        .messages()
        .into_iter()
        .filter(|m| m.message["text"] == subject)
        .collect()
}

/// The stored messages of `kind` on `partner`'s Slack channel.
async fn slack_queue(app: &TestApp, partner: i64, kind: &str) -> Vec<Notification> {
    let channel = format!("partner:{partner}");
    let notes = app.store.notifications_to(&channel).await.expect("notes");
    notes.into_iter().filter(|n| n.kind == kind).collect()
}

const APPROVED: &str = "REG-000001 Acme Inc.: approved";

#[tokio::test]
async fn a_partner_on_both_channels_hears_of_an_approval_by_mail_and_in_slack() {
    for db in backends() {
        let (app, slack) = spawn(db).await;
        let northwind = partner(&app, &slack, "Northwind", "bob@northwind.com", "both").await;
        approved(&app, northwind).await;
        run_once(&app.state).await;

        let mails = mails_with(&app, "bob@northwind.com", APPROVED);
        assert_eq!(mails.len(), 1, "{db:?}: {mails:?}");
        let mail = &mails[0];
        for part in [
            "multipart/alternative",
            "Content-Type: text/plain",
            "Content-Type: text/html",
            "log the first meeting by 2026-01-19",
            "<strong>Next step:</strong>",
        ] {
            assert!(mail.contains(part), "{db:?}: {part} in {mail}");
        }

        let messages = slack_with(&slack, APPROVED);
        assert_eq!(messages.len(), 1, "{db:?}");
        assert_eq!(messages[0].hook, format!("T0001/B0002/{SECRET}"));
        let message = &messages[0].message;
        assert_eq!(message["blocks"][0]["text"]["text"], APPROVED);
        let types: Vec<_> = message["blocks"]
            .as_array()
            .expect("blocks")
            .iter()
            .map(|b| b["type"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(types, ["header", "section", "context"]);
        let section = message["blocks"][1]["text"]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(
            section.contains("Next step: meet the customer"),
            "{section}"
        );
    }
}

#[tokio::test]
async fn a_partner_on_slack_only_gets_no_mail() {
    for db in backends() {
        let (app, slack) = spawn(db).await;
        let northwind = partner(&app, &slack, "Northwind", "bob@northwind.com", "slack").await;
        approved(&app, northwind).await;
        run_once(&app.state).await;
        assert!(mails_to(&app, "bob@northwind.com").is_empty(), "{db:?}");
        assert_eq!(slack_with(&slack, APPROVED).len(), 1, "{db:?}");
    }
}

#[tokio::test]
async fn a_revoked_webhook_is_a_dead_letter_at_once_until_a_new_one_is_set() {
    for db in backends() {
        let (app, slack) = spawn(db).await;
        let northwind = partner(&app, &slack, "Northwind", "bob@northwind.com", "slack").await;
        slack.answer_always(Answer::NoService);
        approved(&app, northwind).await;
        run_once(&app.state).await;

        let dead = slack_queue(&app, northwind, "approved").await;
        assert_eq!(
            (dead.len(), dead[0].status.as_str(), dead[0].attempts),
            (1, "dead", 1),
            "{db:?}: {dead:?}"
        );
        let error = dead[0].last_error.as_deref().unwrap_or_default();
        assert!(
            error.contains("404 no_service"),
            "Slack's own words: {error}"
        );
        let (_, listed) = app.get("/api/v1/events/dead-letter", ADMIN).await;
        assert!(listed.to_string().contains("no_service"), "{listed}");
        assert!(!listed.to_string().contains(SECRET), "{listed}");
        app.advance(Duration::hours(6));
        run_once(&app.state).await;
        let still = slack_queue(&app, northwind, "approved").await;
        assert_eq!(still[0].attempts, 1, "{db:?}: never tried again by itself");

        // A new webhook is read at delivery: the retried letter goes there.
        slack.answer_always(Answer::Ok);
        let rotated = slack.webhook_url("T0001", "B0003", "rotatedsecret9876");
        let path = format!("/api/v1/partners/{northwind}");
        let (status, _) = app
            .call(
                Method::PATCH,
                &path,
                Some(ADMIN),
                Some(json!({"slack_webhook_url": rotated})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let retry = format!("/api/v1/events/notification-{}/retry", dead[0].id);
        assert_eq!(
            app.post(&retry, ADMIN, json!({})).await.0,
            StatusCode::ACCEPTED
        );
        run_once(&app.state).await;
        let messages = slack_with(&slack, APPROVED);
        assert_eq!(messages.len(), 1, "{db:?}");
        assert_eq!(messages[0].hook, "T0001/B0003/rotatedsecret9876");
    }
}

#[tokio::test]
async fn a_rate_limited_message_waits_as_slack_asks_and_goes_once() {
    for db in backends() {
        let (app, slack) = spawn(db).await;
        let northwind = partner(&app, &slack, "Northwind", "bob@northwind.com", "slack").await;
        slack.answer_next([Answer::RateLimited { retry_after: 30 }]);
        approved(&app, northwind).await;
        run_once(&app.state).await;
        let waiting = slack_queue(&app, northwind, "approved").await;
        assert_eq!(
            (waiting[0].status.as_str(), waiting[0].attempts),
            ("pending", 1),
            "{db:?}"
        );
        assert!(slack_with(&slack, APPROVED).is_empty());

        app.advance(Duration::seconds(20));
        run_once(&app.state).await;
        assert!(
            slack_with(&slack, APPROVED).is_empty(),
            "{db:?}: not before Retry-After"
        );
        app.advance(Duration::seconds(11));
        run_once(&app.state).await;
        run_once(&app.state).await;
        assert_eq!(
            slack_with(&slack, APPROVED).len(),
            1,
            "{db:?}: delivered once"
        );
        let sent = slack_queue(&app, northwind, "approved").await;
        assert_eq!(
            (sent[0].status.as_str(), sent[0].attempts),
            ("sent", 1),
            "{db:?}"
        );
    }
}

#[tokio::test]
async fn a_conflict_notice_names_no_other_partner() {
    for db in backends() {
        let (app, slack) = spawn(db).await;
        let contoso = partner(&app, &slack, "Contoso", "eve@contoso.com", "email").await;
        let northwind = partner(&app, &slack, "Northwind", "bob@northwind.com", "both").await;
        let first = app.register(contoso, "Acme Incorporated", "acme.com").await;
        let second = app.register(northwind, "Acme Inc.", "acme.com").await;
        run_once(&app.state).await;

        let (_, events) = app
            .get(&format!("/api/v1/registrations/{second}/events"), ADMIN)
            .await;
        assert!(
            events.to_string().contains("conflict_opened"),
            "{db:?}: {events}"
        );
        let partners_hook = format!("T0001/B0002/{SECRET}");
        let to_bob: Vec<String> = mails_to(&app, "bob@northwind.com")
            .into_iter()
            .chain(
                slack
                    .messages()
                    .iter()
                    .filter(|m| m.hook == partners_hook)
                    .map(|m| m.message.to_string()),
            )
            .collect();
        let to_eve = mails_to(&app, "eve@contoso.com");
        let notices = |texts: &[String]| {
            let about = "another registration claims this account";
            texts.iter().filter(|t| t.contains(about)).count()
        };
        assert_eq!(
            (notices(&to_bob), notices(&to_eve)),
            (2, 1),
            "{db:?}: {to_bob:?} {to_eve:?}"
        );
        let leaks = [
            (
                to_bob.as_slice(),
                [
                    "Contoso",
                    &format!("REG-{first:06}"),
                    "Incorporated",
                    "eve@",
                ],
            ),
            (
                to_eve.as_slice(),
                [
                    "Northwind",
                    &format!("REG-{second:06}"),
                    "Acme Inc.",
                    "bob@",
                ],
            ),
        ];
        for (texts, others) in leaks {
            for text in texts {
                for other in others {
                    assert!(!text.contains(other), "{db:?}: {other} in {text}");
                }
            }
        }
    }
}

#[tokio::test]
async fn escalations_reach_the_partner_team_by_mail_and_in_slack() {
    for db in backends() {
        let (app, slack) = spawn(db).await;
        let northwind = partner(&app, &slack, "Northwind", "bob@northwind.com", "email").await;
        app.register(northwind, "Acme Inc.", "acme.com").await;
        app.advance(Duration::hours(49));
        run_once(&app.state).await;
        let escalated = "REG-000001 is past its 48-hour response time";
        assert_eq!(
            mails_with(&app, "partners@vendor.com", escalated).len(),
            1,
            "{db:?}"
        );
        let team: Vec<_> = slack
            .messages()
            .into_iter()
            .filter(|m| m.hook.starts_with("TVENDOR/BTEAM/"))
            .collect();
        assert!(
            team.iter().any(|m| m.message["text"] == escalated),
            "{db:?}: {team:?}"
        );
    }
}

#[tokio::test]
async fn a_partner_hears_when_its_registration_is_closed() {
    for db in backends() {
        let (app, slack) = spawn(db).await;
        let northwind = partner(&app, &slack, "Northwind", "bob@northwind.com", "email").await;
        let id = approved(&app, northwind).await;
        let path = format!("/api/v1/registrations/{id}/outcome");
        let (status, body) = app
            .post(
                &path,
                ADMIN,
                json!({"outcome": "won", "amount": "12500.00", "currency": "EUR"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        run_once(&app.state).await;
        let won = mails_with(
            &app,
            "bob@northwind.com",
            "REG-000001 Acme Inc.: closed won",
        );
        assert_eq!(won.len(), 1, "{db:?}");
        assert!(won[0].contains("12500.00 EUR"), "{}", won[0]);
    }
}

#[tokio::test]
async fn the_api_never_gives_back_a_webhook_url() {
    for db in backends() {
        let (app, slack) = spawn(db).await;
        let northwind = partner(&app, &slack, "Northwind", "bob@northwind.com", "both").await;
        let contoso = partner(&app, &slack, "Contoso", "eve@contoso.com", "email").await;
        let own = app.partner_token(northwind).await;
        let one = format!("/api/v1/partners/{northwind}");
        let answers = [
            app.get(&one, ADMIN).await,
            app.get("/api/v1/partners", ADMIN).await,
            app.get(&one, &own).await,
            app.get("/api/v1/partners", &own).await,
            app.get(&format!("{one}/events"), ADMIN).await,
        ];
        for (status, body) in &answers {
            assert_eq!(*status, StatusCode::OK, "{db:?}: {body}");
            assert!(!body.to_string().contains(SECRET), "{db:?}: {body}");
        }
        let view = &answers[0].1;
        assert_eq!(view["notify_via"], "both");
        assert_eq!(
            view["slack_webhook"],
            json!({"configured": true, "hint": "…/T0001/B0002/…1234"})
        );
        let other = app.get(&format!("/api/v1/partners/{contoso}"), &own).await;
        assert_eq!(
            other.0,
            StatusCode::NOT_FOUND,
            "partners see only their own"
        );
        assert_eq!(answers[3].1["items"].as_array().map(Vec::len), Some(1));
        let patched = app
            .call(
                Method::PATCH,
                &one,
                Some(&own),
                Some(json!({"notify_via": "email"})),
            )
            .await;
        assert_eq!(patched.0, StatusCode::FORBIDDEN, "staff set channels");
    }
}

#[tokio::test]
async fn channel_changes_are_checked_and_change_nothing_when_refused() {
    for db in backends() {
        let (app, slack) = spawn(db).await;
        let northwind = partner(&app, &slack, "Northwind", "bob@northwind.com", "email").await;
        let path = format!("/api/v1/partners/{northwind}");
        let patch = |body: Value| app.call(Method::PATCH, &path, Some(ADMIN), Some(body));
        let refused = [
            (
                json!({"slack_webhook_url": "http://hooks.slack.com/services/T/B/X"}),
                "https",
            ),
            (
                json!({"notify_via": "slack"}),
                "is needed when notify_via is slack",
            ),
            (json!({"notify_via": "pigeon"}), "email, slack or both"),
        ];
        for (body, expected) in refused {
            let (status, problem) = patch(body.clone()).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{db:?}: {body} {problem}"
            );
            assert!(problem.to_string().contains(expected), "{problem}");
        }
        let (status, created) = app
            .post(
                "/api/v1/partners",
                ADMIN,
                json!({"name": "Contoso", "kind": "reseller", "notify_via": "both"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem_fields(&created), ["slack_webhook_url"]);

        let (status, view) =
            patch(json!({"notify_via": "both", "slack_webhook_url": hook(&slack)})).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        let (status, problem) = patch(json!({"slack_webhook_url": null})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        let (_, view) = app.get(&path, ADMIN).await;
        assert_eq!(
            (
                view["notify_via"].as_str(),
                view["slack_webhook"]["configured"].as_bool()
            ),
            (Some("both"), Some(true))
        );
        let (status, view) = patch(json!({"notify_via": "email", "slack_webhook_url": null})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            view["slack_webhook"],
            json!({"configured": false, "hint": null})
        );
    }
}
