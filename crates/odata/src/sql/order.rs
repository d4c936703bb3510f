//! `$orderby` to sort keys, the `ORDER BY` clause for them, and the keyset condition that
//! continues a sorted listing after a cursor.
//!
//! Both engines are made to sort nulls as SQLite does by default (first when ascending, last
//! when descending) by saying so explicitly, so a cursor taken on one page selects the same
//! next page on either engine.

use super::{Dialect, SqlValue, bind, check_alias};
use crate::ast::OrderBy;
use crate::error::{ErrorKind, ODataError};
use crate::schema::EntitySchema;

/// One column of a sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortKey {
    /// The column, from the catalogue.
    pub column: &'static str,
    /// Sort from highest to lowest.
    pub descending: bool,
}

/// Checks `$orderby` items against the catalogue and returns their columns.
///
/// An unknown property is [`ErrorKind::UnknownProperty`]; one that may not be sorted on (or is
/// a collection) is [`ErrorKind::Unsupported`]; naming a property twice is
/// [`ErrorKind::InvalidOption`].
pub fn compile_orderby(
    items: &[OrderBy],
    schema: &EntitySchema,
) -> Result<Vec<SortKey>, ODataError> {
    let mut keys: Vec<SortKey> = Vec::with_capacity(items.len());
    for item in items {
        let property = schema
            .property(&item.path)
            .ok_or_else(|| schema.unknown_property(&item.path).in_option("$orderby"))?;
        if !property.caps.orderby || !property.ty.is_scalar() {
            return Err(ODataError::new(
                ErrorKind::Unsupported,
                format!(
                    "Sorting by '{}' is not supported on type '{}'.",
                    property.name, schema.type_name
                ),
            )
            .in_option("$orderby"));
        }
        if keys.iter().any(|k| k.column == property.column) {
            return Err(ODataError::new(
                ErrorKind::InvalidOption,
                format!("'{}' appears more than once in $orderby.", property.name),
            )
            .in_option("$orderby"));
        }
        keys.push(SortKey {
            column: property.column,
            descending: item.descending,
        });
    }
    Ok(keys)
}

