//! The demo program: about 40 partners of every kind and tier, a few hundred
//! accounts, and half a year of registrations driven through the real core
//! (so every status, conflict and event is one the rules produced).

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::{Duration, OffsetDateTime};
use trellis_domain::dedupe::{CompanyName, Email, WebDomain};
use trellis_domain::event::Actor;
use trellis_domain::ids::{PartnerId, RegistrationId};
use trellis_domain::lifecycle::Command;
use trellis_domain::partner::PartnerKind;
use trellis_domain::program::Program;
use trellis_domain::registration::{Channel, DealDetails, Draft, Market, RegistrationKind, Status};
use trellis_domain::values::{Currency, Money, Text};
use trellis_store::{NewAccount, NewPartner, Store};

const PARTNER_WORDS: &[&str] = &[
    "Northwind",
    "Bluepeak",
    "Cedar",
    "Harbor",
    "Ironbridge",
    "Lumen",
    "Meridian",
    "Nimbus",
    "Orbital",
    "Pinnacle",
    "Quarry",
    "Redwood",
    "Summit",
    "Tidewater",
    "Upland",
    "Vertex",
    "Westgate",
    "Yellowstone",
    "Zephyr",
    "Alder",
];
const PARTNER_SUFFIXES: &[&str] = &["Consulting", "Systems", "Partners", "Digital"];
const COMPANY_A: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Gringotts",
    "Oscorp",
    "Aperture",
    "Monarch",
    "Dunder",
    "Prestige",
    "Sterling",
    "Pied Piper",
];
const COMPANY_B: &[&str] = &[
    "Logistics",
    "Foods",
    "Health",
    "Energy",
    "Bank",
    "Retail",
    "Labs",
    "Media",
    "Motors",
    "Insurance",
    "Telecom",
    "Airlines",
    "Pharma",
    "Realty",
    "Analytics",
];
const LEGAL: &[&str] = &[
    "Inc.", "GmbH", "Ltd", "S.A.", "B.V.", "LLC", "AG", "Oy", "SAS", "PLC",
];
const TLDS: &[&str] = &["com", "de", "co.uk", "fr", "nl", "io", "com.au", "se"];
const REGIONS: &[&str] = &["NA", "EMEA", "APAC", "LATAM"];
const SEGMENTS: &[&str] = &["enterprise", "mid-market", "smb"];
const PRODUCTS: &[&str] = &["platform", "analytics", "security"];

/// Loads the demo unless the database already has partners.
pub async fn load_if_empty(store: &Store, program: &Program) -> anyhow::Result<()> {
    if store.partners(0, 1).await?.is_empty() {
        load(store, program).await?;
    }
    Ok(())
}

pub async fn load(store: &Store, program: &Program) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(20261125);
    let now = OffsetDateTime::now_utc();
    let start = now - Duration::days(180);
    let partners = partners(store, program, &mut rng, start).await?;
    let companies = accounts(store, &mut rng, start).await?;
    let registrations =
        simulate(store, program, &mut rng, &partners, &companies, start, now).await?;
    store.expire_due(program, now).await?;
    let mut kinds = Vec::with_capacity(partners.len());
    for &id in &partners {
        kinds.push((id, store.partner(id).await?.kind));
    }
    let metrics = crate::demo_tiers::load(store, program, &mut rng, &kinds, now).await?;
    println!(
        "demo loaded: {} partners, {} accounts, {} registrations, {} tier metrics and a draft review",
        partners.len(),
        companies.len(),
        registrations,
        metrics
    );
    let password = staff_user(store, now).await?;
    println!(
        "staff workspace: sign in at /staff/sign-in as {DEMO_STAFF} with the password {password} \
         (shown once; change it with `trellis user password`)"
    );
    Ok(())
}

/// The demo's partner manager, who signs in to the staff workspace.
const DEMO_STAFF: &str = "dana@trellis.example";

