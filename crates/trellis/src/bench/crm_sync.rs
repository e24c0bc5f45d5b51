//! `trellis bench crm`: syncing many registrations to a local fake HubSpot
//! through the real queue and connector, beside the least number of calls
//! HubSpot's batch limits allow for the same records, and beside the bare
//! connector sending the same records in ready-made batches (no queue, no
//! database) to a second fake, in the same run.

use super::companies::Company;
use super::stats::{print_targets, thousands, Target};
use super::BenchDbArgs;
use anyhow::Context;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use trellis_domain::event::Actor;
use trellis_domain::partner::PartnerKind;
use trellis_domain::program::{CrmConfig, CrmProvider, Program};
use trellis_fakes::hubspot::{FakeHubSpot, HubSpotOptions};
use trellis_server::clock::Clock;
use trellis_server::crm::dispatch::sync_once;
use trellis_server::crm::records::record_of;
use trellis_server::crm::CrmLink;
use trellis_server::intake::csv::Importer;
use trellis_server::AppState;
use trellis_store::{NewPartner, Store};
use trellis_sync::crm::hubspot::{HubSpot, ASSOCIATION_BATCH_LIMIT, BATCH_LIMIT};
use trellis_sync::crm::{Crm, Record};

#[derive(clap::Args)]
pub struct Args {
    /// Registrations to sync, each for its own company.
    #[arg(long, default_value_t = 100_000)]
    registrations: u64,
    /// Batches in flight at once.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    #[command(flatten)]
    db: BenchDbArgs,
}

const TARGET_RATE: f64 = 5_000.0;
/// Calls may exceed the minimum by 1%.
const TARGET_EXTRA_CALLS: f64 = 0.01;

pub async fn run(args: Args) -> anyhow::Result<()> {
    let db = args.db.open().await?;
    println!("trellis bench crm");
    let seeded = Instant::now();
    let program = seed(&db.store, args.registrations).await?;
    println!(
        "  seeded    {} registrations in {:.1} s",
        thousands(args.registrations),
        seeded.elapsed().as_secs_f64()
    );
    let config = program.crm.clone().context("the bench program has a CRM")?;

    let bare_fake = FakeHubSpot::start(HubSpotOptions::default()).await;
    let records = ready_made(&db.store, &config, args.registrations).await?;
    let bare = time_bare(&bare_fake, &config, &records, args.workers).await?;

    let fake = FakeHubSpot::start(HubSpotOptions::default()).await;
    let (ours, calls) = time_queue(&db.store, &program, &fake, args.workers).await?;

    let n = args.registrations as f64;
    let minimum = minimum_calls(args.registrations, args.registrations);
    println!(
        "{:<52} {:>10} calls {:>8.1} s {:>8.0} records/s",
        "bare connector, ready-made batches (reference)",
        thousands(bare_fake.total_calls()),
        bare.as_secs_f64(),
        n / bare.as_secs_f64()
    );
    println!(
        "{:<52} {:>10} calls {:>8.1} s {:>8.0} records/s",
        "queue: claim, read, map, upsert, settle",
        thousands(calls),
        ours.as_secs_f64(),
        n / ours.as_secs_f64()
    );
    println!(
        "{:<52} {:>10} calls",
        format!("minimum the batch limits allow ({BATCH_LIMIT} per upsert, {ASSOCIATION_BATCH_LIMIT} per association call)"),
        thousands(minimum)
    );
    anyhow::ensure!(
        fake.records("deals").len() as u64 == args.registrations,
        "the fake holds {} deals, not {}",
        fake.records("deals").len(),
        args.registrations
    );
    let extra = calls as f64 / minimum as f64 - 1.0;
    print_targets(&[
        Target {
            goal: "calls within 1% of the minimum".into(),
            measured: format!("{:+.2}%", extra * 100.0),
            met: extra <= TARGET_EXTRA_CALLS,
        },
        Target {
            goal: "above 5,000 records/s".into(),
            measured: format!("{:.0}/s", n / ours.as_secs_f64()),
            met: n / ours.as_secs_f64() > TARGET_RATE,
        },
    ]);
    Ok(())
}

/// The least number of calls: companies and registrations in full
/// batches, and one association per new registration, batched.
fn minimum_calls(registrations: u64, companies: u64) -> u64 {
    let batches = |n: u64, limit: usize| n.div_ceil(limit as u64);
    batches(companies, BATCH_LIMIT)
        + batches(registrations, BATCH_LIMIT)
        + batches(registrations, ASSOCIATION_BATCH_LIMIT)
}

