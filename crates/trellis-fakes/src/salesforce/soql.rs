//! Just enough SOQL for the queries a CRM connector sends:
//! `SELECT f, ... FROM Object [WHERE ...] [ORDER BY f [ASC|DESC], ...]
//! [LIMIT n]`, where a condition compares a field with a literal and
//! combines comparisons with AND, OR and parentheses.

use super::schema::SObject;
use std::cmp::Ordering;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug)]
pub(super) struct Query {
    pub fields: Vec<String>,
    pub object: String,
    pub filter: Option<Condition>,
    /// Fields and whether each sorts descending.
    pub order: Vec<(String, bool)>,
    pub limit: Option<usize>,
}

#[derive(Debug)]
pub(super) enum Condition {
    Or(Box<Condition>, Box<Condition>),
    And(Box<Condition>, Box<Condition>),
    Compare {
        field: String,
        op: Op,
        literal: Literal,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Op::Eq => ordering.is_eq(),
            Op::Ne => ordering.is_ne(),
            Op::Lt => ordering.is_lt(),
            Op::Le => ordering.is_le(),
            Op::Gt => ordering.is_gt(),
            Op::Ge => ordering.is_ge(),
        }
    }
}

/// A literal as written: quoted text, or a bare word (a datetime, `null`).
#[derive(Debug)]
pub(super) enum Literal {
    Quoted(String),
    Bare(String),
}

/// A field's value as SOQL compares it. Null sorts first, as in SOQL's
/// default `NULLS FIRST`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Scalar {
    Null,
    Text(String),
    Time(OffsetDateTime),
}

/// Why a query was refused, as Salesforce's error code and message.
pub(super) type Refusal = (&'static str, String);

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Comma,
    Open,
    Close,
    Op(Op),
}

pub(super) fn parse(text: &str) -> Result<Query, Refusal> {
    let tokens = tokenize(text).map_err(malformed)?;
    Parser { tokens, at: 0 }.query().map_err(malformed)
}

fn malformed(message: String) -> Refusal {
    ("MALFORMED_QUERY", message)
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        let simple = match c {
            ',' => Some(Token::Comma),
            '(' => Some(Token::Open),
            ')' => Some(Token::Close),
            _ => None,
        };
        if let Some(token) = simple {
            chars.next();
            tokens.push(token);
        } else if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut quoted = String::new();
            loop {
                match chars.next() {
                    Some('\\') => quoted.extend(chars.next()),
                    Some('\'') => break,
                    Some(c) => quoted.push(c),
                    None => return Err("unterminated string literal".into()),
                }
            }
            tokens.push(Token::Quoted(quoted));
        } else if matches!(c, '=' | '!' | '<' | '>') {
            chars.next();
            let equals = chars.next_if_eq(&'=').is_some();
            let op = match (c, equals) {
                ('=', false) => Op::Eq,
                ('!', true) => Op::Ne,
                ('<', false) => Op::Lt,
                ('<', true) => Op::Le,
                ('>', false) => Op::Gt,
                ('>', true) => Op::Ge,
                _ => return Err(format!("unexpected token: '{c}'")),
            };
            tokens.push(Token::Op(op));
        } else {
            let word_char = |c: &char| c.is_alphanumeric() || "_.-:+".contains(*c);
            let mut word = String::new();
            while let Some(c) = chars.next_if(word_char) {
                word.push(c);
            }
            if word.is_empty() {
                return Err(format!("unexpected token: '{c}'"));
            }
            tokens.push(Token::Word(word));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn query(&mut self) -> Result<Query, String> {
        self.keyword("SELECT")?;
        let mut fields = vec![self.word()?];
        while self.eat(&Token::Comma) {
            fields.push(self.word()?);
        }
        self.keyword("FROM")?;
        let object = self.word()?;
        let filter = if self.eat_keyword("WHERE") {
            Some(self.or()?)
        } else {
            None
        };
        let mut order = Vec::new();
        if self.eat_keyword("ORDER") {
            self.keyword("BY")?;
            loop {
                let field = self.word()?;
                let descending = self.eat_keyword("DESC");
                if !descending {
                    self.eat_keyword("ASC");
                }
                order.push((field, descending));
                if !self.eat(&Token::Comma) {
                    break;
                }
            }
        }
        let limit = if self.eat_keyword("LIMIT") {
            let word = self.word()?;
            Some(word.parse().map_err(|_| format!("bad LIMIT: {word}"))?)
        } else {
            None
        };
        match self.tokens.get(self.at) {
            None => Ok(Query {
                fields,
                object,
                filter,
                order,
                limit,
            }),
            Some(token) => Err(format!("unexpected token: {token:?}")),
        }
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut condition = self.and()?;
        while self.eat_keyword("OR") {
            condition = Condition::Or(Box::new(condition), Box::new(self.and()?));
        }
        Ok(condition)
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut condition = self.comparison()?;
        while self.eat_keyword("AND") {
            condition = Condition::And(Box::new(condition), Box::new(self.comparison()?));
        }
        Ok(condition)
    }

    fn comparison(&mut self) -> Result<Condition, String> {
        if self.eat(&Token::Open) {
            let inner = self.or()?;
            return if self.eat(&Token::Close) {
                Ok(inner)
            } else {
                Err("expected ')'".into())
            };
        }
        let field = self.word()?;
        let op = match self.next() {
            Some(Token::Op(op)) => op,
            other => {
                return Err(format!(
                    "expected a comparison after {field}, found {other:?}"
                ))
            }
        };
        let literal = match self.next() {
            Some(Token::Quoted(text)) => Literal::Quoted(text),
            Some(Token::Word(word)) => Literal::Bare(word),
            other => return Err(format!("expected a value after {field}, found {other:?}")),
        };
        Ok(Condition::Compare { field, op, literal })
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn word(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Word(word)) => Ok(word),
            other => Err(format!("expected a name, found {other:?}")),
        }
    }

    fn eat(&mut self, token: &Token) -> bool {
        let found = self.tokens.get(self.at) == Some(token);
        self.at += usize::from(found);
        found
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = matches!(self.tokens.get(self.at),
            Some(Token::Word(word)) if word.eq_ignore_ascii_case(keyword));
        self.at += usize::from(found);
        found
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), String> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(format!("expected {keyword}"))
        }
    }
}