/// `alias.c1 DESC NULLS LAST, alias.c2 ASC NULLS FIRST`: the sort, without the `ORDER BY`
/// keywords; empty for no keys. The null placement is explicit so both engines agree (and
/// agree with [`keyset_after`]). `alias` must be a plain identifier.
pub fn order_by_clause(keys: &[SortKey], alias: &str) -> String {
    keys.iter()
        .map(|k| {
            let direction = if k.descending {
                "DESC NULLS LAST"
            } else {
                "ASC NULLS FIRST"
            };
            format!("{alias}.{} {direction}", k.column)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The condition selecting rows strictly after `cursor` (the sort-key values of the last row
/// already returned) in the order of `keys`, as [`order_by_clause`] sorts.
///
/// For keys `k1, k2, …` the rows after the cursor are those with `k1` after `v1`, or `k1 = v1`
/// and `k2` after `v2`, and so on; "after" respects each key's direction and puts nulls first
/// in ascending order. Each non-null cursor value is bound once and its placeholder reused.
/// Callers append the key column as the last sort key, so the order is total.
pub fn keyset_after(
    keys: &[SortKey],
    cursor: &[SqlValue],
    alias: &str,
    dialect: &dyn Dialect,
    params: &mut Vec<SqlValue>,
) -> Result<String, ODataError> {
    check_alias(alias)?;
    if keys.is_empty() || keys.len() != cursor.len() {
        return Err(ODataError::new(
            ErrorKind::InvalidOption,
            format!(
                "the paging cursor has {} values but the sort has {} keys",
                cursor.len(),
                keys.len()
            ),
        )
        .in_option("$skiptoken"));
    }
    // (equal-to-cursor condition, after-cursor condition) per key.
    let mut tests: Vec<(String, Option<String>)> = Vec::with_capacity(keys.len());
    for (key, value) in keys.iter().zip(cursor) {
        let column = format!("{alias}.{}", key.column);
        let test = match value {
            // Nulls come first ascending and last descending.
            SqlValue::Null => {
                let after = (!key.descending).then(|| format!("{column} IS NOT NULL"));
                (format!("{column} IS NULL"), after)
            }
            value => {
                let p = bind(dialect, params, value.clone());
                let after = if key.descending {
                    format!("({column} < {p} OR {column} IS NULL)")
                } else {
                    format!("{column} > {p}")
                };
                (format!("{column} = {p}"), Some(after))
            }
        };
        tests.push(test);
    }
    let disjuncts: Vec<String> = (0..tests.len())
        .filter_map(|i| {
            let after = tests[i].1.as_ref()?;
            let mut parts: Vec<&str> = tests[..i].iter().map(|(eq, _)| eq.as_str()).collect();
            parts.push(after);
            Some(format!("({})", parts.join(" AND ")))
        })
        .collect();
    Ok(if disjuncts.is_empty() {
        "(1 = 0)".to_string()
    } else {
        format!("({})", disjuncts.join(" OR "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{Postgres, Sqlite};
    use crate::testing::CHAT;

    fn order(path: &str, descending: bool) -> OrderBy {
        OrderBy {
            path: path.to_string(),
            descending,
        }
    }

    #[test]
    fn orderby_resolves_columns() {
        let keys = compile_orderby(
            &[
                order("LASTMESSAGEPREVIEW/createdDateTime", true),
                order("id", false),
            ],
            &CHAT,
        )
        .unwrap();
        assert_eq!(
            keys,
            [
                SortKey {
                    column: "last_message_at",
                    descending: true
                },
                SortKey {
                    column: "id",
                    descending: false
                }
            ]
        );
        assert_eq!(
            order_by_clause(&keys, "c"),
            "c.last_message_at DESC NULLS LAST, c.id ASC NULLS FIRST"
        );
        assert_eq!(order_by_clause(&[], "c"), "");
    }

    #[test]
    fn orderby_errors() {
        let e = compile_orderby(&[order("nope", false)], &CHAT).unwrap_err();
        assert_eq!(
            (e.kind, e.option()),
            (ErrorKind::UnknownProperty, Some("$orderby"))
        );
        assert_eq!(
            compile_orderby(&[order("webUrl", false)], &CHAT)
                .unwrap_err()
                .kind,
            ErrorKind::Unsupported
        );
        assert_eq!(
            compile_orderby(&[order("categories", false)], &CHAT)
                .unwrap_err()
                .kind,
            ErrorKind::Unsupported
        );
        let twice = [order("id", false), order("ID", true)];
        assert_eq!(
            compile_orderby(&twice, &CHAT).unwrap_err().kind,
            ErrorKind::InvalidOption
        );
    }

    #[test]
    fn keyset_with_mixed_directions() {
        let keys = [
            SortKey {
                column: "a",
                descending: true,
            },
            SortKey {
                column: "id",
                descending: false,
            },
        ];
        let mut params = Vec::new();
        let cursor = [SqlValue::Integer(5), SqlValue::Text("k".into())];
        let sql = keyset_after(&keys, &cursor, "t", &Sqlite, &mut params).unwrap();
        assert_eq!(
            sql,
            "(((t.a < ?1 OR t.a IS NULL)) OR (t.a = ?1 AND t.id > ?2))"
        );
        assert_eq!(params, cursor);
    }

    #[test]
    fn keyset_with_null_cursor_values() {
        let asc = [
            SortKey {
                column: "a",
                descending: false,
            },
            SortKey {
                column: "id",
                descending: false,
            },
        ];
        let mut params = Vec::new();
        let sql = keyset_after(
            &asc,
            &[SqlValue::Null, SqlValue::Integer(3)],
            "t",
            &Postgres,
            &mut params,
        )
        .unwrap();
        assert_eq!(sql, "((t.a IS NOT NULL) OR (t.a IS NULL AND t.id > $1))");
        assert_eq!(params, [SqlValue::Integer(3)]);

        // Descending, a null is the last value: only ties on it can follow.
        let desc = [
            SortKey {
                column: "a",
                descending: true,
            },
            SortKey {
                column: "id",
                descending: false,
            },
        ];
        let sql = keyset_after(
            &desc,
            &[SqlValue::Null, SqlValue::Integer(3)],
            "t",
            &Postgres,
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(sql, "((t.a IS NULL AND t.id > $1))");

        let only = [SortKey {
            column: "a",
            descending: true,
        }];
        assert_eq!(
            keyset_after(&only, &[SqlValue::Null], "t", &Sqlite, &mut Vec::new()).unwrap(),
            "(1 = 0)"
        );
    }

    #[test]
    fn keyset_errors() {
        let keys = [SortKey {
            column: "a",
            descending: false,
        }];
        assert_eq!(
            keyset_after(&keys, &[], "t", &Sqlite, &mut Vec::new())
                .unwrap_err()
                .kind,
            ErrorKind::InvalidOption
        );
        assert_eq!(
            keyset_after(&[], &[], "t", &Sqlite, &mut Vec::new())
                .unwrap_err()
                .kind,
            ErrorKind::InvalidOption
        );
        assert!(keyset_after(&keys, &[SqlValue::Null], "t t", &Sqlite, &mut Vec::new()).is_err());
    }
}
