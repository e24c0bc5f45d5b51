//! Bearer tokens. The secret is shown once at creation; only its SHA-256 is
//! stored, so a copy of the database gives no one a working token.

use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};
use crate::rows::{micros, RowExt};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use trellis_domain::event::Actor;
use trellis_domain::ids::PartnerId;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything, including tokens and the test clock.
    Admin,
    /// Runs the program: decisions, conflicts, partners.
    Manager,
    /// Acts for one partner and sees only its data.
    Partner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Partner => "partner",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        [Role::Admin, Role::Manager, Role::Partner]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// Who is calling, as established from a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Staff {
        token_id: i64,
        role: Role,
    },
    Partner {
        token_id: i64,
        partner_id: PartnerId,
    },
}

impl Principal {
    pub fn actor(&self) -> Actor {
        match self {
            Principal::Staff { token_id, role } => Actor::Staff {
                token_id: *token_id,
                role: role.as_str().into(),
            },
            Principal::Partner { partner_id, .. } => Actor::Partner {
                partner_id: *partner_id,
            },
        }
    }

    /// The partner this principal is confined to, if any.
    pub fn partner_scope(&self) -> Option<PartnerId> {
        match self {
            Principal::Partner { partner_id, .. } => Some(*partner_id),
            Principal::Staff { .. } => None,
        }
    }

    /// A stable name for idempotency records.
    pub fn key(&self) -> String {
        match self {
            Principal::Staff { token_id, .. } | Principal::Partner { token_id, .. } => {
                format!("token:{token_id}")
            }
        }
    }
}

/// SHA-256 of a token secret, hex encoded.
pub fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Spends a single-use secret kept hashed in `table` (in `hash_column`,
/// beside `expires_at` and the id of whom it is for, in `user_column`): the
/// row goes whether or not it was still valid, so a secret works once at
/// most. Returns the user it was for when it was known and not expired.
pub(crate) async fn spend_user_secret(
    tx: &mut Tx,
    table: &str,
    hash_column: &str,
    user_column: &str,
    secret: &str,
    now: OffsetDateTime,
) -> Result<Option<i64>> {
    let sql =
        format!("DELETE FROM {table} WHERE {hash_column} = $1 RETURNING {user_column}, expires_at");
    let row = sqlx::query(&sql)
        .bind(token_hash(secret))
        .fetch_optional(&mut **tx)
        .await?;
    match row {
        Some(r) if r.int("expires_at")? > micros(now) => Ok(Some(r.int(user_column)?)),
        _ => Ok(None),
    }
}

impl Store {
    /// Stores a token with the given role and returns its id. The caller
    /// generates the secret and shows it once.
    pub async fn create_token(
        &self,
        secret: &str,
        role: Role,
        partner_id: Option<PartnerId>,
        label: &str,
        now: OffsetDateTime,
    ) -> Result<i64> {
        if (role == Role::Partner) != partner_id.is_some() {
            return Err(StoreError::conflict(
                "a partner token needs a partner, and only a partner token has one",
            ));
        }
        let row = sqlx::query(
            "INSERT INTO api_tokens (token_hash, role, partner_id, label, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(token_hash(secret))
        .bind(role.as_str())
        .bind(partner_id.map(|p| p.0))
        .bind(label)
        .bind(micros(now))
        .fetch_one(&self.writer)
        .await?;
        row.int("id")
    }

    /// Finds the principal behind a presented secret. The lookup is by hash
    /// through a unique index, so timing reveals nothing about stored secrets.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Principal>> {
        let row = sqlx::query("SELECT id, role, partner_id FROM api_tokens WHERE token_hash = $1")
            .bind(token_hash(secret))
            .fetch_optional(&self.reader)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let token_id = row.int("id")?;
        let principal = match (row.parsed("role", Role::parse)?, row.opt_int("partner_id")?) {
            (Role::Partner, Some(partner)) => Principal::Partner {
                token_id,
                partner_id: PartnerId(partner),
            },
            (Role::Partner, None) => {
                return Err(StoreError::Corrupt(format!(
                    "partner token {token_id} has no partner"
                )))
            }
            (role, _) => Principal::Staff { token_id, role },
        };
        Ok(Some(principal))
    }

    /// Stores `secret` as an admin token unless it is already stored; used
    /// for the `TRELLIS_ADMIN_TOKEN` bootstrap at start.
    pub async fn ensure_admin_token(&self, secret: &str, now: OffsetDateTime) -> Result<()> {
        if self.authenticate(secret).await?.is_some() {
            return Ok(());
        }
        match self
            .create_token(
                secret,
                Role::Admin,
                None,
                "bootstrap (TRELLIS_ADMIN_TOKEN)",
                now,
            )
            .await
        {
            Err(e) if e.is_unique_violation() => Ok(()),
            other => other.map(|_| ()),
        }
    }
}
