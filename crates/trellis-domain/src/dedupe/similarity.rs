//! Fuzzy duplicate detection over company keys.
//!
//! Exact key equality misses typos ("Acme Globel") and reordered words
//! ("Global Acme" / "Acme Global"). Comparing a new name with every stored
//! one does not scale, so candidates are found first by *blocking*: the store
//! keeps each company's key and its [`reversed_key`], both indexed, and looks
//! up a new name with two prefix range scans, one on
//! `prefix_for_block(key)` and one on `prefix_for_block(&reversed_key(key))`.
//! A typo near the end of a name leaves its beginning intact and the first
//! scan finds it; a typo near the beginning leaves its end intact and the
//! second scan finds it. Only those candidates are scored with
//! [`name_similarity`].

/// Number of characters the blocking prefix scans on.
///
/// Three keeps the candidate sets small while tolerating a typo anywhere
/// except in both the first and the last three characters.
const BLOCK_PREFIX_CHARS: usize = 3;

use rapidfuzz::distance::jaro_winkler;

/// How alike two company keys are, from 0.0 (nothing in common) to 1.0
/// (equal, or the same words in another order).
///
/// The score is the larger of Jaro-Winkler, which rewards a shared beginning
/// and forgives small typos, and the normalized Levenshtein similarity of the
/// keys with their words sorted, which makes word order irrelevant. The
/// arguments are keys from [`company_key`](super::company_key), not raw
/// names. The result is symmetric in its arguments.
pub fn name_similarity(a_key: &str, b_key: &str) -> f64 {
    NameProbe::new(a_key)
        .similarity_from(b_key, 0.0)
        .unwrap_or(0.0)
}

/// A key scored against many others, as a fuzzy search scores one new name
/// against dozens of neighbours: its sorted words are worked out once, and
/// neither metric is computed where a bound shows it cannot change the
/// answer. Most neighbours are strangers, and bounds counted from the
/// characters two keys share rule them out without allocating.
pub struct NameProbe<'k> {
    key: &'k str,
    /// The key prepared for bit-parallel Jaro-Winkler against many others.
    winkler: jaro_winkler::BatchComparator<char>,
    sorted: String,
    letters: Vec<char>,
    /// `None` when the key holds a character beyond ASCII (company keys
    /// are folded to ASCII, so only odd input goes without the bounds).
    tally: Option<Tally>,
}

