//! `trellis bench pages`: how long the server takes to answer each staff
//! and portal page, signed in as its reader, over the demo data or many
//! bulk-loaded registrations; beside `GET /healthz` from the same run (the
//! cost of an answer that reads nothing). A page is added in one line of
//! [`PAGES`].

use super::page_changes::Changes;
use super::stats::{ms, print_table, print_targets, thousands, Run, Target};
use super::BenchDbArgs;
use anyhow::{bail, Context};
use reqwest::header::COOKIE;
use sqlx::SqlitePool;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use trellis_domain::dedupe::Email;
use trellis_domain::event::Actor;
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::tiering::Quarter;
use trellis_server::clock::Clock;
use trellis_server::AppState;
use trellis_store::{NewSession, NewStaffUser, Role, Store};

#[derive(clap::Args)]
pub struct Args {
    /// Registrations bulk-loaded, spread over the last three years (default:
    /// the demo data, loaded through the store).
    #[arg(long)]
    registrations: Option<u64>,
    /// Timed answers per page.
    #[arg(long, default_value_t = 200)]
    repeats: usize,
    #[command(flatten)]
    db: BenchDbArgs,
}

/// Who opens a page.
#[derive(Clone, Copy)]
enum Reader {
    Anyone,
    Staff,
    /// Staff, each time just after a real change to a registration
    /// (`page_changes.rs`), so the figures kept per day must find the days
    /// it touched and count them again.
    StaffAfterChange,
    Partner,
}

/// Every page timed, with who reads it. `{case}` is a registration of the
/// partner the portal reader speaks for, `{partner}` that partner and
/// `{review}` the latest review.
const PAGES: [(&str, Reader); 25] = [
    ("/staff/sign-in", Reader::Anyone),
    ("/staff/queue", Reader::Staff),
    ("/staff/registrations/{case}", Reader::Staff),
    ("/staff/conflicts", Reader::Staff),
    ("/staff/partners", Reader::Staff),
    ("/staff/partners?tier=registered", Reader::Staff),
    ("/staff/partners/{partner}", Reader::Staff),
    ("/staff/tiers", Reader::Staff),
    ("/staff/reviews", Reader::Staff),
    ("/staff/reviews/{review}", Reader::Staff),
    ("/staff/people", Reader::Staff),
    ("/staff/metrics", Reader::Staff),
    ("/staff/metrics", Reader::StaffAfterChange),
    ("/staff/metrics?period=30d", Reader::Staff),
    ("/staff/metrics?period=365d", Reader::Staff),
    ("/staff/metrics?period=quarter", Reader::Staff),
    ("/staff/metrics?period=365d", Reader::StaffAfterChange),
    ("/staff/metrics/approval-by-partner.csv", Reader::Staff),
    ("/portal/sign-in", Reader::Anyone),
    ("/portal", Reader::Partner),
    ("/portal/registrations", Reader::Partner),
    ("/portal/registrations/{case}", Reader::Partner),
    ("/portal/registrations/new", Reader::Partner),
    ("/portal/appeals", Reader::Partner),
    ("/register", Reader::Anyone),
];

/// The bound on a page's answer at a million registrations.
const TARGET: Duration = Duration::from_millis(100);
/// The bound on a page's answer on the demo data.
const DEMO_TARGET: Duration = Duration::from_millis(50);
/// Microseconds in an hour and a day, as timestamps are stored.
const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;
/// How far back bulk-loaded registrations reach.
const HISTORY_DAYS: i64 = 3 * 365;
const BULK_PARTNERS: i64 = 200;
const BULK_ACCOUNTS: i64 = 10_000;

