//! Signing in to Salesforce with OAuth 2.0: the client credentials flow or
//! the JWT bearer flow, what each posts to the token endpoint, and the
//! session it answers. Secrets and tokens never reach a log: their `Debug`
//! says only that they are there.

use crate::crm::CrmError;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use std::fmt;
use trellis_domain::program::CrmConfig;

const CLIENT_ID: &str = "TRELLIS_SALESFORCE_CLIENT_ID";
const CLIENT_SECRET: &str = "TRELLIS_SALESFORCE_CLIENT_SECRET";
const KEY_FILE: &str = "TRELLIS_SALESFORCE_KEY_FILE";

/// How a signed assertion stays valid: Salesforce accepts at most a few
/// minutes, and a short life limits what a leaked one is worth.
const ASSERTION_LIFETIME_SECONDS: i64 = 180;

/// The connected app's credentials: its consumer key (client id) and how
/// it proves itself.
pub struct Credentials {
    client_id: String,
    proof: Proof,
}

enum Proof {
    /// `grant_type=client_credentials`: the app runs as the integration user
    /// its policy names. Needs the org's My Domain as `login_url`.
    Secret(String),
    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`: an RS256
    /// assertion signed with the key whose certificate the app holds, for
    /// `[crm.salesforce] username`.
    Key(EncodingKey),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flow = match self.proof {
            Proof::Secret(_) => "client credentials",
            Proof::Key(_) => "JWT bearer",
        };
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("flow", &flow)
            .finish_non_exhaustive()
    }
}

/// Why credentials could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("{CLIENT_ID} is not set: set it to the connected app's consumer key")]
    MissingClientId,
    #[error(
        "set {CLIENT_SECRET} (the client credentials flow) or {KEY_FILE} (the JWT bearer flow, \
         a PEM RSA private key)"
    )]
    MissingSecret,
    #[error("{KEY_FILE} selects the JWT bearer flow, which needs [crm.salesforce] username")]
    MissingUsername,
    #[error("cannot read {KEY_FILE} {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("the JWT bearer key is not a PEM RSA private key: {0}")]
    Key(String),
}

impl Credentials {
    /// The client credentials flow.
    pub fn client_credentials(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Credentials {
        Credentials {
            client_id: client_id.into(),
            proof: Proof::Secret(client_secret.into()),
        }
    }

    /// The JWT bearer flow with a PEM RSA private key (PKCS#1 or PKCS#8).
    pub fn jwt_bearer(
        client_id: impl Into<String>,
        private_key_pem: &[u8],
    ) -> Result<Credentials, CredentialsError> {
        let key = EncodingKey::from_rsa_pem(private_key_pem)
            .map_err(|error| CredentialsError::Key(error.to_string()))?;
        Ok(Credentials {
            client_id: client_id.into(),
            proof: Proof::Key(key),
        })
    }

    /// From `TRELLIS_SALESFORCE_CLIENT_ID` and either
    /// `TRELLIS_SALESFORCE_KEY_FILE` (JWT bearer, preferred when both are
    /// set) or `TRELLIS_SALESFORCE_CLIENT_SECRET`.
    pub fn from_env(config: &CrmConfig) -> Result<Credentials, CredentialsError> {
        Credentials::from_lookup(config, |name| {
            std::env::var(name).ok().filter(|value| !value.is_empty())
        })
    }

    fn from_lookup(
        config: &CrmConfig,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, CredentialsError> {
        let client_id = lookup(CLIENT_ID).ok_or(CredentialsError::MissingClientId)?;
        if let Some(path) = lookup(KEY_FILE) {
            if config.salesforce.username.is_none() {
                return Err(CredentialsError::MissingUsername);
            }
            let pem = std::fs::read(&path)
                .map_err(|source| CredentialsError::KeyFile { path, source })?;
            return Credentials::jwt_bearer(client_id, &pem);
        }
        let secret = lookup(CLIENT_SECRET).ok_or(CredentialsError::MissingSecret)?;
        Ok(Credentials::client_credentials(client_id, secret))
    }

    /// The form the token endpoint is sent.
    pub(super) fn grant(
        &self,
        login_url: &str,
        username: Option<&str>,
    ) -> Result<Vec<(&'static str, String)>, CrmError> {
        match &self.proof {
            Proof::Secret(secret) => Ok(vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", self.client_id.clone()),
                ("client_secret", secret.clone()),
            ]),
            Proof::Key(key) => {
                let username = username.ok_or_else(|| CrmError::Refused {
                    message: CredentialsError::MissingUsername.to_string(),
                })?;
                let assertion = assertion(&self.client_id, username, login_url, key)?;
                Ok(vec![
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
                    ),
                    ("assertion", assertion),
                ])
            }
        }
    }
}

/// The claims Salesforce reads from a bearer assertion.
#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
}

fn assertion(
    client_id: &str,
    username: &str,
    login_url: &str,
    key: &EncodingKey,
) -> Result<String, CrmError> {
    let claims = Claims {
        iss: client_id,
        sub: username,
        aud: audience(login_url),
        exp: time::OffsetDateTime::now_utc().unix_timestamp() + ASSERTION_LIFETIME_SECONDS,
    };
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, key).map_err(|error| {
        CrmError::Refused {
            message: format!("cannot sign the JWT bearer assertion: {error}"),
        }
    })
}

/// Whom the assertion is for: the login host, except that a My Domain
/// signs in for `login.salesforce.com` (or `test.salesforce.com`, for a
/// sandbox), the only audiences Salesforce accepts for an org.
fn audience(login_url: &str) -> &str {
    let host = login_url
        .split_once("://")
        .map_or(login_url, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    if host.ends_with(".sandbox.my.salesforce.com") {
        "https://test.salesforce.com"
    } else if host.ends_with(".my.salesforce.com") {
        "https://login.salesforce.com"
    } else {
        login_url
    }
}

/// What a successful sign-in answers that Trellis uses. Salesforce also
/// sends `token_type`, `issued_at`, `signature` and `id`.
#[derive(serde::Deserialize)]
pub(super) struct Session {
    pub access_token: String,
    /// The org's own host: every API call goes there, whatever `login_url`
    /// was.
    pub instance_url: String,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("instance_url", &self.instance_url)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use trellis_domain::program::CrmProvider;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn config(username: Option<&str>) -> CrmConfig {
        let mut config = CrmConfig::defaults(CrmProvider::Salesforce);
        config.salesforce.username = username.map(str::to_owned);
        config
    }

    #[test]
    fn each_missing_setting_is_named() {
        let missing = |pairs: &[(&str, &str)], username| {
            Credentials::from_lookup(&config(username), lookup(pairs))
                .expect_err("incomplete settings")
                .to_string()
        };
        assert!(missing(&[], None).contains(CLIENT_ID));
        let no_secret = missing(&[(CLIENT_ID, "app")], None);
        assert!(
            no_secret.contains(CLIENT_SECRET) && no_secret.contains(KEY_FILE),
            "{no_secret}"
        );
        let no_user = missing(&[(CLIENT_ID, "app"), (KEY_FILE, "/nowhere.pem")], None);
        assert!(no_user.contains("username"), "{no_user}");
        let no_file = missing(
            &[(CLIENT_ID, "app"), (KEY_FILE, "/nowhere.pem")],
            Some("u@example.com"),
        );
        assert!(no_file.contains("/nowhere.pem"), "{no_file}");
    }

    #[test]
    fn a_secret_selects_client_credentials_and_stays_out_of_debug() {
        let credentials = Credentials::from_lookup(
            &config(None),
            lookup(&[(CLIENT_ID, "app"), (CLIENT_SECRET, "hunter2")]),
        )
        .expect("client credentials");
        let shown = format!("{credentials:?}");
        assert!(
            shown.contains("app") && !shown.contains("hunter2"),
            "{shown}"
        );
        let form = credentials.grant("https://login", None).expect("a form");
        assert_eq!(form[0], ("grant_type", "client_credentials".to_owned()));
    }

    #[test]
    fn a_key_file_selects_the_jwt_bearer_flow() {
        let vars = [
            (CLIENT_ID, "app"),
            (CLIENT_SECRET, "also set"),
            (KEY_FILE, trellis_fakes::salesforce::TEST_PRIVATE_KEY_FILE),
        ];
        let credentials = Credentials::from_lookup(&config(Some("u@example.com")), lookup(&vars))
            .expect("JWT bearer credentials");
        assert!(format!("{credentials:?}").contains("JWT bearer"));
        let form = credentials
            .grant("https://login.example", Some("u@example.com"))
            .expect("a signed assertion");
        assert_eq!(form[1].0, "assertion");
        assert_eq!(form[1].1.split('.').count(), 3, "header, claims, signature");
    }

    #[test]
    fn a_my_domain_signs_in_for_the_login_or_test_host() {
        let cases = [
            (
                "https://login.salesforce.com",
                "https://login.salesforce.com",
            ),
            (
                "https://acme.my.salesforce.com",
                "https://login.salesforce.com",
            ),
            (
                "https://acme--uat.sandbox.my.salesforce.com",
                "https://test.salesforce.com",
            ),
            ("http://127.0.0.1:4000", "http://127.0.0.1:4000"),
        ];
        for (login_url, expected) in cases {
            assert_eq!(audience(login_url), expected, "{login_url}");
        }
    }

    #[test]
    fn a_key_that_is_not_pem_is_refused() {
        let error = Credentials::jwt_bearer("app", b"not a key").expect_err("not a key");
        assert!(matches!(error, CredentialsError::Key(_)), "{error}");
    }
}