/// Registers one lead per company through the CSV importer (the real
/// intake core), with a program whose CRM is HubSpot.
async fn seed(store: &Store, count: u64) -> anyhow::Result<Program> {
    let partner = NewPartner::plain("Bench Partner", PartnerKind::Reseller, "registered");
    let now = time::OffsetDateTime::now_utc();
    let partner = store.create_partner(&partner, &Actor::System, now).await?;
    let mut file = String::from("Company,Website,Contact,Email,Use case,Consent\r\n");
    for index in 0..count {
        let company = Company::at(index)?;
        let domain = company.domain.as_str();
        writeln!(
            file,
            "\"{}\",{domain},Jordan Lee,buyer@{domain},Consolidating regional tools,yes\r",
            company.name()?.as_str()
        )?;
    }
    let program = Program {
        crm: Some(CrmConfig::defaults(CrmProvider::Hubspot)),
        ..Program::default()
    };
    let importer = Importer {
        store,
        program: &program,
        partner: partner.id,
        actor: Actor::Partner {
            partner_id: partner.id,
        },
        now,
    };
    let report = importer
        .import(file.as_bytes(), |_, _| {})
        .await
        .map_err(|e| anyhow::anyhow!(e.detail()))?;
    anyhow::ensure!(
        report.summary.registered as u64 == count,
        "seeding registered {} of {count}",
        report.summary.registered
    );
    Ok(program)
}

/// The records as the queue would send them, read once, in batches.
async fn ready_made(
    store: &Store,
    config: &CrmConfig,
    count: u64,
) -> anyhow::Result<Vec<Vec<Record>>> {
    let ids: Vec<i64> = (1..=count as i64).collect();
    let mut batches = Vec::new();
    for chunk in ids.chunks(BATCH_LIMIT) {
        let items = store.crm_items(chunk).await?;
        batches.push(items.iter().map(|item| record_of(item, config)).collect());
    }
    Ok(batches)
}

fn connector(fake: &FakeHubSpot, config: &CrmConfig) -> HubSpot {
    let mut config = config.clone();
    config.base_url = fake.base_url();
    HubSpot::new(&config, HubSpotOptions::default().token)
}

/// The reference: the connector alone, sending ready-made batches from
/// `workers` tasks.
async fn time_bare(
    fake: &FakeHubSpot,
    config: &CrmConfig,
    batches: &[Vec<Record>],
    workers: usize,
) -> anyhow::Result<Duration> {
    let crm = Arc::new(connector(fake, config));
    let batches = Arc::new(batches.to_vec());
    let (elapsed, results) = super::drive(batches.len(), workers, || {
        let (crm, batches) = (crm.clone(), batches.clone());
        move |index: usize| {
            let (crm, batches) = (crm.clone(), batches.clone());
            async move { crm.upsert(&batches[index]).await }
        }
    })
    .await?;
    for result in results {
        result.context("the bare connector failed")?;
    }
    Ok(elapsed)
}

/// Ours: the queue drained by `workers` senders, as `trellis serve` runs
/// them. Returns the wall time and the calls made.
async fn time_queue(
    store: &Store,
    program: &Program,
    fake: &FakeHubSpot,
    workers: usize,
) -> anyhow::Result<(Duration, u64)> {
    let config = program.crm.clone().context("a CRM")?;
    let crm: Arc<dyn Crm> = Arc::new(connector(fake, &config));
    let mut state = AppState::new(store.clone(), program.clone(), Clock::system());
    state.crm = Some(Arc::new(CrmLink::new(crm.clone(), config)));
    let started = Instant::now();
    let senders: Vec<_> = (0..workers.max(1))
        .map(|_| {
            let state = state.clone();
            tokio::spawn(async move {
                let link = state.crm.clone().context("a CRM")?;
                while sync_once(&state, &link).await? > 0 {}
                anyhow::Ok(())
            })
        })
        .collect();
    for sender in senders {
        sender.await??;
    }
    let elapsed = started.elapsed();
    let lag = store.sync_lag().await?;
    anyhow::ensure!(
        lag.pending == 0 && lag.failed == 0,
        "after the run {} records wait and {} failed",
        lag.pending,
        lag.failed
    );
    Ok((elapsed, crm.calls()))
}
