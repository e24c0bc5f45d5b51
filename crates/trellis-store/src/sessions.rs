//! Password-free sign-in, shared by the partner portal and the staff
//! workspace: a single-use link mailed to a person opens a session kept in a
//! cookie. Each audience keeps its links and sessions in tables of its own,
//! so a partner's secret can never open the staff workspace. Secrets are
//! stored only as hashes ([`token_hash`]).

use crate::db::Store;
use crate::error::Result;
use crate::rows::{micros, RowExt};
use crate::tokens::{spend_user_secret, token_hash};
use time::OffsetDateTime;

/// Where one audience keeps its sign-in links and sessions.
pub(crate) struct SessionTables {
    pub links: &'static str,
    pub sessions: &'static str,
    /// The column naming the person, in both tables.
    pub user_column: &'static str,
}

pub(crate) const PORTAL: SessionTables = SessionTables {
    links: "portal_sign_in_links",
    sessions: "portal_sessions",
    user_column: "partner_user_id",
};

pub(crate) const STAFF: SessionTables = SessionTables {
    links: "staff_sign_in_links",
    sessions: "staff_sessions",
    user_column: "staff_user_id",
};

/// A session secret and how long it lasts, as the sign-in that opens it
/// chose them.
pub struct NewSession<'a> {
    pub secret: &'a str,
    pub expires_at: OffsetDateTime,
}

impl Store {
    /// Stores a sign-in link (or, with `table` = sessions, a session) for
    /// `user`, valid until `expires_at`.
    async fn insert_secret(
        &self,
        tx: Option<&mut crate::db::Tx>,
        table: &str,
        user_column: &str,
        (secret, user): (&str, i64),
        (now, expires_at): (OffsetDateTime, OffsetDateTime),
    ) -> Result<()> {
        let sql = format!(
            "INSERT INTO {table} (token_hash, {user_column}, created_at, expires_at) VALUES ($1, $2, $3, $4)"
        );
        let query = sqlx::query(&sql)
            .bind(token_hash(secret))
            .bind(user)
            .bind(micros(now))
            .bind(micros(expires_at));
        match tx {
            Some(tx) => query.execute(&mut **tx).await?,
            None => query.execute(&self.writer).await?,
        };
        Ok(())
    }

    /// Stores a sign-in link for `user`, valid until `expires_at`.
    pub(crate) async fn create_link(
        &self,
        tables: &SessionTables,
        secret: &str,
        user: i64,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        let (links, column) = (tables.links, tables.user_column);
        self.insert_secret(None, links, column, (secret, user), (now, expires_at))
            .await
    }

    /// Spends a sign-in link and, if it was still valid, opens `session`
    /// for its user in the same transaction, so a link opens one session
    /// at most. The link is spent whether or not it was still valid.
    pub(crate) async fn redeem_link(
        &self,
        tables: &SessionTables,
        link: &str,
        session: &NewSession<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<i64>> {
        let mut tx = self.write().await?;
        let column = tables.user_column;
        let user =
            spend_user_secret(&mut tx, tables.links, "token_hash", column, link, now).await?;
        if let Some(user) = user {
            let secret = (session.secret, user);
            let times = (now, session.expires_at);
            self.insert_secret(Some(&mut tx), tables.sessions, column, secret, times)
                .await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// Opens a session for a person who proved who they are otherwise.
    pub(crate) async fn create_session(
        &self,
        tables: &SessionTables,
        user: i64,
        session: &NewSession<'_>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let (sessions, column) = (tables.sessions, tables.user_column);
        let secret = (session.secret, user);
        self.insert_secret(None, sessions, column, secret, (now, session.expires_at))
            .await
    }

    /// Whose a session secret is, unless it is unknown, expired or ended.
    pub(crate) async fn session_user(
        &self,
        tables: &SessionTables,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<Option<i64>> {
        let sql = format!(
            "SELECT {} AS user_id FROM {} WHERE token_hash = $1 AND expires_at > $2",
            tables.user_column, tables.sessions
        );
        let row = sqlx::query(&sql)
            .bind(token_hash(secret))
            .bind(micros(now))
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| r.int("user_id")).transpose()
    }

    /// Ends a session: its cookie opens nothing any more.
    pub(crate) async fn end_session(&self, tables: &SessionTables, secret: &str) -> Result<()> {
        let sql = format!("DELETE FROM {} WHERE token_hash = $1", tables.sessions);
        sqlx::query(&sql)
            .bind(token_hash(secret))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Deletes the expired sign-in links and sessions of every audience,
    /// so the tables hold only secrets that still open something.
    pub async fn purge_expired_sign_ins(&self, now: OffsetDateTime) -> Result<u64> {
        let mut purged = 0;
        for tables in [&PORTAL, &STAFF] {
            for table in [tables.links, tables.sessions] {
                let sql = format!("DELETE FROM {table} WHERE expires_at <= $1");
                let done = sqlx::query(&sql)
                    .bind(micros(now))
                    .execute(&self.writer)
                    .await?;
                purged += done.rows_affected();
            }
        }
        Ok(purged)
    }
}
