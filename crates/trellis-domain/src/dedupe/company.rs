//! Company names and the normalized key used to dedupe them exactly.
//!
//! Partners type the same company many ways ("ACME Inc.", "Acme, Inc",
//! "Ácme GmbH"). The key keeps only what identifies the company: ASCII-folded
//! lowercase words, without punctuation, a leading article or trailing legal
//! forms. Two names with the same key are treated as the same company.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ValueError;

/// Longest accepted display name, in characters.
const MAX_NAME_CHARS: usize = 200;

/// Words dropped from the front of a name: the English article, and the
/// Russian legal forms that are written before the name ("OOO Romashka").
const LEADING_WORDS: &[&str] = &["oao", "ooo", "pao", "the", "zao"];

/// Legal forms dropped from the end of a name, as key tokens. Dotted and
/// slashed spellings need no entry of their own: tokenizing joins initialisms
/// ("S.A." and "SA" both give `sa`) and splits on slashes ("A/S" gives `a s`).
/// Forms made of other forms ("Pty Ltd", "GmbH & Co. KG") are stripped by
/// repetition and need no entry either.
const LEGAL_SUFFIXES: &[&[&str]] = &[
    &["a", "s"],
    &["ab"],
    &["ab", "publ"],
    &["ag"],
    &["and", "co"],
    &["and", "company"],
    &["aps"],
    &["as"],
    &["asa"],
    &["berhad"],
    &["bhd"],
    &["bv"],
    &["bvba"],
    &["co"],
    &["company"],
    &["corp"],
    &["corporation"],
    &["doo"],
    &["ehf"],
    &["eurl"],
    &["gbr"],
    &["gk"],
    &["gmbh"],
    &["godo", "kaisha"],
    &["inc"],
    &["incorporated"],
    &["jsc"],
    &["kabushiki", "kaisha"],
    &["kft"],
    &["kg"],
    &["kgaa"],
    &["kk"],
    &["limited"],
    &["limited", "liability", "company"],
    &["llc"],
    &["llp"],
    &["lp"],
    &["ltd"],
    &["ltda"],
    &["ltee"],
    &["nv"],
    &["nyrt"],
    &["ooo"],
    &["oy"],
    &["oyj"],
    &["pjsc"],
    &["plc"],
    &["pllc"],
    &["private", "limited"],
    &["pte"],
    &["pty"],
    &["pvt"],
    &["s", "de", "rl"],
    &["s", "de", "rl", "de", "cv"],
    &["sa"],
    &["sa", "de", "cv"],
    &["sarl"],
    &["sas"],
    &["sasu"],
    &["sdn", "bhd"],
    &["se"],
    &["sl"],
    &["snc"],
    &["sp", "z", "o", "o"],
    &["sp", "z", "oo"],
    &["spa"],
    &["spolka", "z", "oo"],
    &["sro"],
    &["srl"],
    &["ug"],
    &["zrt"],
];

/// The normalized company name used for exact deduplication.
///
/// Folds accents and case ("Müller" gives `muller`), turns `&` and `+` into
/// `and`, drops apostrophes, treats other punctuation as a word break (except
/// in initialisms: "S.A.", "E.ON" and "J.P." give `sa`, `eon`, `jp`), drops a
/// leading "the" and, repeatedly, trailing legal forms from about 20
/// countries. A word is never dropped when it is the last one left, so "AB"
/// gives `ab`; only input without any letter or digit gives an empty key.
///
/// The result is lowercase ASCII words separated by single spaces, and
/// applying `company_key` to it again returns it unchanged.
pub fn company_key(name: &str) -> String {
    let mut tokens = words(name);
    strip_leading_words(&mut tokens);
    strip_legal_suffixes(&mut tokens, 1);
    tokens.join(" ")
}

/// A company name as a partner typed it, cleaned up for display.
///
/// Whitespace is trimmed and collapsed (tabs and newlines included); other
/// control characters and the invisible bidirectional-override characters
/// (used to disguise text) are rejected. HTML is not special: `<b>Acme</b>` is
/// stored as that text, and escaping it is the job of whoever renders it.
///
/// Serializes as a plain string; deserializing validates with
/// [`CompanyName::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CompanyName(String);

