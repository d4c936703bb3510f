//! `$search` to SQL: directory-style word-prefix matching with `LIKE`, and the SQLite FTS5
//! match string for full-text search (mail).

use super::{Anchor, Dialect, SqlValue, bind, check_alias};
use crate::ast::{Search, SearchTerm};
use crate::error::{ErrorKind, ODataError};
use crate::schema::{EntitySchema, Property, PropertyType};

/// Compiles `search` as Graph's directory search does: a term matches a property when one of
/// the property's words (space-separated) starts with it. A `property:value` term looks only at
/// that property, which must be searchable; a plain term at every searchable property.
///
/// ```
/// use switchboard_odata::{Limits, parse_search};
/// use switchboard_odata::sql::{Sqlite, SqlValue, compile_search_like};
/// use switchboard_odata::testing::MEMBER;
///
/// let search = parse_search("\"displayName:wa\"", &Limits::default())?;
/// let mut params = Vec::new();
/// let sql = compile_search_like(&search, &MEMBER, "m", &Sqlite, &mut params)?;
/// assert_eq!(sql, "(m.display_name LIKE ?1 ESCAPE '\\' OR m.display_name LIKE ?2 ESCAPE '\\')");
/// assert_eq!(params, [SqlValue::Text("wa%".into()), SqlValue::Text("% wa%".into())]);
/// # Ok::<(), switchboard_odata::ODataError>(())
/// ```
pub fn compile_search_like(
    search: &Search,
    schema: &EntitySchema,
    alias: &str,
    dialect: &dyn Dialect,
    params: &mut Vec<SqlValue>,
) -> Result<String, ODataError> {
    check_alias(alias)?;
    let mut compiler = LikeCompiler {
        schema,
        alias,
        dialect,
        params,
    };
    compiler.search(search).map_err(|e| e.in_option("$search"))
}

struct LikeCompiler<'a> {
    schema: &'a EntitySchema,
    alias: &'a str,
    dialect: &'a dyn Dialect,
    params: &'a mut Vec<SqlValue>,
}

impl LikeCompiler<'_> {
    fn search(&mut self, search: &Search) -> Result<String, ODataError> {
        match search {
            Search::Term(term) => self.term(term),
            Search::And(items) => self.join(items, " AND "),
            Search::Or(items) => self.join(items, " OR "),
            Search::Not(inner) => Ok(format!("({} IS NOT TRUE)", self.search(inner)?)),
        }
    }

    fn join(&mut self, items: &[Search], separator: &str) -> Result<String, ODataError> {
        let parts = items
            .iter()
            .map(|item| self.search(item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("({})", parts.join(separator)))
    }

    fn term(&mut self, term: &SearchTerm) -> Result<String, ODataError> {
        let properties: Vec<&Property> = match &term.property {
            Some(name) => {
                let property = self
                    .schema
                    .property(name)
                    .ok_or_else(|| self.schema.unknown_property(name))?;
                if !property.caps.search || property.ty != PropertyType::String {
                    return Err(ODataError::new(
                        ErrorKind::Unsupported,
                        format!(
                            "Searching by '{}' is not supported on type '{}'.",
                            property.name, self.schema.type_name
                        ),
                    ));
                }
                vec![property]
            }
            None => self
                .schema
                .properties
                .iter()
                .filter(|p| p.caps.search && p.ty == PropertyType::String)
                .collect(),
        };
        if properties.is_empty() {
            return Err(ODataError::new(
                ErrorKind::Unsupported,
                format!(
                    "Type '{}' has no searchable properties.",
                    self.schema.type_name
                ),
            ));
        }
        let mut tests = Vec::new();
        for property in properties {
            let column = format!("{}.{}", self.alias, property.column);
            let ci = property.caps.case_insensitive;
            // A word starts the value or follows a space: `word%` or `% word%`.
            for (text, anchor) in [
                (term.text.clone(), Anchor::Prefix),
                (format!(" {}", term.text), Anchor::Contains),
            ] {
                let pattern = self.dialect.match_pattern(&text, anchor, ci);
                let placeholder = bind(self.dialect, self.params, SqlValue::Text(pattern));
                tests.push(self.dialect.matches(&column, &placeholder, ci));
            }
        }
        Ok(format!("({})", tests.join(" OR ")))
    }
}

/// An FTS5 `MATCH` string for `search`, with every term quoted as an FTS5 string so that no
/// FTS5 syntax in the client's text takes effect. Bind the result as a parameter.
///
/// `property:value` terms are refused; use [`fts5_match_columns`] to map them to columns.
pub fn fts5_match(search: &Search) -> Result<String, ODataError> {
    fts5_match_columns(search, &[])
}

/// Like [`fts5_match`], with `property:value` terms restricted to FTS5 columns: `columns` maps
/// search property names (matched ignoring case) to column names of the FTS5 table, e.g.
/// `[("subject", "subject"), ("from", "sender")]`.
///
/// FTS5's `NOT` is binary, so a negated term needs a positive one beside it (`a NOT b`); a query
/// that is only negative is [`ErrorKind::Unsupported`].
pub fn fts5_match_columns(search: &Search, columns: &[(&str, &str)]) -> Result<String, ODataError> {
    Fts5 { columns }
        .query(search)
        .map_err(|e| e.in_option("$search"))
}

struct Fts5<'c> {
    columns: &'c [(&'c str, &'c str)],
}

