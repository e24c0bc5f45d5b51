//! A tour of every page on the demo program in headless Chromium: the demo
//! as a newcomer loads it (`trellis demo`, whose staff password it prints),
//! a partner manager signed in to the staff workspace, a partner's person
//! signed in to the portal by the link in the outbox. Each page must render
//! its heading, label every field and fit a phone's width; screenshots of each, desktop and
//! phone, land in `target/screenshots/demo_tour/`.

mod common;

use common::{trellis, Server};
use trellis_testkit::browser::Browser;

/// Loads the demo into `db`; returns the staff address and password it
/// printed.
fn load_demo(db: &str) -> (String, String) {
    let output = trellis().args(["demo", "--db", db]).output().expect("run");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}");
    let words: Vec<&str> = text.split_whitespace().collect();
    let after = |word: &str| {
        let at = words
            .iter()
            .position(|w| *w == word)
            .unwrap_or_else(|| panic!("{word} in {text}"));
        words[at + 1].to_owned()
    };
    (after("as"), after("password"))
}

/// Opens `path`, checks it is the program's own page with a heading and a
/// label on every field, and photographs it at both sizes.
async fn photograph(browser: &Browser, base: &str, path: &str, step: &str) {
    browser.visit(&format!("{base}{path}")).await;
    let asked = path.split('?').next().unwrap_or(path);
    assert!(
        browser.path().await.starts_with(asked),
        "{path} redirected elsewhere"
    );
    // The program's own page ("Queue · Trellis ..."), not a browser's error page.
    let title = browser.title().await;
    assert!(title.contains(" · "), "{path}: {title}");
    let heading = browser.text_of("h1").await;
    assert!(
        !["", "Not found", "Admins only"].contains(&heading.as_str()),
        "{path}: {heading}"
    );
    let unlabelled = browser.unlabelled_fields().await;
    assert!(
        unlabelled.is_empty(),
        "{path}: fields without a label: {unlabelled:?}"
    );
    browser.screenshot(step).await;
    browser.phone_screenshot(step).await;
}

#[tokio::test]
async fn every_page_renders_on_the_demo_program_at_desktop_and_phone_sizes() {
    let Some(browser) = Browser::open("demo_tour").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let (email, password) = load_demo(&db);
    let outbox = dir.path().join("outbox");
    let server = Server::start(&db, &["--outbox", outbox.to_str().expect("path")]);
    let base = &server.base;

    browser.visit(&format!("{base}/staff/sign-in")).await;
    browser.fill("Work email", &email).await;
    browser.fill("Password", &password).await;
    browser.click("Sign in").await;
    assert_eq!(browser.path().await, "/staff/queue");
    let (_, registrations) = server
        .get("/api/v1/registrations?partner_id=1&limit=1")
        .await;
    let case = registrations["items"][0]["case_number"]
        .as_str()
        .expect("a case")
        .to_owned();
    let staff_pages = [
        ("/staff/queue".to_owned(), "staff-1-queue"),
        (
            format!("/staff/registrations/{case}"),
            "staff-2-registration",
        ),
        ("/staff/conflicts".to_owned(), "staff-3-conflicts"),
        ("/staff/partners".to_owned(), "staff-4-partners"),
        ("/staff/partners/1".to_owned(), "staff-5-partner"),
        ("/staff/tiers".to_owned(), "staff-6-tier-mobility"),
        ("/staff/reviews".to_owned(), "staff-7-reviews"),
        ("/staff/reviews/1".to_owned(), "staff-8-review"),
        ("/staff/metrics".to_owned(), "staff-9-metrics"),
        ("/staff/people".to_owned(), "staff-10-people"),
    ];
    for (path, step) in &staff_pages {
        photograph(&browser, base, path, step).await;
    }

    let (_, partner) = server.get("/api/v1/partners/1").await;
    let domain = partner["email_domains"][0].as_str().expect("a mail domain");
    let person = format!("alex@{domain}");
    browser.visit(&format!("{base}/portal/sign-in")).await;
    browser.fill("Your work email", &person).await;
    browser.click("Email me a sign-in link").await;
    let link = link_in_outbox(&outbox, "/portal/sign-in/").await;
    browser.visit(&format!("{base}{link}")).await;
    assert_eq!(browser.path().await, "/portal");
    let portal_pages = [
        ("/portal".to_owned(), "portal-1-home"),
        ("/portal/registrations".to_owned(), "portal-2-registrations"),
        (
            format!("/portal/registrations/{case}"),
            "portal-3-registration",
        ),
        ("/portal/registrations/new".to_owned(), "portal-4-new"),
        ("/portal/appeals".to_owned(), "portal-5-appeals"),
    ];
    for (path, step) in &portal_pages {
        photograph(&browser, base, path, step).await;
    }
    browser.close().await;
}

/// The path of the first link starting with `prefix` in the outbox, once
/// a message carrying one is there.
async fn link_in_outbox(outbox: &std::path::Path, prefix: &str) -> String {
    for _ in 0..500 {
        let mails = std::fs::read_dir(outbox).into_iter().flatten().flatten();
        for mail in mails {
            let text = std::fs::read_to_string(mail.path()).unwrap_or_default();
            let text = trellis_testkit::unfold_quoted_printable(&text);
            if let Some(start) = text.find(prefix) {
                let link = text[start..].split_whitespace().next().unwrap_or_default();
                return link.to_owned();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no mail with {prefix} in {}", outbox.display());
}
