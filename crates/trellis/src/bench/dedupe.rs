//! `trellis bench dedupe`: how long `Store::match_account` (exact domain and
//! name, then the fuzzy neighbourhood scans) takes among millions of
//! accounts, beside a bare indexed lookup by domain.

use super::companies::Company;
use super::stats::{ms, print_table, print_targets, thousands, Run, Target};
use super::{progress, BenchDbArgs};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::SqlitePool;
use std::time::{Duration, Instant};
use trellis_domain::dedupe::{CompanyName, WebDomain};
use trellis_domain::program::Program;
use trellis_store::{AccountMatch, Store};

#[derive(clap::Args)]
pub struct Args {
    /// Accounts on file to search.
    #[arg(long, default_value_t = 5_000_000)]
    accounts: u64,
    /// Lookups to time.
    #[arg(long, default_value_t = 20_000)]
    lookups: usize,
    #[command(flatten)]
    db: BenchDbArgs,
}

const TARGET_P99: Duration = Duration::from_millis(1);

/// What a lookup stands for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A company on file, typed with its domain (and another legal form).
    Domain,
    /// A company on file, typed by name only.
    Name,
    /// A company on file, typed by name with one wrong letter.
    Typo,
    /// A company not on file, with its domain.
    Unknown,
}

/// Each kind and its share of the lookups, in percent.
const MIX: [(Kind, u32); 4] = [
    (Kind::Domain, 35),
    (Kind::Name, 25),
    (Kind::Typo, 25),
    (Kind::Unknown, 15),
];

impl Kind {
    /// The row label in the printed table.
    fn label(self) -> &'static str {
        match self {
            Kind::Domain => "match_account, domain on file",
            Kind::Name => "match_account, name on file",
            Kind::Typo => "match_account, name with a typo",
            Kind::Unknown => "match_account, unknown company",
        }
    }

    /// What a correct answer to this kind of lookup holds.
    fn expects(self) -> &'static str {
        match self {
            Kind::Domain => "linked by domain",
            Kind::Name => "linked by name",
            Kind::Typo => "the account among the candidates",
            Kind::Unknown => "no link",
        }
    }
}

struct Lookup {
    kind: Kind,
    name: CompanyName,
    domain: Option<WebDomain>,
    /// The company's domain, for the reference lookup.
    probe: WebDomain,
    /// The name on file, to recognise the right account in the answer.
    on_file: String,
}

/// Loads the accounts, times every lookup beside its reference, and prints
/// the latencies, whether each answer was right, and the target.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let db = args.db.open().await?;
    println!("trellis bench dedupe");
    println!("  database  {}", db.url);
    db.load_and_report(args.accounts).await?;
    let lookups = lookups(args.accounts, args.lookups)?;
    let threshold = Program::default().dedupe.fuzzy_threshold;
    let timed = time_all(&db.store, &db.reference, &lookups, threshold).await?;
    report(&lookups, &timed)
}

/// The lookups, in a random mix of kinds over random accounts.
fn lookups(accounts: u64, count: usize) -> anyhow::Result<Vec<Lookup>> {
    let mut rng = StdRng::seed_from_u64(20_260_105);
    let mut lookups = Vec::with_capacity(count);
    for n in 0..count as u64 {
        let kind = kind_at(rng.random_range(0..100));
        let index = match kind {
            Kind::Unknown => accounts + n,
            _ => rng.random_range(0..accounts),
        };
        lookups.push(lookup(kind, &Company::at(index)?, &mut rng)?);
    }
    Ok(lookups)
}

/// The kind whose share of `MIX` covers `percent` (0 to 99).
fn kind_at(percent: u32) -> Kind {
    let mut below = 0;
    for (kind, share) in MIX {
        below += share;
        if percent < below {
            return kind;
        }
    }
    MIX[0].0
}

/// What a partner would type for `company` in a lookup of this kind.
fn lookup(kind: Kind, company: &Company, rng: &mut StdRng) -> anyhow::Result<Lookup> {
    let name = match kind {
        Kind::Typo => company.name_with_typo(rng.random_range(0..64))?,
        _ => company.name_as_typed()?,
    };
    // A domain lookup needs the domain on file; a CRM record without one
    // is found by name, which the name kind covers.
    let kind = match kind {
        Kind::Domain if !company.domain_on_file() => Kind::Name,
        kind => kind,
    };
    let domain = matches!(kind, Kind::Domain | Kind::Unknown).then(|| company.domain.clone());
    Ok(Lookup {
        kind,
        name,
        domain,
        probe: company.domain.clone(),
        on_file: company.name()?.as_str().to_owned(),
    })
}