pub async fn run(args: Args) -> anyhow::Result<()> {
    let db = args.db.open().await?;
    let program = Program::default();
    let now = OffsetDateTime::now_utc();
    println!("trellis bench pages");
    println!("  database  {} (WAL, synchronous = FULL)", db.url);
    let started = Instant::now();
    let loaded = match args.registrations {
        None => {
            crate::demo::load(&db.store, &program).await?;
            "the demo data".to_owned()
        }
        Some(count) => {
            bulk_load(&db.reference, count, now).await?;
            format!("{} registrations", thousands(count))
        }
    };
    println!(
        "  loaded    {loaded} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let cookies = sign_in(&db.store, now).await?;
    let ids = Ids::find(&db.store, &program, now).await?;
    let changes = 2 * (args.repeats + 3);
    let changes = Changes::pick(&db.reference, &db.store, &program, ids.partner, changes).await?;
    let state = AppState::new(db.store.clone(), program, Clock::system());
    let server =
        trellis_server::start(state, "127.0.0.1:0".parse()?, Duration::from_secs(3600)).await?;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    // Right after the start, while the server counts the figures per day.
    let first = Page {
        path: "/staff/metrics?period=365d",
        cookie: Some(&cookies.staff),
        change: None,
    };
    let first = answer(&client, &base, &first).await?;
    let health = Page {
        path: "/healthz",
        cookie: None,
        change: None,
    };
    let mut runs = vec![time(&client, &base, &health, args.repeats).await?];
    runs[0].label = "reference: GET /healthz".into();
    for (path, reader) in PAGES {
        let cookie = match reader {
            Reader::Anyone => None,
            Reader::Staff | Reader::StaffAfterChange => Some(cookies.staff.as_str()),
            Reader::Partner => Some(cookies.partner.as_str()),
        };
        let change = matches!(reader, Reader::StaffAfterChange).then_some(&changes);
        let page = Page {
            path: &ids.fill(path),
            cookie,
            change,
        };
        runs.push(time(&client, &base, &page, args.repeats).await?);
    }
    server.task.abort();
    print_table(&runs.iter().collect::<Vec<_>>());
    println!(
        "  the first GET /staff/metrics?period=365d after the start, while the figures are counted: {} ms",
        ms(first)
    );
    let bound = match args.registrations {
        None => DEMO_TARGET,
        Some(_) => TARGET,
    };
    let (after_change, read): (Vec<&Run>, Vec<&Run>) = runs[1..]
        .iter()
        .partition(|r| r.label.ends_with("after a change"));
    print_targets(&[
        slowest("every page's p99", &read, bound)?,
        slowest("metrics just after a change, p99", &after_change, bound)?,
    ]);
    Ok(())
}

/// The slowest of `runs` at the 99th percentile, against `bound`.
fn slowest(what: &str, runs: &[&Run], bound: Duration) -> anyhow::Result<Target> {
    let worst = runs
        .iter()
        .max_by_key(|r| r.percentile(99))
        .context("no pages")?;
    Ok(Target {
        goal: format!("{what} < {} ms", bound.as_millis()),
        measured: format!("{} ms ({})", ms(worst.percentile(99)), worst.label),
        met: worst.percentile(99) < bound,
    })
}

/// One page as the bench opens it.
struct Page<'a> {
    path: &'a str,
    cookie: Option<&'a str>,
    /// The changes to make, one before each answer, when timing the page
    /// just after a change.
    change: Option<&'a Changes>,
}

/// Times `repeats` answers to the page one after another, after a few
/// untimed ones (connection, caches); each must be a 200.
async fn time(
    client: &reqwest::Client,
    base: &str,
    page: &Page<'_>,
    repeats: usize,
) -> anyhow::Result<Run> {
    let mut latencies = Vec::with_capacity(repeats);
    for round in 0..repeats + 3 {
        if let Some(changes) = page.change {
            changes.make().await?;
        }
        let took = answer(client, base, page).await?;
        if round >= 3 {
            latencies.push(took);
        }
    }
    let label = match page.change {
        Some(_) => format!("GET {} after a change", page.path),
        None => format!("GET {}", page.path),
    };
    Ok(Run::sequential(label, latencies))
}

/// How long one answer to the page takes; it must be a 200.
async fn answer(client: &reqwest::Client, base: &str, page: &Page<'_>) -> anyhow::Result<Duration> {
    let mut request = client.get(format!("{base}{}", page.path));
    if let Some(cookie) = page.cookie {
        request = request.header(COOKIE, cookie);
    }
    let started = Instant::now();
    let response = request.send().await?;
    let status = response.status();
    response.bytes().await?;
    if status != reqwest::StatusCode::OK {
        bail!("GET {} answered {status}", page.path);
    }
    Ok(started.elapsed())
}

