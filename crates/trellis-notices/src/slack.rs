//! A notice as a Slack incoming-webhook message: a header with the
//! subject, a section with the plain-words body, and a context line naming
//! the case and the program. Every block uses `plain_text`, so nothing a
//! partner typed (a company name with `<!channel>` in it) can turn into a
//! mention or a link; only the top-level fallback `text`, which Slack reads
//! as mrkdwn, needs escaping.

use crate::Notice;
use serde_json::{json, Value};

/// Slack's limits: a header's text, and a section's.
const HEADER_CHARS: usize = 150;
const SECTION_CHARS: usize = 3000;

pub(crate) fn message(notice: &Notice, program: &str) -> Value {
    let subject = notice.subject();
    let context = match notice.case() {
        Some(case) => format!("{} · {program}", case.number),
        None => program.to_owned(),
    };
    json!({
        "text": escape(&subject),
        "blocks": [
            {"type": "header", "text": plain(&subject, HEADER_CHARS)},
            {"type": "section", "text": plain(notice.text().trim_end(), SECTION_CHARS)},
            {"type": "context", "elements": [plain(&context, HEADER_CHARS)]},
        ],
    })
}

fn plain(text: &str, limit: usize) -> Value {
    json!({"type": "plain_text", "text": cut(text, limit), "emoji": false})
}

/// `text` cut to `limit` characters, ending in `…` when it was longer.
fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut kept: String = text.chars().take(limit - 1).collect();
    kept.push('…');
    kept
}

/// The three characters Slack's mrkdwn reads as control characters.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_to_slacks_limits() {
        assert_eq!(cut("short", 150), "short");
        let long = "x".repeat(200);
        let kept = cut(&long, HEADER_CHARS);
        assert_eq!(kept.chars().count(), HEADER_CHARS);
        assert!(kept.ends_with('…'));
    }

    #[test]
    fn the_fallback_cannot_mention_or_link() {
        assert_eq!(
            escape("<!channel> & <https://x|y>"),
            "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"
        );
    }
}
