//! Several `trellis serve` processes on one PostgreSQL database share the
//! scheduled work: two of them sweep through a simulated week with the test
//! clock, racing each other at every step, and every escalation, reminder,
//! expiry notice, weekly summary and review reminder the seed calls for goes
//! out exactly once between them.

mod common;

use common::{trellis, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use trellis_testkit::{backends, lead_for, Db, FreshDb};

/// A Thursday of ISO week 13: the week crosses into week 14 (Monday 30
/// March) and into 2026-Q2 (1 April), when the 2026-Q1 review comes due.
const START: OffsetDateTime = datetime!(2026-03-26 09:00 UTC);
const DAYS: i64 = 7;
/// How far each step moves both clocks: it divides a day, so the steps
/// land on each midnight and on every deadline the seed sets in whole days
/// or hours.
const STEP_HOURS: i64 = 3;

const ESCALATION: &str = "partners@vendor.com";
/// Each tier's response SLA in hours.
const TIERS: [(&str, i64); 3] = [("registered", 72), ("select", 48), ("elite", 24)];
const MEETING_SLA_DAYS: i64 = 2;
const REMINDER_DAYS: i64 = 1;

/// Windows shorter than the week, so the timers come due within it.
fn program() -> String {
    let slas: String = TIERS
        .iter()
        .map(|(tier, hours)| format!("{tier} = {hours}\n"))
        .collect();
    format!(
        "[registration]\nmeeting_sla_days = {MEETING_SLA_DAYS}\n\n\
         [benefits.response_sla_hours]\n{slas}\n\
         [notify]\nescalation_email = \"{ESCALATION}\"\nmeeting_reminder_days = {REMINDER_DAYS}\n"
    )
}

/// What the seed does with one registration, and so what the week brings.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// Left waiting for a decision: the partner team hears of it once its
    /// tier's response SLA has passed.
    Waiting,
    /// Approved without a meeting logged: the partner is reminded before
    /// the meeting is due, and the registration expires when it is not.
    Unmet,
    /// Approved for this many days with its first meeting logged: no
    /// reminder, and it expires when the hold ends.
    Held(i64),
}

impl Plan {
    /// How long after it arrives the registration expires, if it does.
    fn lifetime(self) -> Option<Duration> {
        match self {
            Plan::Waiting => None,
            Plan::Unmet => Some(Duration::days(MEETING_SLA_DAYS)),
            Plan::Held(days) => Some(Duration::days(days)),
        }
    }
}

/// A partner of the seed: when it arrives, its tier, its people, and its
/// registrations.
struct Seed {
    name: &'static str,
    /// Hours after START, a whole number of steps; not in a week's last
    /// step, so whichever sweep sends its first summary, that falls in the
    /// week it arrived.
    arrives: i64,
    tier: &'static str,
    people: &'static [&'static str],
    plans: &'static [Plan],
}

/// Two waves, so the deadlines fall on many different steps, each a race
/// of its own; the second arrives while both processes sweep.
const SEED: [Seed; 8] = [
    Seed {
        name: "Northwind",
        arrives: 0,
        tier: "registered",
        people: &["ana@northwind.com", "bo@northwind.com"],
        plans: &[Plan::Waiting, Plan::Unmet, Plan::Held(3)],
    },
    Seed {
        name: "Contoso",
        arrives: 0,
        tier: "select",
        people: &["cy@contoso.com"],
        plans: &[Plan::Waiting, Plan::Held(2), Plan::Held(5)],
    },
    Seed {
        name: "Globex",
        arrives: 0,
        tier: "elite",
        people: &["di@globex.com"],
        plans: &[Plan::Waiting, Plan::Unmet, Plan::Held(30)],
    },
    Seed {
        name: "Initech",
        arrives: 0,
        tier: "registered",
        people: &["ed@initech.com", "flo@initech.com", "gus@initech.com"],
        plans: &[Plan::Unmet, Plan::Held(4), Plan::Held(6), Plan::Held(30)],
    },
    // Nobody to tell: its escalation still reaches the partner team.
    Seed {
        name: "Umbrella",
        arrives: 0,
        tier: "elite",
        people: &[],
        plans: &[Plan::Waiting, Plan::Unmet],
    },
    Seed {
        name: "Stark",
        arrives: 36,
        tier: "select",
        people: &["hal@stark.com"],
        plans: &[Plan::Waiting, Plan::Unmet, Plan::Held(3), Plan::Held(30)],
    },
    Seed {
        name: "Wayne",
        arrives: 36,
        tier: "elite",
        people: &["ivy@wayne.com", "jo@wayne.com"],
        plans: &[Plan::Waiting, Plan::Held(4), Plan::Held(5)],
    },
    Seed {
        name: "Massive",
        arrives: 36,
        tier: "registered",
        people: &["kit@massive.com"],
        plans: &[Plan::Waiting, Plan::Unmet],
    },
];

