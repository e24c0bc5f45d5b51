//! HTML bodies as plain text, with the line structure a reader sees.
//!
//! mail-parser's `html_to_text` decodes entities, drops `<head>`, `<style>`,
//! `<script>` and comments, and breaks lines at `<br>` and `</p>` only: two
//! `<div>`s or two table rows come out glued together (`CompanyAcme`). Mail
//! clients write one line per `<div>` (Gmail) or `<p>` (Outlook) and put
//! forms in tables, so before handing the HTML to mail-parser we rename the
//! `<br>`, block and cell tags and leave a marker in front of each; afterwards
//! a `<br>` marker becomes a line break, a block marker too but only if the
//! line has text (so nested blocks do not stack up blank lines), and a cell
//! marker a tab between cells.
//! This is a rewrite of tag names, not an HTML parser: everything else,
//! including entity decoding, stays mail-parser's.

use mail_parser::decoders::html::html_to_text;

/// Private-use characters that no mail client writes; any in the input are
/// dropped first so they cannot be mistaken for our markers.
const BLOCK_MARK: char = '\u{E000}';
const CELL_MARK: char = '\u{E001}';
const BREAK_MARK: char = '\u{E002}';

/// Tags that start or end a line when rendered.
const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "caption",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
];

/// Table cells: kept on one line, separated by a tab.
const CELL_TAGS: &[&str] = &["td", "th"];

/// Converts an HTML body to plain text: block elements and `<br>` become line
/// breaks, table cells are separated by tabs, entities are decoded, and
/// non-breaking spaces become plain spaces.
pub(crate) fn html_to_plain(html: &str) -> String {
    let marked = mark_blocks(html);
    let text = html_to_text(&marked);
    resolve_marks(&text)
}

/// Puts a marker before every `<br>`, block tag and opening cell tag, and
/// renames the tag so mail-parser treats it as an unknown inline tag (its own
/// `<br>` and `</p>` handling would double our breaks and lose spaces).
fn mark_blocks(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    // mail-parser drops the space after a tag until the first word of a line
    // has been followed by a space (`<br><b>Company:</b> Acme` gives
    // `Company:Acme`). With `<br>` and `<p>` renamed it only starts a line at
    // the start of the text; a leading marker and space end that state at
    // once. The marker resolves to nothing.
    out.push(CELL_MARK);
    out.push(' ');
    let bytes = html.as_bytes();
    let mut copied = 0;
    let mut pos = 0;
    while let Some(offset) = html[pos..].find('<') {
        let lt = pos + offset;
        let mut name_start = lt + 1;
        if bytes.get(name_start) == Some(&b'/') {
            name_start += 1;
        }
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let name_end = name_start + name_len;
        let name = &html[name_start..name_end];
        let ends_name = matches!(
            bytes.get(name_end),
            None | Some(b'>' | b'/' | b' ' | b'\t' | b'\r' | b'\n')
        );
        let mark = if !ends_name || name.is_empty() {
            None
        } else if name.eq_ignore_ascii_case("br") {
            Some((BREAK_MARK, "x-br"))
        } else if BLOCK_TAGS.iter().any(|t| t.eq_ignore_ascii_case(name)) {
            Some((BLOCK_MARK, "x-block"))
        } else if CELL_TAGS.iter().any(|t| t.eq_ignore_ascii_case(name)) && name_start == lt + 1 {
            Some((CELL_MARK, "x-cell"))
        } else {
            None
        };
        if let Some((mark, renamed)) = mark {
            push_unmarked(&mut out, &html[copied..lt]);
            out.push(mark);
            out.push_str(&html[lt..name_start]);
            out.push_str(renamed);
            copied = name_end;
        }
        pos = name_end.max(lt + 1);
    }
    push_unmarked(&mut out, &html[copied..]);
    out
}

fn push_unmarked(out: &mut String, s: &str) {
    out.extend(
        s.chars()
            .filter(|c| ![BLOCK_MARK, CELL_MARK, BREAK_MARK].contains(c)),
    );
}

/// Turns the markers into line breaks and tabs, and tidies whitespace.
fn resolve_marks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Whether the current line holds anything but spaces; a non-breaking
    // space counts, so `<p>&nbsp;</p>` (Outlook's empty line) stays a line.
    let mut line_has_text = false;
    for c in text.chars() {
        match c {
            BLOCK_MARK => {
                if line_has_text {
                    out.push('\n');
                    line_has_text = false;
                }
            }
            BREAK_MARK => {
                out.push('\n');
                line_has_text = false;
            }
            CELL_MARK => {
                if line_has_text {
                    out.push('\t');
                }
            }
            '\n' => {
                out.push('\n');
                line_has_text = false;
            }
            // Indentation at the start of a line is the HTML source's layout.
            ' ' | '\t' | '\r' => {
                if line_has_text {
                    out.push(c);
                }
            }
            '\u{a0}' => {
                out.push(' ');
                line_has_text = true;
            }
            _ => {
                out.push(c);
                line_has_text = true;
            }
        }
    }
    // Trailing spaces are noise left by the markers and by source indentation.
    let mut tidy = String::with_capacity(out.len());
    for line in out.split('\n') {
        tidy.push_str(line.trim_end());
        tidy.push('\n');
    }
    tidy.truncate(tidy.trim_end().len());
    tidy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_rows_and_breaks_become_lines() {
        for (html, expected) in [
            ("<div>Company: Acme</div><div>Web: acme.com</div>", "Company: Acme\nWeb: acme.com"),
            ("<p>A</p><p>B</p>", "A\nB"),
            ("<P CLASS=MsoNormal>A<o:p></o:p></P>\n<P class=MsoNormal>&nbsp;</P><p>B</p>", "A\n\nB"),
            ("A<br>B<br/>C<BR />D", "A\nB\nC\nD"),
            ("<div>A</div><div><br></div><div>B</div>", "A\n\nB"),
            (
                "<table><tr><td>Company</td><td>Acme</td></tr>\n<tr><th>Site</th> <td>acme.com</td></tr></table>",
                "Company\tAcme\nSite \tacme.com",
            ),
            ("<ul><li>One</li><li>Two</li></ul>", "One\nTwo"),
            ("<b>Company:</b>&nbsp;Acme &amp; Co&#233;", "Company: Acme & Coé"),
            ("<html><head><style>div{}</style></head><body><div>Hi</div></body></html>", "Hi"),
            ("<!-- <div>hidden</div> --><div>shown</div>", "shown"),
            ("<span>in</span><span>line</span>", "inline"),
            ("<b>A:</b> x<br><b>B:</b> y <i>z</i>", "A: x\nB: y z"),
            ("<p>A</p>\n<p><b>B:</b> <b>y</b> z</p>", "A\nB: y z"),
            ("<divx>not a block</divx><pre>pre</pre>", "not a block\npre"),
            ("a \u{E000} b", "a b"),
            ("<", ""),
            ("</", ""),
            ("<div", ""),
        ] {
            assert_eq!(html_to_plain(html), expected, "{html}");
        }
    }
}
