//! What the signed channels (Slack, HubSpot) share: the error a signature
//! check returns, HMAC-SHA256, and a constant-time comparison. No clock: the
//! callers pass `now`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Why a signed request was refused. The messages name the header and the
/// problem, never the secret or the expected signature, so they can be logged
/// and returned to the sender as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A required header is absent or empty (callers pass `""` for an absent
    /// header).
    #[error("the {0} header is missing")]
    Missing(&'static str),
    /// A header (or the request URI) is not of the documented form.
    #[error("the {what} is malformed: {reason}")]
    Malformed {
        what: &'static str,
        reason: &'static str,
    },
    /// The signed timestamp is outside the replay window. `age_secs` is how
    /// far the timestamp lies behind now; negative when it lies ahead.
    #[error("{}", stale_message(*.age_secs, *.max_secs))]
    Stale { age_secs: i64, max_secs: i64 },
    /// The signature is well formed but was not made with this secret over
    /// this request.
    #[error("the signature does not match the request")]
    Mismatch,
}

fn stale_message(age_secs: i64, max_secs: i64) -> String {
    if age_secs >= 0 {
        format!(
            "the request timestamp is {age_secs} s old; requests older than {max_secs} s are \
             refused as possible replays"
        )
    } else {
        format!(
            "the request timestamp is {} s in the future; more than {max_secs} s of clock skew is \
             refused",
            age_secs.unsigned_abs()
        )
    }
}

/// Refuses `signed_at` when it is more than `max` units away from `now` in
/// either direction (both in the same unit; `unit_per_sec` converts to seconds
/// for the message). Exactly `max` is accepted.
pub(crate) fn check_window(
    signed_at: i64,
    now: i64,
    max: u64,
    unit_per_sec: i64,
) -> Result<(), SignatureError> {
    if now.abs_diff(signed_at) <= max {
        return Ok(());
    }
    // i128 so that no pair of i64 can overflow; rounded away from zero so
    // that 300.001 s reads as 301 s, not as the 300 s that is allowed.
    let diff = i128::from(now) - i128::from(signed_at);
    let unit = i128::from(unit_per_sec);
    let age = (diff + diff.signum() * (unit - 1)) / unit;
    let age_secs = i64::try_from(age).unwrap_or(if age > 0 { i64::MAX } else { i64::MIN });
    Err(SignatureError::Stale {
        age_secs,
        max_secs: i64::try_from(max).unwrap_or(i64::MAX) / unit_per_sec,
    })
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length: new_from_slice cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Compares two byte strings in time that depends only on their lengths
/// (lengths are not secret: every signature of a scheme has the same one).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Parses a Unix timestamp header: ASCII digits only, no sign, no spaces.
pub(crate) fn parse_timestamp(header: &'static str, value: &str) -> Result<i64, SignatureError> {
    if value.is_empty() {
        return Err(SignatureError::Missing(header));
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed {
            what: header,
            reason: "expected a Unix timestamp of decimal digits",
        });
    }
    value.parse().map_err(|_| SignatureError::Malformed {
        what: header,
        reason: "the timestamp is out of range",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        // RFC 4231 section 4.3: key "Jefe", data "what do ya want for nothing?".
        let mac = hmac_sha256(b"Jefe", &[b"what do ya ", b"want for nothing?"]);
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn constant_time_eq_cases() {
        for (a, b, expected) in [
            (&b""[..], &b""[..], true),
            (b"abc", b"abc", true),
            (b"abc", b"abd", false),
            (b"abc", b"ab", false),
            (b"", b"a", false),
        ] {
            assert_eq!(constant_time_eq(a, b), expected, "{a:?} {b:?}");
        }
    }

    #[test]
    fn window_accepts_the_edges_and_refuses_beyond() {
        assert_eq!(check_window(1000, 1300, 300, 1), Ok(()));
        assert_eq!(check_window(1600, 1300, 300, 1), Ok(()));
        assert_eq!(
            check_window(999, 1300, 300, 1),
            Err(SignatureError::Stale {
                age_secs: 301,
                max_secs: 300
            })
        );
        assert_eq!(
            check_window(1601, 1300, 300, 1),
            Err(SignatureError::Stale {
                age_secs: -301,
                max_secs: 300
            })
        );
        // Milliseconds: 300.001 s is reported as 301 s.
        assert_eq!(
            check_window(0, 300_001, 300_000, 1000),
            Err(SignatureError::Stale {
                age_secs: 301,
                max_secs: 300
            })
        );
        // Extremes neither overflow nor panic.
        assert!(check_window(i64::MIN, i64::MAX, 300, 1).is_err());
        assert!(check_window(i64::MAX, i64::MIN, 300_000, 1000).is_err());
    }

    #[test]
    fn messages_are_clear() {
        assert_eq!(
            SignatureError::Missing("X-Slack-Signature").to_string(),
            "the X-Slack-Signature header is missing"
        );
        assert_eq!(
            SignatureError::Stale {
                age_secs: 301,
                max_secs: 300
            }
            .to_string(),
            "the request timestamp is 301 s old; requests older than 300 s are refused as \
             possible replays"
        );
        assert_eq!(
            SignatureError::Stale {
                age_secs: -400,
                max_secs: 300
            }
            .to_string(),
            "the request timestamp is 400 s in the future; more than 300 s of clock skew is refused"
        );
        assert_eq!(
            SignatureError::Mismatch.to_string(),
            "the signature does not match the request"
        );
    }

    #[test]
    fn timestamps_are_digits_only() {
        assert_eq!(parse_timestamp("T", "1531420618"), Ok(1_531_420_618));
        assert_eq!(parse_timestamp("T", ""), Err(SignatureError::Missing("T")));
        for bad in [
            "-1",
            "+1",
            " 1",
            "1 ",
            "1.5",
            "0x10",
            "99999999999999999999",
        ] {
            assert!(
                matches!(
                    parse_timestamp("T", bad),
                    Err(SignatureError::Malformed { what: "T", .. })
                ),
                "{bad:?}"
            );
        }
    }
}