impl Seed {
    fn arrival(&self) -> OffsetDateTime {
        START + Duration::hours(self.arrives)
    }

    /// Whether a sweep of the week comes `after` its arrival or later.
    fn reaches(&self, after: Duration) -> bool {
        self.arrival() + after <= end()
    }

    /// Whether `plan` expires within the week: a sweep comes after its
    /// deadline.
    fn expires(&self, plan: Plan) -> bool {
        plan.lifetime()
            .is_some_and(|lifetime| self.arrival() + lifetime < end())
    }

    fn response_sla(&self) -> Duration {
        let (_, hours) = TIERS
            .iter()
            .find(|(tier, _)| *tier == self.tier)
            .expect("a tier of the program");
        Duration::hours(*hours)
    }
}

/// Customers as unlike one another as possible, so no registration
/// conflicts with another or looks like a duplicate of it.
const COMPANIES: [&str; 25] = [
    "Acme",
    "Hooli",
    "Vandelay",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Oscorp",
    "Gringotts",
    "Bluth",
    "Monarch",
    "Aperture",
    "Dunder",
    "Pendant",
    "Zorg",
    "Duff",
    "Krusty",
    "Nakatomi",
    "Prestige",
    "Sirius",
    "Virtucon",
    "Wernham",
    "Yoyodyne",
    "Quahog",
    "Rekall",
];

/// One message that went out: to whom, of what kind, and the case, week or
/// quarter it is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Sent {
    to: String,
    kind: &'static str,
    about: String,
}

impl Sent {
    fn new(to: &str, kind: &'static str, about: &str) -> Sent {
        Sent {
            to: to.into(),
            kind,
            about: about.into(),
        }
    }
}

/// A phrase of each kind's subject, and the kind.
const KINDS: [(&str, &str); 6] = [
    (": approved", "approved"),
    (": expired", "expired"),
    ("response time", "escalated"),
    ("log your first meeting", "meeting reminder"),
    ("registrations this week", "weekly summary"),
    ("partner review is due", "review due"),
];

#[tokio::test]
async fn two_servers_on_one_postgres_send_every_reminder_of_a_week_once() {
    // backends() says why when PostgreSQL is not there to test with.
    if !backends().contains(&Db::Postgres) {
        return;
    }
    let began = Instant::now();
    let fresh = FreshDb::new(Db::Postgres).await;
    let migrate = trellis()
        .args(["migrate", "--db", &fresh.url])
        .output()
        .expect("run");
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let dir = tempfile::tempdir().expect("dir");
    let outboxes = [dir.path().join("outbox-a"), dir.path().join("outbox-b")];
    let servers = start_servers(&fresh.url, dir.path(), &outboxes);
    let database = sqlx::PgPool::connect(&fresh.url).await.expect("connect");

    let cases = run_week(&servers, &database).await;

    let expected = expected(&cases);
    let [a, b] = outboxes.each_ref().map(|outbox| sent_from(outbox));
    assert_each_sent_once(a.iter().chain(&b), &expected);
    assert!(
        !a.is_empty() && !b.is_empty(),
        "both processes must do part of the work: {} and {} messages",
        a.len(),
        b.len()
    );
    let mut kinds = BTreeMap::<&str, usize>::new();
    for message in &expected {
        *kinds.entry(message.kind).or_default() += 1;
    }
    eprintln!(
        "{} messages, each sent once ({kinds:?}): {} by one process, {} by the other, in {:.1?}",
        expected.len(),
        a.len(),
        b.len(),
        began.elapsed()
    );
}

/// Two `trellis serve --test-clock` processes on the database, each with
/// its own outbox folder, both running the program file and sweeping every
/// second beside the sweeps the steps ask for.
fn start_servers(db_url: &str, dir: &Path, outboxes: &[PathBuf; 2]) -> [Server; 2] {
    let program_file = dir.join("program.toml");
    std::fs::write(&program_file, program()).expect("program file");
    let program_file = program_file.display().to_string();
    let clock = format!("--test-clock={}", stamp(START));
    outboxes.each_ref().map(|outbox| {
        let outbox = outbox.display().to_string();
        let flags = [
            &clock,
            "--sweep-seconds",
            "1",
            "--outbox",
            &outbox,
            "--config",
            &program_file,
        ];
        Server::start(db_url, &flags)
    })
}

