//! Collection queries: one page of a resource under a base condition, with the client's
//! `$filter`, `$search`, sort and keyset cursor compiled by the OData engine into bound
//! parameters.

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Row, params_from_iter};
use switchboard_domain::StoreError;
use switchboard_domain::store::{ListQuery, Page};
use switchboard_odata::ast::{Expr, Search};
use switchboard_odata::schema::EntitySchema;
use switchboard_odata::sql::{self, SortKey, SqlValue};

use crate::internal;

/// SQLite's rendering of OData constructs.
const DIALECT: &sql::Sqlite = &sql::Sqlite;

/// Converts an engine value to a SQLite value.
pub fn to_sqlite(v: &SqlValue) -> Value {
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(i) => Value::Integer(*i),
        SqlValue::Real(r) => Value::Real(*r),
        SqlValue::Text(t) => Value::Text(t.clone()),
    }
}

fn from_sqlite(v: ValueRef<'_>) -> SqlValue {
    match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Integer(i),
        ValueRef::Real(r) => SqlValue::Real(r),
        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => SqlValue::Text(String::from_utf8_lossy(b).into_owned()),
    }
}

/// A [`ListQuery`] with its borrowed parts owned: the request's query borrows the request, and
/// the blocking reader it is sent to needs owned data.
pub struct OwnedListQuery {
    filter: Option<Expr>,
    search: Option<Search>,
    order: Vec<SortKey>,
    after: Option<Vec<SqlValue>>,
    limit: usize,
    count: bool,
}

impl OwnedListQuery {
    pub fn of(q: &ListQuery<'_>) -> OwnedListQuery {
        OwnedListQuery {
            filter: q.filter.cloned(),
            search: q.search.cloned(),
            order: q.order.clone(),
            after: q.after.clone(),
            limit: q.limit,
            count: q.count,
        }
    }

    /// Runs `f` with the query borrowed back from this owned copy.
    pub fn with<T>(self, f: impl FnOnce(&ListQuery<'_>) -> T) -> T {
        let OwnedListQuery {
            filter,
            search,
            order,
            after,
            limit,
            count,
        } = self;
        f(&ListQuery {
            filter: filter.as_ref(),
            search: search.as_ref(),
            order,
            after,
            limit,
            count,
        })
    }
}

/// The fixed part of a collection query: which table, which rows, which columns.
pub struct Collection<'a> {
    /// The resource's catalogue (its key column is the final tie-breaker).
    pub schema: &'a EntitySchema,
    /// The `FROM` clause (tables and joins, with `alias` naming the resource's table); a
    /// constant, never built from a request.
    pub from: &'static str,
    /// Alias the catalogue's columns are qualified with.
    pub alias: &'static str,
    /// Columns to read, qualified, as the row mapper expects them.
    pub columns: &'static str,
    /// Base condition (e.g. the tenant), with `?1`, `?2`… placeholders for `base_params`.
    pub base_where: &'static str,
    /// Parameters of `base_where`.
    pub base_params: Vec<SqlValue>,
}

fn conditions(
    c: &Collection<'_>,
    q: &ListQuery<'_>,
    params: &mut Vec<SqlValue>,
) -> Result<Vec<String>, StoreError> {
    let mut clauses = vec![format!("({})", c.base_where)];
    if let Some(filter) = q.filter {
        clauses.push(
            sql::compile_filter(filter, c.schema, c.alias, DIALECT, params)
                .map_err(StoreError::InvalidQuery)?,
        );
    }
    if let Some(search) = q.search {
        clauses.push(
            sql::compile_search_like(search, c.schema, c.alias, DIALECT, params)
                .map_err(StoreError::InvalidQuery)?,
        );
    }
    Ok(clauses)
}

/// Reads one page (and the total count when asked) of a collection.
pub fn page<T>(
    conn: &Connection,
    c: &Collection<'_>,
    q: &ListQuery<'_>,
    map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Page<T>, StoreError> {
    // The key breaks ties, ascending unless the caller already placed it in the order.
    let mut keys: Vec<SortKey> = q.order.clone();
    if !keys.iter().any(|k| k.column == c.schema.key_column) {
        keys.push(SortKey {
            column: c.schema.key_column,
            descending: false,
        });
    }

    let mut params = c.base_params.clone();
    let mut clauses = conditions(c, q, &mut params)?;
    if let Some(after) = &q.after {
        if after.len() != keys.len() {
            return Err(StoreError::InvalidQuery(
                switchboard_odata::ODataError::new(
                    switchboard_odata::ErrorKind::InvalidOption,
                    "The $skiptoken does not belong to this query.",
                ),
            ));
        }
        clauses.push(
            sql::keyset_after(&keys, after, c.alias, DIALECT, &mut params)
                .map_err(StoreError::InvalidQuery)?,
        );
    }
    let key_columns: Vec<String> = keys
        .iter()
        .map(|k| format!("{}.{}", c.alias, k.column))
        .collect();
    params.push(SqlValue::Integer(q.limit as i64 + 1));
    let text = format!(
        "SELECT {}, {} FROM {} WHERE {} ORDER BY {} LIMIT ?{}",
        c.columns,
        key_columns.join(", "),
        c.from,
        clauses.join(" AND "),
        sql::order_by_clause(&keys, c.alias),
        params.len()
    );
    let mut stmt = conn.prepare_cached(&text).map_err(internal)?;
    let first_key = stmt.column_count() - keys.len();
    let mut rows = stmt
        .query(params_from_iter(params.iter().map(to_sqlite)))
        .map_err(internal)?;
    let mut items = Vec::new();
    let mut last_key = None;
    let mut more = false;
    while let Some(row) = rows.next().map_err(internal)? {
        if items.len() == q.limit {
            more = true;
            break;
        }
        items.push(map(row).map_err(internal)?);
        last_key = Some(
            (first_key..first_key + keys.len())
                .map(|i| row.get_ref(i).map(from_sqlite))
                .collect::<Result<Vec<_>, _>>()
                .map_err(internal)?,
        );
    }
    let count = if q.count {
        let mut params = c.base_params.clone();
        let clauses = conditions(c, q, &mut params)?;
        let text = format!(
            "SELECT count(*) FROM {} WHERE {}",
            c.from,
            clauses.join(" AND ")
        );
        let n: i64 = conn
            .prepare_cached(&text)
            .map_err(internal)?
            .query_row(params_from_iter(params.iter().map(to_sqlite)), |r| r.get(0))
            .map_err(internal)?;
        Some(n as u64)
    } else {
        None
    };
    Ok(Page {
        items,
        next: if more { last_key } else { None },
        count,
    })
}