impl Fts5<'_> {
    fn query(&self, search: &Search) -> Result<String, ODataError> {
        match search {
            Search::Term(term) => self.term(term),
            Search::Or(items) => {
                let parts = items
                    .iter()
                    .map(|item| self.query(item))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(format!("({})", parts.join(" OR ")))
            }
            Search::And(items) => {
                let mut positive = Vec::new();
                let mut negative = Vec::new();
                for item in items {
                    match item {
                        Search::Not(inner) => negative.push(self.query(inner)?),
                        item => positive.push(self.query(item)?),
                    }
                }
                if positive.is_empty() {
                    return Err(only_negative());
                }
                let mut out = format!("({})", positive.join(" AND "));
                for n in negative {
                    out = format!("({out} NOT {n})");
                }
                Ok(out)
            }
            Search::Not(_) => Err(only_negative()),
        }
    }

    fn term(&self, term: &SearchTerm) -> Result<String, ODataError> {
        let quoted = format!("\"{}\"", term.text.replace('"', "\"\""));
        let Some(property) = &term.property else {
            return Ok(quoted);
        };
        let column = self
            .columns
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(property))
            .map(|(_, column)| *column)
            .filter(|c| check_alias(c).is_ok())
            .ok_or_else(|| {
                ODataError::new(
                    ErrorKind::Unsupported,
                    format!("Searching by '{property}' is not supported."),
                )
            })?;
        Ok(format!("({column} : {quoted})"))
    }
}

fn only_negative() -> ODataError {
    ODataError::new(
        ErrorKind::Unsupported,
        "NOT must follow another search term, as in 'a NOT b'.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::search::parse_search;
    use crate::sql::{Postgres, Sqlite};
    use crate::testing::{CHAT, MEMBER};

    fn search(text: &str) -> Search {
        parse_search(text, &Limits::default()).unwrap()
    }

    fn text(s: &str) -> SqlValue {
        SqlValue::Text(s.to_string())
    }

    #[test]
    fn restricted_term() {
        let mut params = Vec::new();
        let sql = compile_search_like(
            &search("\"displayName:5%\""),
            &MEMBER,
            "m",
            &Postgres,
            &mut params,
        )
        .unwrap();
        assert_eq!(
            sql,
            "(m.display_name ILIKE $1 ESCAPE '\\' OR m.display_name ILIKE $2 ESCAPE '\\')"
        );
        assert_eq!(params, [text("5\\%%"), text("% 5\\%%")]);
    }

    #[test]
    fn plain_term_searches_every_searchable_property() {
        let mut params = Vec::new();
        let sql =
            compile_search_like(&search("\"ann\""), &MEMBER, "m", &Sqlite, &mut params).unwrap();
        assert_eq!(
            sql,
            "(m.display_name LIKE ?1 ESCAPE '\\' OR m.display_name LIKE ?2 ESCAPE '\\' OR m.email LIKE ?3 ESCAPE '\\' OR m.email LIKE ?4 ESCAPE '\\')"
        );
        assert_eq!(params.len(), 4);
    }

    #[test]
    fn boolean_structure() {
        let mut params = Vec::new();
        let sql = compile_search_like(
            &search("\"displayName:a\" OR NOT \"email:b\""),
            &MEMBER,
            "m",
            &Sqlite,
            &mut params,
        )
        .unwrap();
        assert!(sql.starts_with("((m.display_name LIKE ?1"), "{sql}");
        assert!(sql.ends_with("IS NOT TRUE))"), "{sql}");
        assert_eq!(params.len(), 4);
    }

    #[test]
    fn like_errors() {
        let err = |s: &str, schema| {
            compile_search_like(&search(s), schema, "t", &Sqlite, &mut Vec::new()).unwrap_err()
        };
        assert_eq!(err("\"nope:x\"", &MEMBER).kind, ErrorKind::UnknownProperty);
        assert_eq!(err("\"id:x\"", &MEMBER).kind, ErrorKind::Unsupported);
        assert_eq!(err("\"id:x\"", &MEMBER).option(), Some("$search"));
        assert_eq!(err("\"unreadCount:1\"", &CHAT).kind, ErrorKind::Unsupported);
    }

    #[test]
    fn fts5_quotes_every_term() {
        assert_eq!(fts5_match(&search("\"pizza\"")).unwrap(), "\"pizza\"");
        assert_eq!(
            fts5_match(&search("\"a* OR NEAR(b)\"")).unwrap(),
            "(\"a*\" OR (\"NEAR\" AND \"b\"))"
        );
        assert_eq!(
            fts5_match(&search(r#""\"say \\\"hi\\\"\"""#)).unwrap(),
            "\"say \"\"hi\"\"\""
        );
    }

    #[test]
    fn fts5_structure() {
        assert_eq!(fts5_match(&search("\"a b\"")).unwrap(), "(\"a\" AND \"b\")");
        assert_eq!(
            fts5_match(&search("\"a NOT b\"")).unwrap(),
            "((\"a\") NOT \"b\")"
        );
        assert_eq!(fts5_match(&search("a OR b")).unwrap(), "(\"a\" OR \"b\")");
        assert_eq!(
            fts5_match(&search("\"NOT b\"")).unwrap_err().kind,
            ErrorKind::Unsupported
        );
        assert_eq!(
            fts5_match(&search("\"a OR NOT b\"")).unwrap_err().kind,
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn fts5_columns() {
        let columns = [("subject", "subject"), ("from", "sender")];
        assert_eq!(
            fts5_match_columns(&search("\"From:bob AND subject:report\""), &columns).unwrap(),
            "((sender : \"bob\") AND (subject : \"report\"))"
        );
        assert_eq!(
            fts5_match(&search("\"from:bob\"")).unwrap_err().kind,
            ErrorKind::Unsupported
        );
        assert_eq!(
            fts5_match_columns(&search("\"to:x\""), &columns)
                .unwrap_err()
                .kind,
            ErrorKind::Unsupported
        );
    }
}