/// Adds the demo's partner manager with a random password, returned to be
/// shown once: a demo on a shared machine must not open with a known one.
async fn staff_user(store: &Store, now: OffsetDateTime) -> anyhow::Result<String> {
    let mut bytes = [0u8; 9];
    rand::rng().fill(&mut bytes);
    let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hash = trellis_server::passwords::hash(&password)?;
    let email = Email::parse(DEMO_STAFF).context("demo staff address")?;
    let new = trellis_store::NewStaffUser {
        email: &email,
        name: "Dana Demo",
        role: trellis_store::Role::Admin,
        password_hash: Some(&hash),
    };
    store.create_staff_user(&new, now).await?;
    Ok(password)
}

async fn partners(
    store: &Store,
    program: &Program,
    rng: &mut StdRng,
    at: OffsetDateTime,
) -> anyhow::Result<Vec<PartnerId>> {
    let mut ids = Vec::new();
    for i in 0..40 {
        let name = format!(
            "{} {}",
            PARTNER_WORDS[i % 20],
            PARTNER_SUFFIXES[i / 20 + (i % 2) * 2]
        );
        let domain = format!("{}-partners{i}.com", PARTNER_WORDS[i % 20].to_lowercase());
        let tier =
            &program.tiers[[0, 0, 0, 1, 1, 2][rng.random_range(0..6)].min(program.tiers.len() - 1)];
        let new = NewPartner {
            name: name.clone(),
            kind: PartnerKind::ALL[i % 4],
            tier: tier.id.clone(),
            email_domains: vec![domain.clone()],
            regions: vec![REGIONS[i % 4].into()],
            segments: vec![SEGMENTS[i % 3].into()],
        };
        let partner = store.create_partner(&new, &Actor::System, at).await?;
        let email = Email::parse(&format!("alex@{domain}")).map_err(anyhow::Error::msg)?;
        store
            .add_partner_user(partner.id, "Alex Morgan", &email, &Actor::System, at)
            .await?;
        ids.push(partner.id);
    }
    Ok(ids)
}

/// A few hundred accounts imported from the "CRM", some without a domain.
async fn accounts(
    store: &Store,
    rng: &mut StdRng,
    at: OffsetDateTime,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut companies = Vec::new();
    let mut batch = Vec::new();
    for (i, a) in COMPANY_A.iter().enumerate() {
        for (j, b) in COMPANY_B.iter().enumerate() {
            let name = format!("{a} {b} {}", LEGAL[(i + j) % LEGAL.len()]);
            let domain = format!(
                "{}{}.{}",
                a.to_lowercase().replace(' ', ""),
                b.to_lowercase(),
                TLDS[(i * 3 + j) % TLDS.len()]
            );
            companies.push((name.clone(), domain.clone()));
            if rng.random_bool(0.6) {
                let name = CompanyName::parse(&name).map_err(anyhow::Error::msg)?;
                let domain = rng
                    .random_bool(0.8)
                    .then(|| WebDomain::parse(&domain))
                    .transpose()
                    .map_err(anyhow::Error::msg)?;
                batch.push(NewAccount {
                    name,
                    domain,
                    source: "import".into(),
                });
            }
        }
    }
    store.import_accounts(&batch, at).await?;
    Ok(companies)
}