impl CompanyName {
    /// Validates a typed name: 1 to 200 characters after collapsing
    /// whitespace, no control characters, at least one letter or digit, and
    /// more than just a legal form ("Inc." alone is rejected, while
    /// "The Limited" is a name).
    ///
    /// # Errors
    ///
    /// [`ValueError::InvalidCompanyName`], with the reason the name is
    /// unusable.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
        check_name(&name).map_err(ValueError::invalid_company_name)?;
        Ok(Self(name))
    }

    /// The name as stored for display.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The dedupe key of this name; see [`company_key`].
    pub fn key(&self) -> String {
        company_key(&self.0)
    }
}

impl fmt::Display for CompanyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CompanyName {
    type Error = ValueError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CompanyName> for String {
    fn from(name: CompanyName) -> Self {
        name.0
    }
}

/// Why a whitespace-collapsed name cannot be a company name, if it cannot.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty; enter the company's name".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("it is longer than {MAX_NAME_CHARS} characters"));
    }
    if let Some(c) = name.chars().find(|c| is_invisible_control(*c)) {
        return Err(format!(
            "it contains the invisible control character U+{:04X}; remove it",
            u32::from(c)
        ));
    }
    let mut tokens = words(name);
    if tokens.is_empty() {
        return Err("it has no letters or digits; enter the company's name".into());
    }
    strip_legal_suffixes(&mut tokens, 0);
    if tokens.is_empty() {
        return Err(format!(
            "{name:?} is only a legal form; enter the company's own name, such as \"Acme {name}\""
        ));
    }
    Ok(())
}

/// Control characters, plus the bidirectional embedding, override and isolate
/// marks that can make a name display differently from what it contains.
fn is_invisible_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The key words of a name before any of them is dropped.
fn words(name: &str) -> Vec<String> {
    tokenize(&fold_to_ascii(name))
}

/// Lowercase ASCII transliteration of `name` (via `deunicode`).
fn fold_to_ascii(name: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    for c in name.chars() {
        push_folded(c, &mut folded);
    }
    folded.make_ascii_lowercase();
    folded
}

/// Appends the ASCII form of one character. Letters and digits are
/// transliterated ("Ł" to "L", "北" to "Bei"); symbols are kept only when they
/// map to a single punctuation mark ("＆" to "&", "’" to "'"), because
/// others transliterate to words ("😀" to "grinning", "©" to "(c)") that
/// would invent name tokens. Unknown characters become a word break.
fn push_folded(c: char, folded: &mut String) {
    if c.is_ascii() {
        folded.push(c);
        return;
    }
    match deunicode::deunicode_char(c) {
        Some(ascii) if c.is_alphanumeric() || ascii.len() <= 1 => folded.push_str(ascii),
        _ => folded.push(' '),
    }
}

/// Splits folded text into key words.
fn tokenize(folded: &str) -> Vec<String> {
    let mut tokenizer = Tokenizer::default();
    for c in folded.chars() {
        tokenizer.push(c);
    }
    tokenizer.finish()
}

/// State for [`tokenize`]: the words so far, the word being built and the
/// length of its current dot-separated segment.
#[derive(Default)]
struct Tokenizer {
    words: Vec<String>,
    word: String,
    segment_chars: usize,
}

impl Tokenizer {
    fn push(&mut self, c: char) {
        match c {
            c if c.is_ascii_alphanumeric() => {
                self.word.push(c);
                self.segment_chars += 1;
            }
            // "O'Brien" and "McDonald's" are one word, however it is typed.
            '\'' | '`' => {}
            // A dot after a single character is part of an initialism
            // ("S.A.", "E.ON"), so the word continues; any other dot
            // ("Inc.", "acme.com") separates words.
            '.' if self.segment_chars == 1 => self.segment_chars = 0,
            '&' | '+' => {
                self.end_word();
                self.words.push("and".to_owned());
            }
            _ => self.end_word(),
        }
    }

    fn end_word(&mut self) {
        if !self.word.is_empty() {
            self.words.push(std::mem::take(&mut self.word));
        }
        self.segment_chars = 0;
    }

    fn finish(mut self) -> Vec<String> {
        self.end_word();
        self.words
    }
}

/// Drops leading articles and prefix legal forms while more than one word is
/// left.
fn strip_leading_words(tokens: &mut Vec<String>) {
    while tokens.len() > 1 && LEADING_WORDS.contains(&tokens[0].as_str()) {
        tokens.remove(0);
    }
}

