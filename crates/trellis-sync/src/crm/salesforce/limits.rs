//! `Sforce-Limit-Info: api-usage=25/15000`: how much of the org's rolling
//! 24-hour API allowance is spent, read from every answer so staff can see
//! it coming before Salesforce starts answering `REQUEST_LIMIT_EXCEEDED`.

use reqwest::header::HeaderMap;
use std::sync::Mutex;

const HEADER: &str = "sforce-limit-info";

/// The last reading: (calls used, daily allowance).
#[derive(Debug, Default)]
pub(super) struct Usage(Mutex<Option<(u64, u64)>>);

impl Usage {
    pub(super) fn last(&self) -> Option<(u64, u64)> {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps the reading an answer carries, warning once as usage crosses
    /// 90%.
    pub(super) fn read(&self, headers: &HeaderMap) {
        let Some(reading) = headers
            .get(HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse)
        else {
            return;
        };
        let mut last = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let was_high = last.is_some_and(is_high);
        *last = Some(reading);
        if is_high(reading) && !was_high {
            let (used, limit) = reading;
            tracing::warn!(
                used,
                limit,
                "Salesforce API usage is above 90% of the org's daily allowance"
            );
        }
    }
}

fn is_high((used, limit): (u64, u64)) -> bool {
    u128::from(used) * 10 > u128::from(limit) * 9
}

/// `api-usage=25/15000`, possibly among other comma-separated readings
/// (`per-app-api-usage=...`).
fn parse(value: &str) -> Option<(u64, u64)> {
    value.split(',').find_map(|part| {
        let (used, limit) = part.trim().strip_prefix("api-usage=")?.split_once('/')?;
        Some((used.trim().parse().ok()?, limit.trim().parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_parsed_among_others() {
        assert_eq!(parse("api-usage=25/15000"), Some((25, 15000)));
        assert_eq!(
            parse("api-usage=7/100, per-app-api-usage=2/50(appName=trellis)"),
            Some((7, 100))
        );
        assert_eq!(parse("per-app-api-usage=2/50"), None);
        assert_eq!(parse("api-usage=x/100"), None);
    }

    #[test]
    fn high_is_above_ninety_percent() {
        assert!(!is_high((90, 100)));
        assert!(is_high((91, 100)));
        assert!(is_high((u64::MAX, u64::MAX)));
    }
}
