//! `trellis user`: the staff workspace's people. A password, when given,
//! is read from standard input (never from the command line, where it
//! would land in shell history and the process list) and stored only as
//! its argon2 hash.

use crate::DbArgs;
use anyhow::Context;
use clap::Subcommand;
use std::io::BufRead;
use trellis_domain::dedupe::Email;
use trellis_store::{NewStaffUser, Role};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a person to the staff workspace. Without --password-stdin they
    /// sign in by a link mailed to their address.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["admin", "manager"])]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set a staff user's password from standard input (and end their
    /// sessions), or remove it with --remove.
    Password {
        #[arg(long)]
        email: String,
        /// Remove the password: the person signs in by mailed link only.
        #[arg(long)]
        remove: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            email,
            name,
            role,
            password_stdin,
            db,
        } => {
            let email = parse_email(&email)?;
            let role = Role::parse(&role).context("role must be admin or manager")?;
            let hash = password_stdin.then(read_password).transpose()?;
            let new = NewStaffUser {
                email: &email,
                name: name.trim(),
                role,
                password_hash: hash.as_deref(),
            };
            anyhow::ensure!(!new.name.is_empty(), "--name must not be empty");
            let user = db
                .open()
                .await?
                .create_staff_user(&new, time::OffsetDateTime::now_utc())
                .await?;
            let how = if hash.is_some() {
                "a password or a mailed link"
            } else {
                "a mailed link"
            };
            println!(
                "added {} <{}> as {}; signs in at /staff/sign-in with {how}",
                user.name,
                user.email,
                role.as_str()
            );
            Ok(())
        }
        UserCommand::Password { email, remove, db } => {
            let email = parse_email(&email)?;
            let hash = (!remove).then(read_password).transpose()?;
            db.open()
                .await?
                .set_staff_password(&email, hash.as_deref())
                .await?;
            let done = if remove { "removed" } else { "set" };
            println!("password {done} for {email}; their sessions have ended");
            Ok(())
        }
    }
}

fn parse_email(text: &str) -> anyhow::Result<Email> {
    Email::parse(text).map_err(|e| anyhow::anyhow!("--email: {e}"))
}

/// The first line of standard input, checked for strength and hashed.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    trellis_server::passwords::check_strength(password).map_err(|e| anyhow::anyhow!(e))?;
    trellis_server::passwords::hash(password)
}