/// Drops trailing legal forms, longest match first, as long as at least
/// `keep` words remain. Repeating handles stacked forms ("GmbH & Co. KG").
fn strip_legal_suffixes(tokens: &mut Vec<String>, keep: usize) {
    while let Some(len) = longest_legal_suffix(tokens, keep) {
        tokens.truncate(tokens.len() - len);
    }
}

/// Word count of the longest legal form `tokens` ends with whose removal
/// leaves at least `keep` words (and removes at least one).
fn longest_legal_suffix(tokens: &[String], keep: usize) -> Option<usize> {
    LEGAL_SUFFIXES
        .iter()
        .filter(|suffix| suffix.len() + keep <= tokens.len() && ends_with(tokens, suffix))
        .map(|suffix| suffix.len())
        .max()
}

fn ends_with(tokens: &[String], suffix: &[&str]) -> bool {
    tokens
        .iter()
        .rev()
        .zip(suffix.iter().rev())
        .all(|(token, word)| token == word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn assert_same_key(names: &[&str], key: &str) {
        for name in names {
            assert_eq!(company_key(name), key, "{name:?}");
        }
    }

    #[test]
    fn legal_forms_and_spelling_variants_share_one_key() {
        assert_same_key(
            &[
                "Acme",
                "ACME Inc.",
                "Acme, Inc",
                "Acme Inc",
                "acme llc",
                "Acme L.L.C.",
                "Acme GmbH",
                "Acme GmbH & Co. KG",
                "Acme S.A.",
                "Acme S.A",
                "Acme SAS",
                "Acme S.A.S.",
                "Acme B.V.",
                "Acme N.V.",
                "Acme Pty Ltd",
                "Acme Pty. Ltd.",
                "Acme PLC",
                "Acme Corp.",
                "Acme Corporation",
                "Ácme Oy",
                "Acme Oyj",
                "Acme AB",
                "Acme AB (publ)",
                "Acme A/S",
                "Acme ApS",
                "Acme SpA",
                "Acme S.p.A.",
                "Acme S.r.l.",
                "Acme K.K.",
                "Acme Kabushiki Kaisha",
                "Acme Ltda.",
                "Acme S.L.",
                "Acme S.A. de C.V.",
                "Acme S. de R.L. de C.V.",
                "Acme Sdn. Bhd.",
                "Acme Pte. Ltd.",
                "Acme Pvt. Ltd.",
                "Acme Private Limited",
                "Acme LLP",
                "Acme L.P.",
                "Acme SE",
                "Acme Kft.",
                "Acme Zrt.",
                "Acme Sp. z o.o.",
                "Acme Spółka z o.o.",
                "Acme s.r.o.",
                "Acme a.s.",
                "Acme d.o.o.",
                "OOO Acme",
                "Acme Ltée",
                "Acme Limited Liability Company",
                "Acme & Co.",
                "The Acme Company",
                "  the   ACME   company  ",
                "😀 Acme ™",
            ],
            "acme",
        );
    }

    #[test]
    fn ampersands_apostrophes_accents_and_initialisms_normalize() {
        let cases: &[(&[&str], &str)] = &[
            (&["AT&T", "AT and T", "AT+T", "A.T. & T."], "at and t"),
            (
                &["Procter & Gamble", "Procter and Gamble Co."],
                "procter and gamble",
            ),
            (&["Müller GmbH", "Muller", "MÜLLER"], "muller"),
            (
                &["McDonald's", "McDonald’s Corporation", "McDonalds"],
                "mcdonalds",
            ),
            (&["E.ON SE", "EON"], "eon"),
            (&["J.P. Morgan", "JP Morgan"], "jp morgan"),
            (&["Acme.com Inc", "Acme com"], "acme com"),
            (&["Łódź Ltd", "Lodz"], "lodz"),
            (&["北京 Ltd"], "bei jing"),
            (&["Global  Acme!!", "global-acme"], "global acme"),
        ];
        for (names, key) in cases {
            assert_same_key(names, key);
        }
    }

    #[test]
    fn never_strips_to_an_empty_key() {
        let cases = [
            ("AB", "ab"),
            ("Inc.", "inc"),
            ("The Company", "company"),
            ("The", "the"),
            ("Pty Ltd", "pty"),
            ("The Limited", "limited"),
            ("!!!", ""),
            ("", ""),
            ("😀", ""),
        ];
        for (name, key) in cases {
            assert_eq!(company_key(name), key, "{name:?}");
        }
    }

    #[test]
    fn legal_forms_inside_a_name_are_kept() {
        let cases = [
            ("Inc Magazine LLC", "inc magazine"),
            ("Company Shop Ltd", "company shop"),
            ("The The", "the"),
            ("Ab Initio Software", "ab initio software"),
        ];
        for (name, key) in cases {
            assert_eq!(company_key(name), key, "{name:?}");
        }
    }

    #[test]
    fn legal_suffix_table_is_normalized_and_unique() {
        for (i, suffix) in LEGAL_SUFFIXES.iter().enumerate() {
            let joined = suffix.join(" ");
            assert_eq!(company_key(&format!("x {joined}")), "x", "{joined}");
            assert!(suffix.iter().all(|w| !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())));
            assert!(!LEGAL_SUFFIXES[..i].contains(suffix), "duplicate {joined}");
        }
    }

    #[test]
    fn company_name_is_trimmed_and_collapsed() {
        let cases = [
            ("Acme Inc.", "Acme Inc.", "acme"),
            ("  Acme \t\n Inc.  ", "Acme Inc.", "acme"),
            ("<b>Acme</b>", "<b>Acme</b>", "b acme b"),
            ("The Limited", "The Limited", "limited"),
            ("AB InBev", "AB InBev", "ab inbev"),
            (&"x".repeat(200), &"x".repeat(200), &"x".repeat(200)),
        ];
        for (input, display, key) in cases {
            let name = CompanyName::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(name.as_str(), display, "{input:?}");
            assert_eq!(name.to_string(), display, "{input:?}");
            assert_eq!(name.key(), key, "{input:?}");
        }
    }

    #[test]
    fn company_name_rejects_non_names_with_a_reason() {
        let too_long = "x".repeat(201);
        let cases = [
            ("", "empty"),
            (" \t ", "empty"),
            (too_long.as_str(), "longer than 200"),
            ("Acme\u{0}", "U+0000"),
            ("Acme\u{202E}cni", "U+202E"),
            ("!!!", "no letters or digits"),
            ("Inc.", "only a legal form"),
            ("GmbH & Co. KG", "only a legal form"),
            ("Pty Ltd", "only a legal form"),
        ];
        for (input, reason) in cases {
            match CompanyName::parse(input) {
                Err(ValueError::InvalidCompanyName { reason: got }) => {
                    assert!(got.contains(reason), "{input:?}: {got}");
                }
                other => panic!("{input:?}: expected InvalidCompanyName, got {other:?}"),
            }
        }
    }

    #[test]
    fn company_name_serializes_as_a_string_and_validates_on_deserialize() {
        let name = CompanyName::parse(" Acme  Inc. ").expect("valid");
        let json = serde_json::to_string(&name).expect("serializes");
        assert_eq!(json, "\"Acme Inc.\"");
        assert_eq!(serde_json::from_str::<CompanyName>(&json).ok(), Some(name));
        assert!(serde_json::from_str::<CompanyName>("\"Inc.\"").is_err());
    }

    /// Names built from words, legal forms and punctuation, so properties are
    /// exercised on realistic input and not only on random Unicode.
    fn name_like() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            "[A-Za-zÀ-ÿ]{1,8}",
            Just("The".to_owned()),
            Just("S.A.".to_owned()),
            Just("Inc.".to_owned()),
            Just("&".to_owned()),
            Just("Co".to_owned()),
            Just("A/S".to_owned()),
            Just("z o.o.".to_owned()),
        ];
        prop::collection::vec(word, 0..6).prop_map(|words| words.join(" "))
    }

    proptest! {
        #[test]
        fn key_is_idempotent(name in prop_oneof![any::<String>(), name_like()]) {
            // Holds for empty keys too, so no input needs to be filtered out.
            let key = company_key(&name);
            prop_assert_eq!(company_key(&key), key);
        }

        #[test]
        fn key_is_lowercase_ascii_words(name in any::<String>()) {
            let key = company_key(&name);
            prop_assert!(key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == ' '));
            prop_assert!(!key.starts_with(' ') && !key.ends_with(' ') && !key.contains("  "));
        }

        #[test]
        fn company_name_parse_is_idempotent_and_keyed(name in prop_oneof![any::<String>(), name_like()]) {
            if let Ok(parsed) = CompanyName::parse(&name) {
                prop_assert!(!parsed.key().is_empty());
                prop_assert_eq!(CompanyName::parse(parsed.as_str()), Ok(parsed.clone()));
            }
        }
    }
}