/// Steps both clocks through the week, the seed arriving on its way;
/// returns each partner's case numbers.
async fn run_week(servers: &[Server; 2], database: &sqlx::PgPool) -> Vec<Vec<String>> {
    let mut cases = vec![Vec::new(); SEED.len()];
    let mut companies = COMPANIES.into_iter();
    for (k, at) in schedule().enumerate() {
        sweep_both(servers, at, k % 2).await;
        let arriving: Vec<_> = (0..SEED.len())
            .filter(|i| SEED[*i].arrival() == at)
            .collect();
        for &i in &arriving {
            cases[i] = seed(&servers[i % 2], &SEED[i], &mut companies).await;
        }
        if !arriving.is_empty() {
            // Both sweep again at once, racing to send what arrived: the
            // approvals and the new partners' first summaries.
            sweep_both(servers, at, (k + 1) % 2).await;
        }
        drained(database).await;
    }
    cases
}

/// Every expected message went out once, and nothing else did.
fn assert_each_sent_once<'a>(sent: impl Iterator<Item = &'a Sent>, expected: &BTreeSet<Sent>) {
    let mut counts = BTreeMap::<&Sent, usize>::new();
    for message in sent {
        *counts.entry(message).or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "sent more than once: {repeated:#?}");
    let delivered: BTreeSet<Sent> = counts.into_keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&delivered).collect();
    let unexpected: Vec<_> = delivered.difference(expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing: {missing:#?}\nunexpected: {unexpected:#?}"
    );
}

/// Creates a partner, its people and its registrations through the API,
/// now; returns its case numbers, in the order of its plans.
async fn seed(
    server: &Server,
    partner: &Seed,
    companies: &mut impl Iterator<Item = &'static str>,
) -> Vec<String> {
    let body = json!({"name": partner.name, "kind": "reseller", "tier": partner.tier});
    let created = expect(server, "/api/v1/partners", body, StatusCode::CREATED).await;
    let id = created["id"].as_i64().expect("id");
    // People first: a weekly summary goes, once, to the people a partner
    // has when it first has an open registration.
    for email in partner.people {
        let path = format!("/api/v1/partners/{id}/users");
        let person = json!({"name": email, "email": email});
        expect(server, &path, person, StatusCode::CREATED).await;
    }
    let mut cases = Vec::new();
    for plan in partner.plans {
        let company = companies.next().expect("a company for each registration");
        let lead = lead_for(id, company, &format!("{}.com", company.to_lowercase()));
        let created = expect(server, "/api/v1/registrations", lead, StatusCode::CREATED).await;
        let at = partner.arrival();
        decide(server, created["id"].as_i64().expect("id"), *plan, at).await;
        cases.push(created["case_number"].as_str().expect("case").to_owned());
    }
    cases
}

/// Carries out `plan` on a registration just submitted, `now`.
async fn decide(server: &Server, id: i64, plan: Plan, now: OffsetDateTime) {
    let decision = format!("/api/v1/registrations/{id}/decision");
    match plan {
        Plan::Waiting => {}
        Plan::Unmet => {
            let approve = json!({"decision": "approve"});
            expect(server, &decision, approve, StatusCode::OK).await;
        }
        Plan::Held(days) => {
            let approve = json!({"decision": "approve", "hold_days": days});
            expect(server, &decision, approve, StatusCode::OK).await;
            let meeting = format!("/api/v1/registrations/{id}/meetings");
            let held = json!({"held_at": stamp(now)});
            expect(server, &meeting, held, StatusCode::OK).await;
        }
    }
}

async fn expect(server: &Server, path: &str, body: Value, status: StatusCode) -> Value {
    let (answered, body) = server.post(path, body).await;
    assert_eq!(answered, status, "{path}: {body}");
    body
}

/// Every message the seed calls for in the week, each once.
fn expected(cases: &[Vec<String>]) -> BTreeSet<Sent> {
    let reminded = Duration::days(MEETING_SLA_DAYS - REMINDER_DAYS);
    let mut all = BTreeSet::new();
    for (partner, cases) in SEED.iter().zip(cases) {
        assert!(
            partner.plans.iter().any(|plan| !partner.expires(*plan)),
            "{}: one registration stays open, so each week has its summary",
            partner.name
        );
        for to in partner.people {
            let weeks = weeks_from(partner.arrival());
            all.extend(weeks.iter().map(|w| Sent::new(to, "weekly summary", w)));
        }
        for (case, plan) in cases.iter().zip(partner.plans) {
            if matches!(plan, Plan::Waiting) {
                if partner.reaches(partner.response_sla()) {
                    all.insert(Sent::new(ESCALATION, "escalated", case));
                }
                continue;
            }
            for to in partner.people {
                all.insert(Sent::new(to, "approved", case));
                if matches!(plan, Plan::Unmet) && partner.reaches(reminded) {
                    all.insert(Sent::new(to, "meeting reminder", case));
                }
                if partner.expires(*plan) {
                    all.insert(Sent::new(to, "expired", case));
                }
            }
        }
    }
    all.extend(
        quarters()
            .iter()
            .map(|q| Sent::new(ESCALATION, "review due", q)),
    );
    all
}

