//! `trellis events retry`: send dead letters again once their cause is
//! fixed, as staff can with the retry button.

use crate::DbArgs;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum EventsCommand {
    /// Send a dead letter again (`crm-{event id}` or `notification-{id}`,
    /// as GET /api/v1/events/dead-letter lists them), or every CRM dead
    /// letter with --all.
    Retry {
        #[arg(required_unless_present = "all")]
        id: Option<String>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn run(command: EventsCommand) -> anyhow::Result<()> {
    let EventsCommand::Retry { id, all, db } = command;
    let store = db.open().await?;
    let now = time::OffsetDateTime::now_utc();
    match id {
        Some(id) if !all => {
            if !store.retry_dead_letter(&id, now).await? {
                anyhow::bail!(
                    "no dead letter has the id {id:?}: GET /api/v1/events/dead-letter lists them"
                );
            }
            println!("{id} is queued again");
        }
        _ => {
            let count = store.retry_all_crm_dead_letters(now).await?;
            println!("{count} CRM dead letters are queued again");
        }
    }
    Ok(())
}
