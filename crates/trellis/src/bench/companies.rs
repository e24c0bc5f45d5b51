//! Synthetic companies for the benchmarks: distinct, realistic-looking names
//! and domains, generated from an index so that millions can be streamed
//! without being held in memory, and any one of them regenerated later
//! (to register it again, or to look it up).

use anyhow::Context;
use trellis_domain::dedupe::{CompanyName, WebDomain};
use trellis_store::NewAccount;

/// First halves of the coined brand word ("Cedar" + "brook").
const FIRST: [&str; 64] = [
    "Amber", "Arrow", "Aspen", "Atlas", "Beacon", "Birch", "Bright", "Brook", "Canyon", "Cedar",
    "Cinder", "Clear", "Cobalt", "Copper", "Coral", "Crest", "Crystal", "Delta", "Ember", "Falcon",
    "Fern", "Flint", "Forest", "Frost", "Garnet", "Glacier", "Granite", "Hazel", "Heron", "Indigo",
    "Iron", "Ivory", "Jade", "Juniper", "Kestrel", "Lake", "Linden", "Lunar", "Maple", "Marble",
    "Meadow", "Nova", "Oak", "Onyx", "Opal", "Orchid", "Pine", "Prairie", "Quartz", "Raven",
    "River", "Sable", "Sage", "Silver", "Slate", "Spruce", "Stone", "Summit", "Thistle", "Timber",
    "Willow", "Wren", "Yarrow", "Zenith",
];
/// Second halves of the brand word.
const SECOND: [&str; 64] = [
    "bay", "bend", "bridge", "burn", "cliff", "cove", "creek", "croft", "dale", "dell", "down",
    "fall", "field", "fold", "ford", "gate", "glen", "grove", "hall", "haven", "hill", "hollow",
    "holm", "hope", "hurst", "land", "lane", "leaf", "ledge", "light", "line", "marsh", "mead",
    "mere", "mill", "mont", "moor", "mount", "path", "peak", "point", "pond", "port", "reach",
    "ridge", "rock", "run", "shire", "shore", "side", "spring", "star", "stead", "tor", "vale",
    "view", "wall", "ward", "water", "way", "well", "wick", "wood", "yard",
];
const INDUSTRY: [&str; 48] = [
    "Analytics",
    "Aviation",
    "Biotech",
    "Capital",
    "Cloud",
    "Construction",
    "Consulting",
    "Dental",
    "Devices",
    "Energy",
    "Farms",
    "Fitness",
    "Foods",
    "Freight",
    "Furniture",
    "Games",
    "Health",
    "Hospitality",
    "Insurance",
    "Labs",
    "Learning",
    "Lighting",
    "Logistics",
    "Machinery",
    "Marine",
    "Media",
    "Metals",
    "Mining",
    "Motors",
    "Optics",
    "Packaging",
    "Payments",
    "Pharma",
    "Plastics",
    "Power",
    "Printing",
    "Realty",
    "Retail",
    "Robotics",
    "Security",
    "Shipping",
    "Software",
    "Staffing",
    "Steel",
    "Storage",
    "Telecom",
    "Travel",
    "Wellness",
];
/// The last word of the name; empty for none ("Cedarbrook Logistics").
const QUALIFIER: [&str; 32] = [
    "",
    "Alliance",
    "Associates",
    "Brands",
    "Collective",
    "Digital",
    "Direct",
    "Dynamics",
    "Enterprises",
    "Exchange",
    "Global",
    "Group",
    "Holdings",
    "Hub",
    "Industries",
    "Innovations",
    "International",
    "Networks",
    "One",
    "Partners",
    "Research",
    "Services",
    "Solutions",
    "Source",
    "Studio",
    "Supply",
    "Systems",
    "Technologies",
    "Ventures",
    "Works",
    "Worldwide",
    "Logic",
];
/// Legal forms: dropped from the dedupe key, so the same company may be
/// typed with another one and still match exactly.
const LEGAL: [&str; 12] = [
    "Inc.", "GmbH", "Ltd", "LLC", "S.A.", "B.V.", "AG", "SAS", "Oy", "PLC", "Pty Ltd", "",
];
const TLDS: [&str; 10] = [
    "com", "de", "co.uk", "fr", "nl", "io", "com.au", "se", "ca", "es",
];

/// Distinct word combinations; past it a number is appended ("... 2").
const COMBINATIONS: u64 = (FIRST.len() * SECOND.len() * INDUSTRY.len() * QUALIFIER.len()) as u64;
/// Coprime with `COMBINATIONS` (2^21 * 3), so `index * SCATTER` visits every
/// combination once while neighbouring indexes get unrelated names, rather
/// than thousands in a row sharing their first word.
const SCATTER: u64 = 1_000_003;
/// One account in this many is on file without its domain, as CRM records
/// often are, so dedupe has to fall back on the name.
const NO_DOMAIN_EVERY: u64 = 8;

/// One synthetic company: what a vendor's CRM holds and a partner types.
pub struct Company {
    /// The brand, industry and qualifier words, without a legal form.
    stem: String,
    pub domain: WebDomain,
    index: u64,
}