impl<'k> NameProbe<'k> {
    pub fn new(key: &'k str) -> NameProbe<'k> {
        let sorted = sorted_words(key);
        let letters = letters(&sorted);
        NameProbe {
            key,
            winkler: jaro_winkler::BatchComparator::new(key.chars()),
            sorted,
            letters,
            tally: Tally::of(key),
        }
    }

    /// [`name_similarity`] of the probe's key and `other` when it is at
    /// least `threshold`, else `None`.
    pub fn similarity_from(&self, other: &str, threshold: f64) -> Option<f64> {
        if self.key == other {
            return Some(1.0);
        }
        // The bounds and the metrics round differently in the last bits.
        let reachable = |bound: f64| bound >= threshold - 1e-9;
        let bounds = self.bounds(other);
        let (winkler_max, levenshtein_max) = bounds.unwrap_or((1.0, 1.0));
        if !reachable(winkler_max) && !reachable(levenshtein_max) {
            return None;
        }
        // A Jaro-Winkler score below the threshold is never the answer:
        // either Levenshtein reaches the threshold and is larger, or
        // neither does.
        let winkler = match reachable(winkler_max) {
            true => self.jaro_winkler(other),
            false => 0.0,
        };
        // Where the keys are ASCII the Levenshtein bound is exact already;
        // otherwise count the characters the sorted words share.
        let levenshtein_max = match bounds {
            Some(_) => levenshtein_max,
            None => shared_share(&self.letters, &letters(&sorted_words(other))),
        };
        // Levenshtein counts only where it could beat Jaro-Winkler and
        // reach the threshold: the words are sorted only then. The bound is
        // a ratio and the metric one minus a ratio, which may round a bit
        // higher, so a tie does not rule it out.
        let score = if levenshtein_max > winkler - 1e-9 && reachable(levenshtein_max) {
            winkler.max(strsim::normalized_levenshtein(
                &self.sorted,
                &sorted_words(other),
            ))
        } else {
            winkler
        };
        (score >= threshold).then_some(score)
    }

    /// Jaro-Winkler similarity of the key and `other`, in a fixed order so
    /// that the score is symmetric: Jaro's greedy matching reads the
    /// smaller key and binds the first free character of the larger
    /// (rapidfuzz reads its second argument and binds in its first, the
    /// order `strsim::jaro_winkler` gives the other way round, and the two
    /// agree to the bit). Where the probe's key is the larger, it is the
    /// one prepared for every neighbour.
    fn jaro_winkler(&self, other: &str) -> f64 {
        // `similarity`, not `normalized_similarity`: the latter is one
        // minus a distance, a bit away from the score itself.
        if other < self.key {
            self.winkler.similarity(other.chars())
        } else {
            jaro_winkler::similarity(other.chars(), self.key.chars())
        }
    }

    /// Upper bounds on the Jaro-Winkler similarity of the two keys and on
    /// the Levenshtein similarity of their sorted words, from one pass over
    /// `other` that allocates nothing; `None` where either key is not
    /// ASCII. The second is exactly the share of characters the sorted
    /// words have in common.
    ///
    /// Jaro matches only characters the keys share, so with `c` shared
    /// characters it is at most `(c/a + c/b + 1) / 3`; Winkler's bonus grows
    /// with it. An edit script leaves unchanged only characters the sorted
    /// words share: their letters, and at most the fewer of their spaces.
    fn bounds(&self, other: &str) -> Option<(f64, f64)> {
        let Tally { mut counts, shape } = self.tally?;
        let (mut mine, mut shared, mut shared_letters) = (Shape::default(), 0, 0);
        for byte in other.bytes() {
            if !byte.is_ascii() {
                return None;
            }
            mine.add(byte);
            let left = &mut counts[usize::from(byte)];
            if *left > 0 {
                *left -= 1;
                shared += 1;
                shared_letters += usize::from(!char::from(byte).is_whitespace());
            }
        }
        let winkler = if shared == 0 {
            0.0
        } else {
            let c = shared as f64;
            let jaro = (c / shape.chars as f64 + c / mine.chars as f64 + 1.0) / 3.0;
            let prefix = self.key.bytes().zip(other.bytes()).take(4);
            let prefix = prefix.take_while(|(a, b)| a == b).count() as f64;
            jaro + 0.1 * prefix * (1.0 - jaro)
        };
        let longer = shape.sorted_len().max(mine.sorted_len());
        let levenshtein = match longer {
            0 => 1.0,
            _ => {
                let spaces = shape.sorted_spaces().min(mine.sorted_spaces());
                (shared_letters + spaces) as f64 / longer as f64
            }
        };
        Some((winkler, levenshtein))
    }
}

/// What [`NameProbe::bounds`] knows of the probe's (ASCII) key.
#[derive(Clone, Copy)]
struct Tally {
    /// How often each character occurs.
    counts: [u32; 128],
    shape: Shape,
}

impl Tally {
    fn of(key: &str) -> Option<Tally> {
        let mut tally = Tally {
            counts: [0; 128],
            shape: Shape::default(),
        };
        for byte in key.bytes() {
            if !byte.is_ascii() {
                return None;
            }
            tally.shape.add(byte);
            tally.counts[usize::from(byte)] += 1;
        }
        Some(tally)
    }
}

/// A key's lengths as the bounds need them, counted a character at a time.
#[derive(Clone, Copy, Default)]
struct Shape {
    chars: usize,
    /// Characters other than whitespace.
    letters: usize,
    words: usize,
    /// Whether the last character seen belongs to a word.
    in_word: bool,
}

impl Shape {
    fn add(&mut self, byte: u8) {
        self.chars += 1;
        let space = char::from(byte).is_whitespace();
        if !space {
            self.letters += 1;
            self.words += usize::from(!self.in_word);
        }
        self.in_word = !space;
    }

    /// The spaces between the words once sorted and joined.
    fn sorted_spaces(&self) -> usize {
        self.words.saturating_sub(1)
    }

