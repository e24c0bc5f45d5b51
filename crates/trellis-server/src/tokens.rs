//! Token secrets: 32 random bytes, shown once, stored only as a hash.

use rand::RngCore;

/// A fresh token secret, `trl_` and 64 hex digits.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("trl_{hex}")
}