impl Query {
    /// Checks every named field against `object` and types each literal by
    /// its field, as Salesforce does before running anything.
    pub(super) fn check(&self, object: &SObject) -> Result<(), Refusal> {
        let ordered = self.order.iter().map(|(field, _)| field);
        for field in self.fields.iter().chain(ordered) {
            column(object, field)?;
        }
        match &self.filter {
            Some(condition) => check_condition(condition, object),
            None => Ok(()),
        }
    }
}

fn column(object: &SObject, field: &str) -> Result<(), Refusal> {
    if object.has_column(field) {
        Ok(())
    } else {
        Err((
            "INVALID_FIELD",
            format!(
                "No such column '{field}' on entity '{}'. If you are attempting to use a custom \
                 field, be sure to append the '__c' after the custom field name.",
                object.name
            ),
        ))
    }
}

fn check_condition(condition: &Condition, object: &SObject) -> Result<(), Refusal> {
    match condition {
        Condition::Or(left, right) | Condition::And(left, right) => {
            check_condition(left, object)?;
            check_condition(right, object)
        }
        Condition::Compare { field, literal, .. } => {
            column(object, field)?;
            literal_value(object, field, literal).map(drop)
        }
    }
}

/// The literal as a value of `field`'s type: datetimes unquoted, text
/// quoted, `null` either way.
fn literal_value(object: &SObject, field: &str, literal: &Literal) -> Result<Scalar, Refusal> {
    let wrong = || {
        (
            "INVALID_QUERY_FILTER_OPERATOR",
            format!("value of filter criterion for field '{field}' must be of the field's type"),
        )
    };
    match literal {
        Literal::Bare(word) if word.eq_ignore_ascii_case("null") => Ok(Scalar::Null),
        Literal::Bare(word) if object.is_datetime(field) => OffsetDateTime::parse(word, &Rfc3339)
            .map(Scalar::Time)
            .map_err(|_| wrong()),
        Literal::Quoted(text) if !object.is_datetime(field) => Ok(Scalar::Text(text.clone())),
        _ => Err(wrong()),
    }
}

/// Whether a record, read through `value`, meets `condition` (already
/// [checked](Query::check)).
pub(super) fn matches(
    condition: &Condition,
    object: &SObject,
    value: &dyn Fn(&str) -> Scalar,
) -> bool {
    match condition {
        Condition::Or(left, right) => matches(left, object, value) || matches(right, object, value),
        Condition::And(left, right) => {
            matches(left, object, value) && matches(right, object, value)
        }
        Condition::Compare { field, op, literal } => literal_value(object, field, literal)
            .is_ok_and(|literal| {
                let actual = value(field);
                let comparable = actual != Scalar::Null && literal != Scalar::Null;
                match op {
                    Op::Eq | Op::Ne => op.holds(actual.cmp(&literal)),
                    _ => comparable && op.holds(actual.cmp(&literal)),
                }
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::schema::default_objects;

    #[test]
    fn the_change_query_parses_and_checks() {
        let query = parse(
            "SELECT Id, Trellis_Id__c, SystemModstamp FROM Partner_Registration__c \
             WHERE SystemModstamp > 2026-11-25T09:00:00.000Z OR (SystemModstamp = \
             2026-11-25T09:00:00.000Z AND Id > 'a01') ORDER BY SystemModstamp, Id DESC LIMIT 5",
        )
        .expect("a query");
        assert_eq!(query.object, "Partner_Registration__c");
        assert_eq!(query.fields, ["Id", "Trellis_Id__c", "SystemModstamp"]);
        assert_eq!(
            query.order,
            [
                ("SystemModstamp".to_owned(), false),
                ("Id".to_owned(), true)
            ]
        );
        assert_eq!(query.limit, Some(5));
        assert!(matches!(query.filter, Some(Condition::Or(..))));
        query.check(&default_objects()[1]).expect("valid");
    }

    #[test]
    fn mistakes_are_refused_with_salesforces_codes() {
        let objects = default_objects();
        let refused = |soql: &str| match parse(soql) {
            Err((code, _)) => code,
            Ok(query) => query.check(&objects[0]).err().map_or("", |(code, _)| code),
        };
        assert_eq!(refused("SELECT Id FROM"), "MALFORMED_QUERY");
        assert_eq!(
            refused("SELECT Id FROM Account WHERE Name = 'x"),
            "MALFORMED_QUERY"
        );
        assert_eq!(refused("SELECT Colour FROM Account"), "INVALID_FIELD");
        assert_eq!(
            refused("SELECT Id FROM Account WHERE SystemModstamp > '2026-01-01T00:00:00Z'"),
            "INVALID_QUERY_FILTER_OPERATOR"
        );
        assert_eq!(
            refused("SELECT Id FROM Account WHERE Name = Acme"),
            "INVALID_QUERY_FILTER_OPERATOR"
        );
        assert_eq!(refused("SELECT Id FROM Account WHERE Name = 'it\\'s'"), "");
    }
}