    /// The length of the key's words sorted and joined by single spaces.
    fn sorted_len(&self) -> usize {
        self.letters + self.sorted_spaces()
    }
}

/// A text's characters, sorted.
fn letters(text: &str) -> Vec<char> {
    let mut letters: Vec<char> = text.chars().collect();
    letters.sort_unstable();
    letters
}

/// Characters two texts have in common (with repeats) over the longer
/// length, from their sorted characters: never below their normalized
/// Levenshtein similarity, since an edit script leaves unchanged only
/// characters the two share.
fn shared_share(a: &[char], b: &[char]) -> f64 {
    let longer = a.len().max(b.len());
    if longer == 0 {
        return 1.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared as f64 / longer as f64
}

fn sorted_words(key: &str) -> String {
    let mut words: Vec<&str> = key.split_whitespace().collect();
    words.sort_unstable();
    words.join(" ")
}

/// The key with its characters in reverse order, stored in its own indexed
/// column so that a prefix scan on it finds names that share an *ending*
/// (and so may differ by a typo at the beginning).
pub fn reversed_key(key: &str) -> String {
    key.chars().rev().collect()
}

/// The first three characters of a key (cut on a character boundary), or the
/// whole key if it is shorter: the prefix that candidate lookups scan for.
pub fn prefix_for_block(key: &str) -> &str {
    match key.char_indices().nth(BLOCK_PREFIX_CHARS) {
        Some((end, _)) => &key[..end],
        None => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scores_typos_and_reordering_high_and_strangers_low() {
        let cases = [
            ("acme", "acme", 1.0, 1.0),
            ("global acme", "acme global", 1.0, 1.0),
            ("acme global", "acme globel", 0.9, 1.0),
            ("acme", "acne", 0.85, 0.95),
            ("procter and gamble", "proctor and gamble", 0.9, 1.0),
            ("acme", "zenith", 0.0, 0.5),
            ("acme", "", 0.0, 0.0),
            ("", "", 1.0, 1.0),
        ];
        for (a, b, low, high) in cases {
            let score = name_similarity(a, b);
            assert!((low..=high).contains(&score), "{a:?} ~ {b:?} = {score}");
        }
    }

    #[test]
    fn reversed_key_reverses_characters() {
        let cases = [
            ("", ""),
            ("acme", "emca"),
            ("acme inc", "cni emca"),
            ("ab", "ba"),
        ];
        for (key, reversed) in cases {
            assert_eq!(reversed_key(key), reversed, "{key:?}");
        }
    }

    #[test]
    fn block_prefix_is_three_chars_on_a_char_boundary() {
        let cases = [
            ("", ""),
            ("a", "a"),
            ("ab", "ab"),
            ("abc", "abc"),
            ("acme", "acm"),
            ("a b c", "a b"),
            ("éèêë", "éèê"),
            ("北京市", "北京市"),
        ];
        for (key, prefix) in cases {
            assert_eq!(prefix_for_block(key), prefix, "{key:?}");
        }
    }

    #[test]
    fn a_typo_at_either_end_is_found_by_one_of_the_two_scans() {
        let stored = "acme global";
        for typo in ["acme globel", "ecme global"] {
            let by_prefix = stored.starts_with(prefix_for_block(typo));
            let by_suffix = reversed_key(stored).starts_with(prefix_for_block(&reversed_key(typo)));
            assert!(by_prefix || by_suffix, "{typo:?}");
        }
    }

    proptest! {
        #[test]
        fn similarity_is_symmetric_and_bounded(a in ".{0,20}", b in ".{0,20}") {
            let ab = name_similarity(&a, &b);
            prop_assert_eq!(ab.to_bits(), name_similarity(&b, &a).to_bits());
            prop_assert!((0.0..=1.0).contains(&ab));
        }

        #[test]
        fn skipping_levenshtein_never_changes_a_score(
            a in "[a-e ]{0,12}",
            b in "[a-e ]{0,12}",
            threshold in 0.0f64..1.0,
        ) {
            let (first, second) = if a <= b { (&a, &b) } else { (&b, &a) };
            let full = if a == b {
                1.0
            } else {
                strsim::jaro_winkler(first, second).max(strsim::normalized_levenshtein(
                    &sorted_words(&a),
                    &sorted_words(&b),
                ))
            };
            let pruned = NameProbe::new(&a).similarity_from(&b, threshold);
            let expected = (full >= threshold).then_some(full);
            prop_assert_eq!(pruned.map(f64::to_bits), expected.map(f64::to_bits));
        }

        #[test]
        fn jaro_winkler_agrees_with_the_plain_definition(
            a in "[a-dé ]{0,70}",
            b in "[a-dé ]{0,70}",
        ) {
            let (first, second) = if a <= b { (&a, &b) } else { (&b, &a) };
            let plain = strsim::jaro_winkler(first, second);
            prop_assert_eq!(NameProbe::new(&a).jaro_winkler(&b).to_bits(), plain.to_bits());
            prop_assert_eq!(NameProbe::new(&b).jaro_winkler(&a).to_bits(), plain.to_bits());
        }

        #[test]
        fn the_bounds_never_change_a_score(
            a in "[a-cé \t]{0,12}",
            b in "[a-cé \t]{0,12}",
            threshold in 0.0f64..1.0,
        ) {
            let full = name_similarity(&a, &b);
            let pruned = NameProbe::new(&a).similarity_from(&b, threshold);
            let expected = (full >= threshold).then_some(full);
            prop_assert_eq!(pruned.map(f64::to_bits), expected.map(f64::to_bits));
        }

        #[test]
        fn equal_keys_score_one(key in ".{0,30}") {
            prop_assert_eq!(name_similarity(&key, &key), 1.0);
        }

        #[test]
        fn reversing_twice_is_identity(key in ".{0,30}") {
            prop_assert_eq!(reversed_key(&reversed_key(&key)), key);
        }

        #[test]
        fn block_prefix_is_a_prefix_of_at_most_three_chars(key in ".{0,10}") {
            let prefix = prefix_for_block(&key);
            prop_assert!(key.starts_with(prefix));
            prop_assert!(prefix.chars().count() <= 3);
        }
    }
}
