//! The `trellis` command: serve, migrate, demo, config check, token create,
//! import, crm (check, pull accounts), events retry, bench.

mod bench;
mod crm;
mod demo;
mod demo_tiers;
mod events;
mod import;
mod import_metrics;
mod serve;
mod users;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use trellis_domain::program::Program;
use trellis_store::Store;

#[derive(Parser)]
#[command(
    name = "trellis",
    version,
    about = "Self-hosted, CRM-first partner relationship manager"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// Where the data lives; shared by every command that opens the database.
#[derive(clap::Args, Clone)]
pub struct DbArgs {
    /// Database URL: sqlite://path, sqlite::memory:, or postgres://...
    #[arg(
        long = "db",
        env = "DATABASE_URL",
        default_value = "sqlite://trellis.db"
    )]
    pub url: String,
}

impl DbArgs {
    pub async fn open(&self) -> anyhow::Result<Store> {
        Store::connect(&self.url)
            .await
            .with_context(|| format!("opening the database at {}", redact(&self.url)))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default command).
    Serve(Box<serve::ServeArgs>),
    /// Run pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load the demo program (partners, accounts, registrations, conflicts).
    Demo {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Program configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The staff workspace's people.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Bulk imports.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Benchmarks, each printed beside its bare reference operation.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// The CRM: check the mapping, pull accounts.
    #[command(subcommand)]
    Crm(crm::CrmCommand),
    /// The event pipeline's dead letters.
    #[command(subcommand)]
    Events(events::EventsCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a program file and report every error with its line and key.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a staff token and print it once.
    Create {
        #[arg(long, value_parser = ["admin", "manager"])]
        role: String,
        #[arg(long, default_value = "created with trellis token create")]
        label: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(cli.command.unwrap_or(Command::Serve(Box::default()))))
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::run(*args).await,
        Command::Migrate { db } => {
            db.open().await?;
            println!("migrations are up to date");
            Ok(())
        }
        Command::Demo { db } => demo::load(&db.open().await?, &Program::default()).await,
        Command::Config(ConfigCommand::Check { file }) => check_config(&file),
        Command::Token(TokenCommand::Create { role, label, db }) => {
            create_token(&db, &role, &label).await
        }
        Command::User(cmd) => users::run(cmd).await,
        Command::Import(cmd) => import::run(cmd).await,
        Command::Bench(cmd) => bench::run(cmd).await,
        Command::Crm(cmd) => crm::run(cmd).await,
        Command::Events(cmd) => events::run(cmd).await,
    }
}

/// Reads and validates a program file; the error lists every problem.
pub fn load_program(path: &Path) -> anyhow::Result<Program> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let parsed = Program::parse(&text)
        .map_err(|errors| anyhow::anyhow!("{}: invalid program:\n{errors}", path.display()))?;
    for warning in &parsed.warnings {
        eprintln!("{}: warning: {warning}", path.display());
    }
    Ok(parsed.program)
}

fn check_config(path: &Path) -> anyhow::Result<()> {
    let program = load_program(path)?;
    println!(
        "{}: ok ({} tiers, hold {} days, {:?} conflict policy)",
        path.display(),
        program.tiers.len(),
        program.registration.hold_days,
        program.registration.conflict_policy
    );
    Ok(())
}

async fn create_token(db: &DbArgs, role: &str, label: &str) -> anyhow::Result<()> {
    let store = db.open().await?;
    let role = trellis_store::Role::parse(role).context("role must be admin or manager")?;
    let secret = trellis_server::tokens::new_secret();
    let now = time::OffsetDateTime::now_utc();
    let id = store.create_token(&secret, role, None, label, now).await?;
    eprintln!(
        "created {} token {id}; it is shown once, keep it safe:",
        role.as_str()
    );
    println!("{secret}");
    Ok(())
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}