impl Company {
    /// The company with this index; different indexes never share a name
    /// key or a domain.
    pub fn at(index: u64) -> anyhow::Result<Company> {
        let round = index / COMBINATIONS;
        let mut digits = (index % COMBINATIONS) * SCATTER % COMBINATIONS;
        let mut pick = |len: usize| {
            let digit = (digits % len as u64) as usize;
            digits /= len as u64;
            digit
        };
        let words = [
            format!("{}{}", FIRST[pick(FIRST.len())], SECOND[pick(SECOND.len())]),
            INDUSTRY[pick(INDUSTRY.len())].to_owned(),
            QUALIFIER[pick(QUALIFIER.len())].to_owned(),
            if round > 0 {
                (round + 1).to_string()
            } else {
                String::new()
            },
        ];
        let words: Vec<&str> = words
            .iter()
            .map(String::as_str)
            .filter(|w| !w.is_empty())
            .collect();
        let tld = TLDS[(index % TLDS.len() as u64) as usize];
        let domain = format!("{}.{tld}", words.join("-").to_lowercase());
        Ok(Company {
            stem: words.join(" "),
            domain: WebDomain::parse(&domain)
                .with_context(|| format!("generated domain {domain}"))?,
            index,
        })
    }

    /// The name as the vendor's CRM holds it.
    pub fn name(&self) -> anyhow::Result<CompanyName> {
        self.name_with_legal_form(self.index)
    }

    /// The name with another legal form, as a partner might type it: a
    /// different display name with the same dedupe key.
    pub fn name_as_typed(&self) -> anyhow::Result<CompanyName> {
        self.name_with_legal_form(self.index + 5)
    }

    /// The name as typed, with one letter after the first replaced: a
    /// near miss that only the fuzzy search can find.
    pub fn name_with_typo(&self, position: usize) -> anyhow::Result<CompanyName> {
        let letters: Vec<usize> = self
            .stem
            .char_indices()
            .skip(1)
            .filter(|(_, c)| c.is_ascii_lowercase())
            .map(|(i, _)| i)
            .collect();
        let at = letters[position % letters.len()];
        let mut typed = self.stem.clone().into_bytes();
        typed[at] = if typed[at] == b'z' {
            b'a'
        } else {
            typed[at] + 1
        };
        let typed = String::from_utf8(typed).context("typo in ASCII")?;
        parse_name(&format!("{typed} {}", legal_form(self.index + 5)))
    }

    /// The account a vendor would have on file for this company.
    pub fn account(&self) -> anyhow::Result<NewAccount> {
        Ok(NewAccount {
            name: self.name()?,
            domain: self.domain_on_file().then(|| self.domain.clone()),
            source: "bench".into(),
        })
    }

    /// Whether the vendor's account for this company records its domain.
    pub fn domain_on_file(&self) -> bool {
        self.index % NO_DOMAIN_EVERY != NO_DOMAIN_EVERY - 1
    }

    /// The stem with one of the legal forms, picked by `variant`.
    fn name_with_legal_form(&self, variant: u64) -> anyhow::Result<CompanyName> {
        parse_name(&format!("{} {}", self.stem, legal_form(variant)))
    }
}

/// A legal form by number, cycling through the list.
fn legal_form(variant: u64) -> &'static str {
    LEGAL[(variant % LEGAL.len() as u64) as usize]
}

/// Parses a generated name; failing means the word lists are wrong.
fn parse_name(name: &str) -> anyhow::Result<CompanyName> {
    CompanyName::parse(name).with_context(|| format!("generated name {name:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn brand_words_are_distinct_so_names_are() {
        let brands: HashSet<String> = FIRST
            .iter()
            .flat_map(|a| SECOND.iter().map(move |b| format!("{a}{b}").to_lowercase()))
            .collect();
        assert_eq!(brands.len(), FIRST.len() * SECOND.len());
        let words: HashSet<&str> = INDUSTRY.iter().chain(&QUALIFIER).copied().collect();
        assert_eq!(words.len(), INDUSTRY.len() + QUALIFIER.len());
    }

    #[test]
    fn indexes_give_distinct_keys_and_domains_across_rounds() {
        let indexes = (0..20_000).chain(COMBINATIONS - 10..COMBINATIONS + 10);
        let (mut keys, mut domains) = (HashSet::new(), HashSet::new());
        for index in indexes {
            let company = Company::at(index).unwrap();
            assert!(keys.insert(company.name().unwrap().key()), "{index}");
            assert!(
                domains.insert(company.domain.as_str().to_owned()),
                "{index}"
            );
            assert_eq!(
                company.name().unwrap().key(),
                company.name_as_typed().unwrap().key()
            );
        }
    }

    #[test]
    fn a_typo_changes_the_key() {
        let company = Company::at(42).unwrap();
        for position in 0..30 {
            let typo = company.name_with_typo(position).unwrap();
            assert_ne!(typo.key(), company.name().unwrap().key(), "{typo}");
        }
    }
}