/// The times both clocks are set to: START, then every step to a week on.
fn schedule() -> impl Iterator<Item = OffsetDateTime> {
    (0..=DAYS * 24 / STEP_HOURS).map(|k| START + Duration::hours(k * STEP_HOURS))
}

fn end() -> OffsetDateTime {
    START + Duration::days(DAYS)
}

/// The ISO weeks from `arrival` to the end: a partner's summary comes once
/// in each.
fn weeks_from(arrival: OffsetDateTime) -> BTreeSet<String> {
    let week = |at: OffsetDateTime| {
        let (year, week, _) = at.to_iso_week_date();
        format!("{year}-W{week:02}")
    };
    schedule().filter(|at| *at >= arrival).map(week).collect()
}

/// The quarters whose review is due at some time of the week (the last one
/// complete): nothing publishes a review, so each is reminded of once.
fn quarters() -> BTreeSet<String> {
    let before = |at: OffsetDateTime| match (at.month() as i32 - 1) / 3 {
        0 => format!("{}-Q4", at.year() - 1),
        current => format!("{}-Q{current}", at.year()),
    };
    schedule().map(before).collect()
}

/// Sets both clocks to `at` at once, so the two processes sweep at the
/// same time; `leader` is asked first.
async fn sweep_both(servers: &[Server; 2], at: OffsetDateTime, leader: usize) {
    let (first, second) = (&servers[leader], &servers[1 - leader]);
    tokio::join!(set_clock(first, at), set_clock(second, at));
}

/// Moves a server's clock to `at`; it answers once it has swept at it.
async fn set_clock(server: &Server, at: OffsetDateTime) {
    let (status, body) = server
        .post("/api/v1/test-clock", json!({"now": stamp(at)}))
        .await;
    assert_eq!(
        (status, body["now"].as_str()),
        (StatusCode::OK, Some(stamp(at).as_str()))
    );
}

/// Waits until no notification is left to send. A step jumps hours, while
/// a process's claim on a message it is sending lasts minutes of the same
/// clock: a jump in the middle of a send would let the other process take
/// the message over as though the sender had crashed, and send it again.
/// Real time does not jump, so the week moves on only between sends.
async fn drained(database: &sqlx::PgPool) {
    let waiting = "SELECT COUNT(*) FROM notifications WHERE status = 'pending'";
    let until = Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let left: i64 = sqlx::query_scalar(waiting)
            .fetch_one(database)
            .await
            .expect("count pending notifications");
        if left == 0 {
            return;
        }
        assert!(
            Instant::now() < until,
            "{left} notifications never went out"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Every message a process wrote to its outbox folder.
fn sent_from(outbox: &Path) -> Vec<Sent> {
    let Ok(files) = std::fs::read_dir(outbox) else {
        return Vec::new();
    };
    files
        .map(|file| std::fs::read_to_string(file.expect("entry").path()).expect("eml"))
        .map(|mail| read_sent(&mail))
        .collect()
}

/// Who a message went to and what it is about, from its headers.
fn read_sent(mail: &str) -> Sent {
    let subject = header(mail, "Subject");
    let kind = KINDS
        .iter()
        .find(|(phrase, _)| subject.contains(phrase))
        .map(|(_, kind)| *kind)
        .unwrap_or_else(|| panic!("a message of no expected kind: {subject}"));
    let about = subject
        .split_whitespace()
        .map(|word| word.trim_matches(|c| "():".contains(c)))
        .find(|word| {
            word.starts_with("REG-") || ["-W", "-Q"].contains(&word.get(4..6).unwrap_or(""))
        })
        .unwrap_or_else(|| panic!("no case, week or quarter in {subject}"));
    Sent::new(&header(mail, "To"), kind, about)
}

/// A header's value, with its folded lines joined again.
fn header(mail: &str, name: &str) -> String {
    let mail = mail.replace("\r\n", "\n");
    let head = mail.split("\n\n").next().unwrap_or_default();
    let prefix = format!("{name}: ");
    head.replace("\n ", " ")
        .replace("\n\t", " ")
        .lines()
        .find_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {name} header in {head}"))
}

fn stamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("an RFC 3339 time")
}