/// What the pages with an id in their path are opened for.
struct Ids {
    case: String,
    partner: PartnerId,
    review: i64,
}

impl Ids {
    /// The first partner's latest registration, and the latest review (a
    /// review of the last quarter is started when there is none).
    async fn find(store: &Store, program: &Program, now: OffsetDateTime) -> anyhow::Result<Ids> {
        let partner = store.partners(0, 1).await?.pop().context("no partner")?.id;
        let filter = trellis_store::RegistrationFilter {
            partner_id: Some(partner),
            limit: 1,
            ..Default::default()
        };
        let case = store
            .registrations(&filter)
            .await?
            .pop()
            .context("no registration")?;
        let review = match store.review_summaries(i64::MAX, 1).await?.pop() {
            Some(review) => review.id,
            None => {
                let last = Quarter::containing(now.date()).previous();
                store
                    .create_review(program, last, &Actor::System, now)
                    .await?
                    .id
            }
        };
        Ok(Ids {
            case: case.case_number().to_string(),
            partner,
            review,
        })
    }

    fn fill(&self, path: &str) -> String {
        path.replace("{case}", &self.case)
            .replace("{partner}", &self.partner.0.to_string())
            .replace("{review}", &self.review.to_string())
    }
}

/// The session cookies of a staff user and of a partner's person.
struct Cookies {
    staff: String,
    partner: String,
}

async fn sign_in(store: &Store, now: OffsetDateTime) -> anyhow::Result<Cookies> {
    let expires_at = now + time::Duration::hours(12);
    let email = Email::parse("bench@vendor.example")?;
    let new = NewStaffUser {
        email: &email,
        name: "Bench Staff",
        role: Role::Admin,
        password_hash: None,
    };
    let staff = store.create_staff_user(&new, now).await?;
    let staff_secret = trellis_server::tokens::new_secret();
    let session = NewSession {
        secret: &staff_secret,
        expires_at,
    };
    store.open_staff_session(staff.id, &session, now).await?;
    let partner = store.partners(0, 1).await?.pop().context("no partner")?;
    let email = Email::parse("bench@partner.example")?;
    let person = store
        .add_partner_user(
            PartnerId(partner.id.0),
            "Bench Person",
            &email,
            &Actor::System,
            now,
        )
        .await?;
    let (link, partner_secret) = (
        trellis_server::tokens::new_secret(),
        trellis_server::tokens::new_secret(),
    );
    store
        .create_sign_in_link(&link, person.id, now, expires_at)
        .await?;
    let session = NewSession {
        secret: &partner_secret,
        expires_at,
    };
    store.redeem_sign_in_link(&link, &session, now).await?;
    Ok(Cookies {
        staff: format!("trellis_staff={staff_secret}"),
        partner: format!("trellis_portal={partner_secret}"),
    })
}

