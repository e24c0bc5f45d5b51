//! The staff workspace's people: partner managers and RevOps, each an admin
//! or a manager. A password, when a person has one, is kept only as the
//! argon2 PHC string the server made; the store never sees it in clear.
//! Sign-in links and sessions work as the portal's do (`sessions.rs`).

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::rows::{micros, RowExt};
use crate::sessions::{NewSession, STAFF};
use crate::tokens::Role;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use trellis_domain::dedupe::Email;

/// A person of the partner team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// Admin or manager.
    pub role: Role,
}

/// Someone to add to the staff workspace.
pub struct NewStaffUser<'a> {
    pub email: &'a Email,
    pub name: &'a str,
    pub role: Role,
    /// The argon2 PHC string, or none to sign in by mailed link only.
    pub password_hash: Option<&'a str>,
}

fn staff_from_row(row: &AnyRow) -> Result<StaffUser> {
    let role = row.text("role")?;
    Ok(StaffUser {
        id: row.int("id")?,
        email: row.text("email")?,
        name: row.text("name")?,
        role: Role::parse(&role)
            .filter(|r| *r != Role::Partner)
            .ok_or_else(|| StoreError::Corrupt(format!("staff role {role}")))?,
    })
}

impl Store {
    /// Adds a person to the staff workspace; an address already there is
    /// refused, naming it.
    pub async fn create_staff_user(
        &self,
        new: &NewStaffUser<'_>,
        now: OffsetDateTime,
    ) -> Result<StaffUser> {
        if new.role == Role::Partner {
            return Err(StoreError::conflict(
                "a staff user is an admin or a manager",
            ));
        }
        let inserted = sqlx::query(
            "INSERT INTO staff_users (email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(new.email.as_str())
        .bind(new.name)
        .bind(new.role.as_str())
        .bind(new.password_hash)
        .bind(micros(now))
        .fetch_one(&self.writer)
        .await
        .map_err(StoreError::from);
        let row = match inserted {
            Err(e) if e.is_unique_violation() => {
                let text = format!("{} is already a staff user", new.email);
                return Err(StoreError::conflict(text));
            }
            other => other?,
        };
        Ok(StaffUser {
            id: row.int("id")?,
            email: new.email.to_string(),
            name: new.name.to_owned(),
            role: new.role,
        })
    }

    /// Sets (or, with `None`, removes) a staff user's password hash, and
    /// ends the person's sessions so an old password's session stops too.
    pub async fn set_staff_password(&self, email: &Email, hash: Option<&str>) -> Result<()> {
        let mut tx = self.write().await?;
        let row =
            sqlx::query("UPDATE staff_users SET password_hash = $1 WHERE email = $2 RETURNING id")
                .bind(hash)
                .bind(email.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("staff user"))?;
        sqlx::query("DELETE FROM staff_sessions WHERE staff_user_id = $1")
            .bind(row.int("id")?)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A staff user by address, with the password hash to check against.
    pub async fn staff_user_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<(StaffUser, Option<String>)>> {
        let row = sqlx::query("SELECT * FROM staff_users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| Ok((staff_from_row(&r)?, r.opt_text("password_hash")?)))
            .transpose()
    }

    /// The staff workspace's people, by name.
    pub async fn staff_users(&self, limit: i64) -> Result<Vec<(StaffUser, bool)>> {
        let rows = sqlx::query("SELECT * FROM staff_users ORDER BY name, id LIMIT $1")
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| Ok((staff_from_row(r)?, r.opt_text("password_hash")?.is_some())))
            .collect()
    }

    /// A staff user by id.
    pub async fn staff_user(&self, id: i64) -> Result<StaffUser> {
        let row = sqlx::query("SELECT * FROM staff_users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .ok_or(StoreError::NotFound("staff user"))?;
        staff_from_row(&row)
    }

    /// Stores a staff sign-in link for `user`, valid until `expires_at`.
    pub async fn create_staff_sign_in_link(
        &self,
        secret: &str,
        user: i64,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        self.create_link(&STAFF, secret, user, now, expires_at)
            .await
    }

    /// Spends a staff sign-in link and, if it was still valid, opens
    /// `session` for its user.
    pub async fn redeem_staff_sign_in_link(
        &self,
        link: &str,
        session: &NewSession<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<StaffUser>> {
        match self.redeem_link(&STAFF, link, session, now).await? {
            Some(user) => self.staff_user(user).await.map(Some),
            None => Ok(None),
        }
    }

    /// Opens a session for a staff user who proved who they are (a
    /// password checked by the server).
    pub async fn open_staff_session(
        &self,
        user: i64,
        session: &NewSession<'_>,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.create_session(&STAFF, user, session, now).await
    }

    /// The staff user a session secret belongs to, unless it is unknown,
    /// expired or ended.
    pub async fn staff_session(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<Option<StaffUser>> {
        match self.session_user(&STAFF, secret, now).await? {
            Some(user) => self.staff_user(user).await.map(Some),
            None => Ok(None),
        }
    }

    /// Ends a staff session.
    pub async fn end_staff_session(&self, secret: &str) -> Result<()> {
        self.end_session(&STAFF, secret).await
    }
}
