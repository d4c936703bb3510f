//! The `$search` parser: KQL-style terms, phrases, `property:value` restrictions and
//! `AND`/`OR`/`NOT`, as Graph clients send them (`"displayName:wa"`,
//! `"from:bob AND subject:report"`, `"displayName:wa" OR "displayName:ad"`).
//!
//! ```text
//! or_expr  = and_expr *( "OR" and_expr )
//! and_expr = unary *( ["AND"] unary )        ; side by side means AND
//! unary    = "NOT" unary / primary
//! primary  = "(" or_expr ")" / quoted / word / name ":" ( word / quoted )
//! ```
//!
//! Outermost double quotes only delimit a query, so their content is parsed again as a query
//! (`"hello world"` is two words); quotes inside them (written `\"…\"`) make a phrase. Operators
//! are upper case, as in KQL; `and` is an ordinary word.

use crate::ast::{Search, SearchTerm};
use crate::error::{ErrorKind, ODataError};
use crate::limits::Limits;

/// Parses a percent-decoded `$search` value.
pub fn parse_search(text: &str, limits: &Limits) -> Result<Search, ODataError> {
    if text.len() > limits.max_length {
        return Err(ODataError::new(
            ErrorKind::LimitExceeded,
            format!(
                "the search is {} bytes long; the limit is {}",
                text.len(),
                limits.max_length
            ),
        )
        .at(limits.max_length));
    }
    let mut budget = Budget {
        depth: 0,
        nodes: 0,
        limits,
    };
    parse_level(text, 0, 0, &mut budget)
}

/// Depth and node counts shared by every level of one search.
struct Budget<'l> {
    depth: usize,
    nodes: usize,
    limits: &'l Limits,
}

impl Budget<'_> {
    fn nested<T>(
        &mut self,
        at: usize,
        f: impl FnOnce(&mut Self) -> Result<T, ODataError>,
    ) -> Result<T, ODataError> {
        if self.depth >= self.limits.max_depth {
            return Err(ODataError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "the search is nested more than {} levels deep",
                    self.limits.max_depth
                ),
            )
            .at(at));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn count(&mut self, at: usize) -> Result<(), ODataError> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(ODataError::new(
                ErrorKind::LimitExceeded,
                format!("the search has more than {} terms", self.limits.max_nodes),
            )
            .at(at));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    /// A quoted string, unescaped.
    Quoted(String),
    /// `name:` followed by a word or quoted phrase.
    Restricted {
        property: String,
        text: String,
        quoted: bool,
    },
    LParen,
    RParen,
    And,
    Or,
    Not,
}

/// `text` starts at byte `base` of the whole value; `level` counts enclosing quotes.
fn parse_level(
    text: &str,
    base: usize,
    level: usize,
    budget: &mut Budget<'_>,
) -> Result<Search, ODataError> {
    let tokens = tokenize(text, base)?;
    if tokens.is_empty() {
        return Err(ODataError::syntax(
            base,
            "expected a search term but the search is empty",
        ));
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        end: base + text.len(),
        level,
    };
    let search = parser.or_expr(budget)?;
    if let Some((tok, at)) = parser.tokens.get(parser.pos) {
        let what = if *tok == Tok::RParen {
            "an unmatched ')'"
        } else {
            "an unexpected token"
        };
        return Err(ODataError::syntax(*at, format!("{what} in the search")));
    }
    Ok(search)
}