/// Generates partners, accounts, registrations through their lifecycle
/// (pending, declined, approved with or without a first meeting, won, lost,
/// expired) and conflicts inside SQLite with recursive CTEs, so a million
/// rows load in seconds; then updates the planner's statistics.
async fn bulk_load(pool: &SqlitePool, count: u64, now: OffsetDateTime) -> anyhow::Result<()> {
    let now = now.unix_timestamp() * 1_000_000;
    let numbers =
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)";
    sqlx::query(&format!(
        "{numbers} INSERT INTO partners (name, kind, tier, created_at) \
         SELECT 'Bench Partner ' || i, 'reseller', 'registered', ?2 FROM n"
    ))
    .bind(BULK_PARTNERS)
    .bind(now)
    .execute(pool)
    .await?;
    sqlx::query(&format!(
        "{numbers} INSERT INTO accounts (name, name_key, name_rkey, source, created_at) \
         SELECT 'Bench Account ' || i, 'bench account ' || i, i || ' tnuocca hcneb', 'bench', ?2 FROM n"
    ))
    .bind(BULK_ACCOUNTS)
    .bind(now)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO contacts (account_id, name, email, created_at) \
         SELECT id, 'Pat Bench', 'pat' || id || '@bench.example', created_at FROM accounts",
    )
    .execute(pool)
    .await?;
    sqlx::query(&format!("{numbers} {REGISTRATIONS}"))
        .bind(count as i64)
        .bind(now)
        .bind(HISTORY_DAYS * DAY / count.max(1) as i64)
        .bind(BULK_PARTNERS)
        .bind(BULK_ACCOUNTS)
        .execute(pool)
        .await?;
    sqlx::query(&format!(
        "{numbers} INSERT INTO conflicts (account_id, policy, status, reason, opened_at, resolved_at) \
         SELECT 1 + i % ?3, 'first_meeting', CASE WHEN i % 5 = 0 THEN 'open' ELSE 'resolved' END, \
         CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN 'resolved by staff in favour of R-1: met first' \
         ELSE 'first meeting logged' END, ?2 - i * ?4, CASE WHEN i % 5 > 0 THEN ?2 - i * ?4 + ?5 END FROM n"
    ))
    .bind((count / 200).max(1) as i64)
    .bind(now)
    .bind(BULK_ACCOUNTS)
    .bind(HISTORY_DAYS * DAY / (count / 200).max(1) as i64)
    .bind(3 * DAY)
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}

/// One registration per number `i`, newest first: `k` (i mod 20) decides
/// its fate; a deal closes 30 to 120 days after approval, once that is past.
const REGISTRATIONS: &str = "INSERT INTO registrations (partner_id, account_id, contact_id, kind, channel, \
     status, company_name, contact_name, contact_email, segment, region, product, submitted_at, approved_at, \
     hold_until, meeting_due, first_meeting_at, closed_at, won_amount, won_currency, first_response_at, updated_at) \
     SELECT 1 + i % ?4, 1 + i % ?5, 1 + i % ?5, 'lead', 'api', \
     CASE WHEN k = 0 THEN 'submitted' WHEN k < 3 THEN 'declined' \
          WHEN k < 9 AND closes THEN 'won' WHEN k < 13 AND closes THEN 'lost' \
          WHEN appr + 90 * 86400000000 > ?2 THEN 'approved' ELSE 'expired' END, \
     'Bench Company ' || i, 'Pat Bench', 'pat@bench.example', \
     CASE i % 3 WHEN 0 THEN 'enterprise' WHEN 1 THEN 'mid-market' ELSE 'smb' END, \
     CASE i % 4 WHEN 0 THEN 'NA' WHEN 1 THEN 'EMEA' WHEN 2 THEN 'APAC' ELSE 'LATAM' END, \
     CASE i % 5 WHEN 0 THEN 'analytics' WHEN 1 THEN 'security' ELSE 'platform' END, \
     sub, appr, appr + 90 * 86400000000, appr + 14 * 86400000000, \
     CASE WHEN k >= 3 AND k % 3 <> 0 THEN appr + (i % 20) * 86400000000 END, \
     CASE WHEN k >= 3 AND k < 13 AND closes THEN appr + (30 + i % 90) * 86400000000 END, \
     CASE WHEN k >= 3 AND k < 9 AND closes THEN 1000000 + (i % 997) * 100 END, \
     CASE WHEN k >= 3 AND k < 9 AND closes THEN CASE i % 2 WHEN 0 THEN 'EUR' ELSE 'USD' END END, \
     CASE WHEN k = 0 THEN NULL WHEN k < 3 THEN sub + (i % 72) * 3600000000 ELSE appr END, ?2 \
     FROM (SELECT i, k, sub, appr, appr + 120 * 86400000000 < ?2 AS closes FROM \
       (SELECT i, k, sub, CASE WHEN k >= 3 THEN sub + (i % 48) * 3600000000 END AS appr FROM \
         (SELECT i, i % 20 AS k, ?2 - 3600000000 - i * ?3 AS sub FROM n)))";