/// Half a year of daily activity: new registrations, decisions, meetings and
/// outcomes, each through the same core the API uses.
async fn simulate(
    store: &Store,
    program: &Program,
    rng: &mut StdRng,
    partners: &[PartnerId],
    companies: &[(String, String)],
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> anyhow::Result<usize> {
    let staff = Actor::Staff {
        token_id: 0,
        role: "manager".into(),
    };
    let shared = std::sync::Arc::new(program.clone());
    let mut open: Vec<RegistrationId> = Vec::new();
    let mut count = 0;
    let mut day = start;
    while day < end - Duration::days(1) {
        for _ in 0..rng.random_range(1..4) {
            let partner = partners[rng.random_range(0..partners.len())];
            let (name, domain) = &companies[rng.random_range(0..companies.len())];
            let draft = draft(rng, partner, name, domain)?;
            if let Ok(done) = store
                .register(
                    &draft,
                    &shared,
                    &Actor::Partner {
                        partner_id: partner,
                    },
                    day,
                    None,
                )
                .await
            {
                open.push(done.registration.id);
                count += 1;
            }
        }
        let mut still_open = Vec::new();
        for id in open.drain(..) {
            let at = day + Duration::hours(rng.random_range(1..20));
            if advance(store, program, rng, id, &staff, at).await? {
                still_open.push(id);
            }
        }
        open = still_open;
        day += Duration::days(1);
    }
    Ok(count)
}

/// Moves one registration along with some probability; returns whether it
/// is still active.
async fn advance(
    store: &Store,
    program: &Program,
    rng: &mut StdRng,
    id: RegistrationId,
    staff: &Actor,
    at: OffsetDateTime,
) -> anyhow::Result<bool> {
    let record = store.registration(id, None).await?;
    let roll: f64 = rng.random();
    let command = match record.life.status {
        Status::Submitted if roll < 0.25 => Some(Command::Approve { hold_days: None }),
        Status::Submitted if roll < 0.29 => Some(Command::Decline {
            reason: text("Existing direct opportunity in the CRM")?,
        }),
        Status::Submitted if roll < 0.32 => Some(Command::RequestInfo {
            question: text("Which business unit is evaluating, and who is the sponsor?")?,
        }),
        Status::MoreInfo if roll < 0.3 => Some(Command::ProvideInfo {
            message: text("The CFO's office sponsors it; the finance unit is evaluating.")?,
        }),
        Status::Approved if record.life.first_meeting_at.is_none() && roll < 0.12 => {
            Some(Command::LogMeeting {
                held_at: at - Duration::hours(2),
            })
        }
        Status::Approved if record.life.first_meeting_at.is_some() && roll < 0.03 => {
            Some(Command::Win { amount: None })
        }
        Status::Approved if record.life.first_meeting_at.is_some() && roll < 0.05 => {
            Some(Command::Lose { reason: None })
        }
        _ => None,
    };
    let actor = match &command {
        Some(Command::ProvideInfo { .. }) | Some(Command::LogMeeting { .. }) => Actor::Partner {
            partner_id: record.partner_id,
        },
        _ => staff.clone(),
    };
    let record = match command {
        // A refusal (an expired window, a first_registered rule) is part of life.
        Some(command) => store
            .apply(id, command, None, program, &actor, at)
            .await
            .unwrap_or(record),
        None => record,
    };
    Ok(record.life.status.is_active())
}

fn text(s: &str) -> anyhow::Result<Text> {
    Text::parse("text", s).context("demo text")
}

fn draft(rng: &mut StdRng, partner: PartnerId, name: &str, domain: &str) -> anyhow::Result<Draft> {
    let contact = [
        "Jordan Lee",
        "Sam Rivera",
        "Priya Nair",
        "Lena Fischer",
        "Tomás García",
        "Aiko Tanaka",
    ][rng.random_range(0..6)];
    let first = contact.split(' ').next().unwrap_or("info").to_lowercase();
    let deal = rng.random_bool(0.4);
    let usd = Currency::parse("USD").map_err(anyhow::Error::msg)?;
    Ok(Draft {
        partner_id: partner,
        kind: if deal {
            RegistrationKind::Deal
        } else {
            RegistrationKind::Lead
        },
        channel: Channel::Demo,
        company_name: CompanyName::parse(name).map_err(anyhow::Error::msg)?,
        domain: rng
            .random_bool(0.85)
            .then(|| WebDomain::parse(domain))
            .transpose()
            .map_err(anyhow::Error::msg)?,
        contact_name: text(contact)?,
        contact_email: Email::parse(&format!("{first}@{domain}")).map_err(anyhow::Error::msg)?,
        use_case: Some(text(
            "Consolidating three regional tools onto one platform",
        )?),
        market: Market {
            segment: Some(SEGMENTS[rng.random_range(0..3)].into()),
            region: Some(REGIONS[rng.random_range(0..4)].into()),
            product: Some(PRODUCTS[rng.random_range(0..3)].into()),
        },
        deal: deal
            .then(|| -> anyhow::Result<DealDetails> {
                Ok(DealDetails {
                    stage: text("Discovery")?,
                    amount: Money {
                        minor: rng.random_range(5_000..250_000) * 100,
                        currency: usd,
                    },
                    expected_close: (OffsetDateTime::now_utc()
                        + Duration::days(rng.random_range(30..180)))
                    .date(),
                    next_step: Some(text("Technical deep-dive with the platform team")?),
                })
            })
            .transpose()?,
    })
}