fn tokenize(text: &str, base: usize) -> Result<Vec<(Tok, usize)>, ODataError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        let at = base + i;
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push((Tok::LParen, at));
            }
            ')' => {
                chars.next();
                tokens.push((Tok::RParen, at));
            }
            '"' => {
                chars.next();
                tokens.push((Tok::Quoted(quoted(&mut chars, at)?), at));
            }
            _ => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                let tok = match word.as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    "NOT" => Tok::Not,
                    _ => match word.split_once(':') {
                        Some((property, value)) if is_property_name(property) => {
                            if value.is_empty() && chars.peek().is_some_and(|&(_, c)| c == '"') {
                                let (quote_at, _) = chars.next().unwrap_or((i, '"'));
                                let phrase = quoted(&mut chars, base + quote_at)?;
                                Tok::Restricted {
                                    property: property.to_string(),
                                    text: phrase,
                                    quoted: true,
                                }
                            } else if value.is_empty() {
                                return Err(ODataError::syntax(
                                    at,
                                    format!("expected a value after '{property}:'"),
                                ));
                            } else {
                                Tok::Restricted {
                                    property: property.to_string(),
                                    text: value.to_string(),
                                    quoted: false,
                                }
                            }
                        }
                        _ => Tok::Word(word),
                    },
                };
                tokens.push((tok, at));
            }
        }
    }
    Ok(tokens)
}

/// A property name before `:`: letters, digits, `_` and `/` for paths.
fn is_property_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/')
}