/// Per lookup: our latency, whether the answer was right, and the
/// reference's latency.
struct Timed {
    ours: Duration,
    right: bool,
    reference: Duration,
}

/// Times each lookup and its reference back to back, alternating which goes
/// first, so both see the same moment of a noisy machine and neither always
/// finds the pages the other just read.
async fn time_all(
    store: &Store,
    reference: &SqlitePool,
    lookups: &[Lookup],
    threshold: f64,
) -> anyhow::Result<Vec<Timed>> {
    let bar = progress(lookups.len() as u64, "lookups");
    let mut timed = Vec::with_capacity(lookups.len());
    for (n, lookup) in lookups.iter().enumerate() {
        let (ours, bare) = if n % 2 == 0 {
            let ours = time_match(store, lookup, threshold).await?;
            (ours, time_reference(reference, &lookup.probe).await?)
        } else {
            let bare = time_reference(reference, &lookup.probe).await?;
            (time_match(store, lookup, threshold).await?, bare)
        };
        timed.push(Timed {
            ours: ours.1,
            right: is_right(lookup, &ours.0),
            reference: bare,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(timed)
}

/// The operation under test, timed as the API calls it.
async fn time_match(
    store: &Store,
    lookup: &Lookup,
    threshold: f64,
) -> anyhow::Result<(AccountMatch, Duration)> {
    let started = Instant::now();
    let found = store
        .match_account(&lookup.name, lookup.domain.as_ref(), threshold)
        .await?;
    Ok((found, started.elapsed()))
}

/// The bare operation: one indexed equality lookup, nothing else.
async fn time_reference(pool: &SqlitePool, domain: &WebDomain) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let _: Option<(i64,)> = sqlx::query_as("SELECT id FROM accounts WHERE domain = ?")
        .bind(domain.as_str())
        .fetch_optional(pool)
        .await?;
    Ok(started.elapsed())
}

/// Whether the answer is what this kind of lookup should get: speed bought
/// with wrong answers would not count.
fn is_right(lookup: &Lookup, found: &AccountMatch) -> bool {
    let linked = found.linked.as_ref().map(|a| a.name.as_str());
    match lookup.kind {
        Kind::Domain | Kind::Name => {
            let how = if lookup.kind == Kind::Domain {
                "domain"
            } else {
                "name"
            };
            found.matched_on == Some(how) && linked == Some(lookup.on_file.as_str())
        }
        Kind::Typo => linked.is_none() && found.candidates.iter().any(|c| c.name == lookup.on_file),
        Kind::Unknown => linked.is_none(),
    }
}

/// Prints all lookups, each kind, and the reference in one table, then the
/// checks and the target.
fn report(lookups: &[Lookup], timed: &[Timed]) -> anyhow::Result<()> {
    println!(
        "  lookups   {}, one at a time",
        thousands(timed.len() as u64)
    );
    println!();
    let ours = Run::sequential("match_account, all", timed.iter().map(|t| t.ours).collect());
    let reference = Run::sequential(
        "reference: SELECT id FROM accounts WHERE domain = ?",
        timed.iter().map(|t| t.reference).collect(),
    );
    let kinds: Vec<Run> = MIX
        .iter()
        .map(|(kind, _)| Run::sequential(kind.label(), of_kind(lookups, timed, *kind, |t| t.ours)))
        .collect();
    let mut rows: Vec<&Run> = vec![&ours];
    rows.extend(&kinds);
    rows.push(&reference);
    print_table(&rows);
    println!(
        "  p99 ratio (ours / reference): {:.1}",
        ours.percentile(99).as_secs_f64() / reference.percentile(99).as_secs_f64()
    );
    println!();
    println!("checks:");
    for (kind, _) in MIX {
        let right = of_kind(lookups, timed, kind, |t| t.right);
        let count = right.iter().filter(|r| **r).count();
        println!(
            "  {:<32} {} of {} answered with {}",
            kind.label(),
            thousands(count as u64),
            thousands(right.len() as u64),
            kind.expects()
        );
    }
    print_targets(&[Target {
        goal: "match_account p99 < 1 ms".into(),
        measured: format!("{} ms", ms(ours.percentile(99))),
        met: ours.percentile(99) < TARGET_P99,
    }]);
    Ok(())
}

/// One field of the timings of one kind of lookup.
fn of_kind<T>(lookups: &[Lookup], timed: &[Timed], kind: Kind, field: fn(&Timed) -> T) -> Vec<T> {
    lookups
        .iter()
        .zip(timed)
        .filter(|(l, _)| l.kind == kind)
        .map(|(_, t)| field(t))
        .collect()
}
