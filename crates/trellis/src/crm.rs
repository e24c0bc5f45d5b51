//! `trellis crm check` (does the CRM have every property the mapping
//! names?) and `trellis crm pull accounts` (import the CRM's companies so
//! dedupe runs against the real customer base).

use crate::import::{flush, new_account, ImportReport};
use crate::{load_program, DbArgs};
use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trellis_domain::program::CrmConfig;
use trellis_sync::crm::{connect, missing_properties, Crm};

#[derive(Subcommand)]
pub enum CrmCommand {
    /// Check the [crm] mapping against the CRM's own property lists.
    Check {
        /// The program file with the [crm] table.
        #[arg(long, env = "TRELLIS_CONFIG")]
        config: PathBuf,
    },
    /// Import from the CRM.
    #[command(subcommand)]
    Pull(PullCommand),
}

#[derive(Subcommand)]
pub enum PullCommand {
    /// Import the CRM's companies (accounts) as Trellis accounts.
    Accounts {
        #[arg(long, env = "TRELLIS_CONFIG")]
        config: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn run(command: CrmCommand) -> anyhow::Result<()> {
    match command {
        CrmCommand::Check { config } => {
            let (crm, config) = connected(&config)?;
            let missing = missing_properties(crm.as_ref(), &config).await?;
            if missing.is_empty() {
                println!(
                    "{}: every mapped property exists ({} on {}, {} on {})",
                    config.provider.as_str(),
                    config.record_properties().len(),
                    config.object,
                    config.account_properties().len(),
                    config.account_object
                );
                return Ok(());
            }
            for line in &missing {
                eprintln!("missing in the CRM: {line}");
            }
            anyhow::bail!(
                "{} mapped properties do not exist in the CRM: create them there, or change [crm] to name existing ones",
                missing.len()
            )
        }
        CrmCommand::Pull(PullCommand::Accounts { config, db }) => {
            let (crm, _) = connected(&config)?;
            let store = db.open().await?;
            let report = pull_accounts(crm.as_ref(), &store).await?;
            println!(
                "accounts from the CRM: {} created, {} already known, {} refused",
                report.created,
                report.skipped,
                report.rejected.len()
            );
            for (index, reason) in report.rejected.iter().take(20) {
                eprintln!("  account {index}: {reason}");
            }
            Ok(())
        }
    }
}

/// The program's CRM, connected with the secrets from the environment.
pub fn connected(path: &Path) -> anyhow::Result<(Arc<dyn Crm>, CrmConfig)> {
    let program = load_program(path)?;
    let config = program.crm.with_context(|| {
        format!(
            "{} has no [crm] table: add one naming the provider",
            path.display()
        )
    })?;
    Ok((connect(&config)?, config))
}

/// Pages through the CRM's accounts, importing each page as it comes.
async fn pull_accounts(
    crm: &dyn Crm,
    store: &trellis_store::Store,
) -> anyhow::Result<ImportReport> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} accounts {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut report = ImportReport::default();
    let (mut cursor, mut seen) = (None, 0u64);
    let now = time::OffsetDateTime::now_utc();
    loop {
        let page = crm.accounts(cursor.as_deref()).await?;
        let mut batch = Vec::with_capacity(page.items.len());
        for account in &page.items {
            seen += 1;
            match new_account(&account.name, account.domain.as_deref(), "crm") {
                Ok(new) => batch.push(new),
                Err(reason) => report.rejected.push((
                    seen,
                    format!("{} ({}): {reason}", account.record_id, account.name),
                )),
            }
        }
        flush(store, &mut batch, &mut report, now).await?;
        bar.set_position(seen);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    bar.finish_and_clear();
    Ok(report)
}
