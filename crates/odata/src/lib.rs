//! OData v4 query options for Switchboard, as Microsoft Graph clients send them: parsing
//! (`$select`, `$filter`, `$orderby`, `$top`, `$skip`, `$count`, `$expand`, `$search`,
//! `$skiptoken`, `$deltatoken`), binding to a per-resource property catalogue, and compiling to
//! parameterised SQL for SQLite and PostgreSQL. Pure: no I/O.
//!
//! ```
//! use switchboard_odata::{Limits, QueryOptions};
//! use switchboard_odata::sql::{Sqlite, compile_filter};
//! use switchboard_odata::testing::CHAT;
//!
//! let q = QueryOptions::parse("$filter=topic%20eq%20'Lunch'&%24top=5", &Limits::default())?;
//! let mut params = Vec::new();
//! let sql = compile_filter(q.filter.as_ref().unwrap(), &CHAT, "c", &Sqlite, &mut params)?;
//! assert_eq!(sql, "(c.topic COLLATE NOCASE = ?1 COLLATE NOCASE)");
//! assert_eq!(q.top, Some(5));
//! # Ok::<(), switchboard_odata::ODataError>(())
//! ```
//!
//! The safety rules (from the project's stack notes) hold throughout: SQL identifiers come only
//! from the [`schema`] catalogue, every literal is a bound parameter, and every parser checks
//! the [`Limits`] while it runs, so no input can panic, overflow the stack or run unbounded.

#![warn(missing_docs)]

pub mod ast;
pub mod error;
mod filter;
mod lexer;
pub mod limits;
pub mod query;
pub mod schema;
mod search;
pub mod sql;
#[doc(hidden)]
pub mod testing;

pub use ast::{FilterFeatures, features};
pub use error::{ErrorKind, ODataError};
pub use filter::parse_filter;
pub use limits::Limits;
pub use query::{QueryOptions, parse_expand, parse_orderby, parse_select};
pub use search::parse_search;