/// Reads up to the closing `"`, the opening one already consumed; `\"` and `\\` are escapes.
fn quoted(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    at: usize,
) -> Result<String, ODataError> {
    let mut out = String::new();
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => return Ok(out),
            '\\' => match chars.peek() {
                Some(&(_, next @ ('"' | '\\'))) => {
                    out.push(next);
                    chars.next();
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    Err(ODataError::syntax(at, "unterminated '\"' in the search"))
}

struct Parser {
    tokens: Vec<(Tok, usize)>,
    pos: usize,
    /// Offset just past this level's text, for "expected … at the end" errors.
    end: usize,
    level: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(_, at)| *at)
    }

    fn or_expr(&mut self, budget: &mut Budget<'_>) -> Result<Search, ODataError> {
        let mut items = vec![self.and_expr(budget)?];
        while self.peek() == Some(&Tok::Or) {
            budget.count(self.at())?;
            self.pos += 1;
            items.push(self.and_expr(budget)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Search::Or(items)
        })
    }

    fn and_expr(&mut self, budget: &mut Budget<'_>) -> Result<Search, ODataError> {
        let mut items = vec![self.unary(budget)?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    budget.count(self.at())?;
                    self.pos += 1;
                }
                Some(
                    Tok::Word(_) | Tok::Quoted(_) | Tok::Restricted { .. } | Tok::LParen | Tok::Not,
                ) => {}
                _ => break,
            }
            items.push(self.unary(budget)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Search::And(items)
        })
    }

    fn unary(&mut self, budget: &mut Budget<'_>) -> Result<Search, ODataError> {
        if self.peek() != Some(&Tok::Not) {
            return self.primary(budget);
        }
        let at = self.at();
        budget.count(at)?;
        self.pos += 1;
        let inner = budget.nested(at, |b| self.unary(b))?;
        Ok(Search::Not(Box::new(inner)))
    }

    fn primary(&mut self, budget: &mut Budget<'_>) -> Result<Search, ODataError> {
        let at = self.at();
        let Some((tok, _)) = self.tokens.get(self.pos).cloned() else {
            return Err(ODataError::syntax(
                at,
                "expected a search term but reached the end",
            ));
        };
        self.pos += 1;
        budget.count(at)?;
        let term =
            |property: Option<String>, text: String, phrase: bool| -> Result<Search, ODataError> {
                if text.trim().is_empty() {
                    return Err(ODataError::syntax(at, "a search phrase cannot be empty"));
                }
                Ok(Search::Term(SearchTerm {
                    property,
                    text,
                    phrase,
                }))
            };
        match tok {
            Tok::LParen => {
                let inner = budget.nested(at, |b| self.or_expr(b))?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(ODataError::syntax(self.at(), "expected ')' in the search"));
                }
                self.pos += 1;
                Ok(inner)
            }
            Tok::Quoted(content) if self.level == 0 => {
                // The outer quotes delimit a query: parse what they hold.
                budget.nested(at, |b| parse_level(&content, at + 1, 1, b))
            }
            Tok::Quoted(content) => term(None, content, true),
            Tok::Word(word) => term(None, word, false),
            Tok::Restricted {
                property,
                text,
                quoted,
            } => term(Some(property), text, quoted),
            Tok::RParen | Tok::And | Tok::Or | Tok::Not => Err(ODataError::syntax(
                at,
                "expected a search term but found an operator or ')'",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Search {
        parse_search(text, &Limits::default()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn word(text: &str) -> Search {
        Search::Term(SearchTerm {
            property: None,
            text: text.into(),
            phrase: false,
        })
    }

    fn prop(property: &str, text: &str) -> Search {
        Search::Term(SearchTerm {
            property: Some(property.into()),
            text: text.into(),
            phrase: false,
        })
    }

    fn phrase(text: &str) -> Search {
        Search::Term(SearchTerm {
            property: None,
            text: text.into(),
            phrase: true,
        })
    }

    #[test]
    fn graph_forms() {
        assert_eq!(parse("\"pizza\""), word("pizza"));
        assert_eq!(parse("pizza"), word("pizza"));
        assert_eq!(parse("\"displayName:wa\""), prop("displayName", "wa"));
        assert_eq!(
            parse("\"hello world\""),
            Search::And(vec![word("hello"), word("world")])
        );
        assert_eq!(
            parse("\"from:bob AND subject:report\""),
            Search::And(vec![prop("from", "bob"), prop("subject", "report")])
        );
        assert_eq!(
            parse("\"displayName:wa\" OR \"displayName:ad\""),
            Search::Or(vec![prop("displayName", "wa"), prop("displayName", "ad")])
        );
        assert_eq!(
            parse("\"description:One\" AND (\"displayName:Video\" OR \"displayName:Drive\")"),
            Search::And(vec![
                prop("description", "One"),
                Search::Or(vec![
                    prop("displayName", "Video"),
                    prop("displayName", "Drive")
                ])
            ])
        );
    }

    #[test]
    fn phrases_and_not() {
        assert_eq!(parse(r#""\"hello world\"""#), phrase("hello world"));
        assert_eq!(
            parse(r#"subject:"quarterly report""#),
            Search::Term(SearchTerm {
                property: Some("subject".into()),
                text: "quarterly report".into(),
                phrase: true
            })
        );
        assert_eq!(
            parse("\"a NOT b\""),
            Search::And(vec![word("a"), Search::Not(Box::new(word("b")))])
        );
        assert_eq!(
            parse("a and b"),
            Search::And(vec![word("a"), word("and"), word("b")])
        );
        assert_eq!(
            parse("a OR b c"),
            Search::Or(vec![word("a"), Search::And(vec![word("b"), word("c")])])
        );
    }

    #[test]
    fn errors() {
        let limits = Limits::default();
        let e = parse_search("\"abc", &limits).unwrap_err();
        assert_eq!((e.kind, e.position), (ErrorKind::Syntax, Some(0)));
        assert!(e.message.contains("unterminated"));
        assert_eq!(parse_search("", &limits).unwrap_err().position, Some(0));
        assert_eq!(
            parse_search("\"\"", &limits).unwrap_err().kind,
            ErrorKind::Syntax
        );
        assert_eq!(parse_search("(a", &limits).unwrap_err().position, Some(2));
        assert_eq!(parse_search("a)", &limits).unwrap_err().position, Some(1));
        assert_eq!(parse_search("a OR", &limits).unwrap_err().position, Some(4));
        assert!(
            parse_search("subject:", &limits)
                .unwrap_err()
                .message
                .contains("after 'subject:'")
        );
    }

    #[test]
    fn depth_and_size_limits() {
        let limits = Limits {
            max_length: usize::MAX,
            ..Limits::default()
        };
        for text in ["(".repeat(10_000), "NOT ".repeat(10_000) + "a"] {
            assert_eq!(
                parse_search(&text, &limits).unwrap_err().kind,
                ErrorKind::LimitExceeded
            );
        }
        let many = "a ".repeat(500);
        assert_eq!(
            parse_search(&many, &limits).unwrap_err().kind,
            ErrorKind::LimitExceeded
        );
        let long = "a".repeat(5000);
        assert_eq!(
            parse_search(&long, &Limits::default()).unwrap_err().kind,
            ErrorKind::LimitExceeded
        );
    }
}
