//! `trellis bench csv`: a partner's bulk upload (one in ten rows repeating
//! an earlier row, one in twenty invalid) imported into a database holding
//! many accounts, beside the time merely to parse the same file.

use super::companies::Company;
use super::registrations;
use super::stats::{ms, print_targets, thousands, Target};
use super::BenchDbArgs;
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use trellis_domain::event::Actor;
use trellis_domain::partner::PartnerKind;
use trellis_domain::program::Program;
use trellis_intake::csv_rows;
use trellis_server::intake::csv::Importer;
use trellis_store::NewPartner;

#[derive(clap::Args)]
pub struct Args {
    /// Accounts on file before the import.
    #[arg(long, default_value_t = 1_000_000)]
    accounts: u64,
    /// Rows in the file.
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    #[command(flatten)]
    db: BenchDbArgs,
}

const TARGET_TOTAL: Duration = Duration::from_secs(10);
const TARGET_RATIO: f64 = 5.0;

pub async fn run(args: Args) -> anyhow::Result<()> {
    let db = args.db.open().await?;
    println!("trellis bench csv");
    db.load_and_report(args.accounts).await?;
    let file = file(args.accounts, args.rows)?;
    println!(
        "  file      {} rows, {:.1} MB",
        thousands(args.rows),
        file.len() as f64 / 1e6
    );

    let parse = time_parse(&file)?;
    let new = NewPartner::plain("Bench Partner", PartnerKind::Reseller, "registered");
    let now = time::OffsetDateTime::now_utc();
    let partner = db.store.create_partner(&new, &Actor::System, now).await?;
    let program = Program::default();
    let importer = Importer {
        store: &db.store,
        program: &program,
        partner: partner.id,
        actor: Actor::Partner {
            partner_id: partner.id,
        },
        now,
    };
    let started = Instant::now();
    let report = importer
        .import(file.as_slice(), |_, _| {})
        .await
        .map_err(|e| anyhow::anyhow!(e.detail()))?;
    let import = started.elapsed();
    let floor = registrations::bare_bulk_insert(&db.reference, 0).await?;
    let s = &report.summary;
    println!(
        "{:<44} {:>10} ms",
        "parse the file alone (reference)",
        ms(parse)
    );
    println!(
        "{:<44} {:>10} ms",
        "the registrations alone, bare, one commit",
        ms(floor)
    );
    println!(
        "{:<44} {:>10} ms",
        "import: parse, validate, dedupe, register",
        ms(import)
    );
    println!(
        "rows: {} registered, {} duplicate, {} invalid, {} refused; {:.0} rows/s",
        s.registered,
        s.duplicate,
        s.invalid,
        s.refused,
        args.rows as f64 / import.as_secs_f64()
    );
    let ratio = import.as_secs_f64() / parse.as_secs_f64().max(1e-9);
    print_targets(&[
        Target {
            goal: "import under 10 s".into(),
            measured: format!("{:.2} s", import.as_secs_f64()),
            met: import < TARGET_TOTAL,
        },
        Target {
            goal: "within 5x of the parse alone".into(),
            measured: format!("{ratio:.1}x"),
            met: ratio <= TARGET_RATIO,
        },
    ]);
    Ok(())
}

/// The reference the target names: read every row and check the whole
/// file, nothing more. Beside it the run prints a floor under any import:
/// the registrations it wrote, inserted again bare in one transaction.
fn time_parse(file: &[u8]) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let (_, mut rows) =
        csv_rows::read(file, csv_rows::MAX_ROWS).map_err(|e| anyhow::anyhow!("{e}"))?;
    let count = rows.by_ref().count();
    rows.finish().map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(count > 0, "the generated file has no rows");
    Ok(started.elapsed())
}

/// The upload: seven rows in ten name companies on file (by domain, or by
/// name alone), the rest new companies; every tenth row repeats the row
/// before it, every twentieth has an invalid email.
fn file(accounts: u64, rows: u64) -> anyhow::Result<Vec<u8>> {
    let mut out = String::from("Company,Website,Contact,Email,Use case,Consent\r\n");
    let mut previous = String::new();
    for row in 0..rows {
        if row % 10 == 9 {
            out.push_str(&previous);
            continue;
        }
        let index = if row % 10 < 7 {
            (row * 7919) % accounts.max(1)
        } else {
            accounts + row
        };
        let company = Company::at(index)?;
        let email = if row % 20 == 3 {
            "not-an-email".to_owned()
        } else {
            format!("buyer{row}@{}", company.domain.as_str())
        };
        let website = if row % 3 == 0 {
            ""
        } else {
            company.domain.as_str()
        };
        previous.clear();
        writeln!(
            previous,
            "\"{}\",{website},Jordan Lee,{email},Consolidating regional tools,yes\r",
            company.name_as_typed()?.as_str()
        )?;
        out.push_str(&previous);
    }
    Ok(out.into_bytes())
}
