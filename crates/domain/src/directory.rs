//! Graph's query rules shared by every directory collection (users, applications): page size
//! 1–999 (default 100), no `$skip`, no `$expand`, and the "advanced query" features — `$count`,
//! `$search`, `ne`/`not`/`endswith` filters, `$orderby` with `$filter` — only with
//! `ConsistencyLevel: eventual`. Pages continue with a keyset `$skiptoken`.

use switchboard_odata::QueryOptions;
use switchboard_odata::schema::EntitySchema;
use switchboard_odata::sql::{SortKey, compile_orderby};

use crate::error::{Error, ErrorKind, Family};
use crate::paging;
use crate::store::{ListQuery, Page};

const DEFAULT_PAGE: u64 = 100;
const MAX_PAGE: u64 = 999;

/// One page of a directory collection, and how to ask for the next.
#[derive(Debug, Clone)]
pub struct DirectoryPage<T> {
    /// The objects on this page.
    pub items: Vec<T>,
    /// `$skiptoken` for the next page, when there is one.
    pub skiptoken: Option<String>,
    /// `@odata.count`, when `$count=true` on the first page.
    pub count: Option<u64>,
}

/// A directory query checked against Graph's rules, ready for the store.
pub(crate) struct Prepared<'q> {
    /// What the store runs.
    pub query: ListQuery<'q>,
    /// The full sort, key last, that the page's `$skiptoken` encodes.
    order: Vec<SortKey>,
}

impl Prepared<'_> {
    /// Turns the store's page into the answer, encoding the cursor as a `$skiptoken`.
    pub fn finish<T>(&self, page: Page<T>) -> DirectoryPage<T> {
        DirectoryPage {
            skiptoken: page.next.map(|cursor| paging::encode(&self.order, &cursor)),
            items: page.items,
            count: page.count,
        }
    }
}

fn unsupported(message: String) -> Error {
    Error::new(ErrorKind::BadRequest, "Request_UnsupportedQuery", message)
}

/// Checks `q` against the directory's rules for `type_name` (e.g. `user`) and prepares the store
/// query. `eventual`: the request sent `ConsistencyLevel: eventual`.
pub(crate) fn prepare<'q>(
    q: &'q QueryOptions,
    schema: &EntitySchema,
    type_name: &str,
    eventual: bool,
) -> Result<Prepared<'q>, Error> {
    let advanced = |what: &str| -> Result<(), Error> {
        if eventual {
            Ok(())
        } else {
            Err(unsupported(format!(
                "{what} is only supported in advanced query mode: send the header 'ConsistencyLevel: eventual' and '$count=true'."
            )))
        }
    };
    if q.skip.is_some() {
        return Err(Error::bad_request(
            Family::Directory,
            "'$skip' is not supported by the service.",
        ));
    }
    if let Some(item) = q.expand.first() {
        return Err(Error::bad_request(
            Family::Directory,
            format!(
                "Could not find a navigation property named '{}' on type 'microsoft.graph.{type_name}'.",
                item.path
            ),
        ));
    }
    if q.count == Some(true) {
        advanced("$count")?;
    }
    if q.search.is_some() {
        advanced("$search")?;
    }
    if let Some(filter) = &q.filter {
        if !eventual {
            let features = switchboard_odata::features(filter);
            if let Some(op) = ["ne", "not", "endswith"]
                .into_iter()
                .find(|op| features.uses(op))
            {
                let property = features.properties.first().cloned().unwrap_or_default();
                return Err(unsupported(format!(
                    "Unsupported or invalid query filter clause specified for property '{property}' of resource '{type_name}'. '{op}' requires advanced query mode (ConsistencyLevel: eventual and $count=true)."
                )));
            }
        }
        if !q.orderby.is_empty() {
            advanced("$orderby combined with $filter")?;
        }
    }
    let top = q.top.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&top) {
        return Err(Error::bad_request(
            Family::Directory,
            format!(
                "Invalid page size specified: '{top}'. Must be between 1 and {MAX_PAGE} inclusive."
            ),
        ));
    }
    for item in &q.orderby {
        if !schema.property(&item.path).is_some_and(|p| p.caps.orderby) {
            return Err(unsupported(format!(
                "Sorting by '{}' is not supported for {type_name} objects.",
                item.path
            )));
        }
    }
    let sort = compile_orderby(&q.orderby, schema)
        .map_err(|e| Error::bad_request(Family::Directory, e.to_string()))?;
    let mut order = sort.clone();
    order.push(SortKey {
        column: schema.key_column,
        descending: false,
    });
    let after = match &q.skiptoken {
        Some(token) => Some(paging::decode(&order, token).ok_or_else(|| {
            Error::bad_request(
                Family::Directory,
                "The $skiptoken is invalid or does not belong to this query.",
            )
        })?),
        None => None,
    };
    let query = ListQuery {
        filter: q.filter.as_ref(),
        search: q.search.as_ref(),
        // The store appends the key column itself.
        order: sort,
        count: q.count == Some(true) && after.is_none(),
        after,
        limit: top as usize,
    };
    Ok(Prepared { query, order })
}
