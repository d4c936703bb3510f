//! Per-resource property catalogues: which Graph property paths a query may name, what each may
//! be used for, and the SQL column behind it. The catalogue is the only source of SQL
//! identifiers: nothing a client writes is ever copied into SQL text.
//!
//! Everything here is `const`-constructible, so a resource declares its catalogue as a static:
//!
//! ```
//! use switchboard_odata::schema::{Caps, EntitySchema, Property, PropertyType};
//!
//! pub static FOLDER: EntitySchema = EntitySchema {
//!     type_name: "microsoft.graph.mailFolder",
//!     key_column: "id",
//!     properties: &[
//!         Property { name: "id", column: "id", ty: PropertyType::String, caps: Caps { filter: true, select: true, ..Caps::NONE } },
//!         Property { name: "displayName", column: "display_name", ty: PropertyType::String, caps: Caps::ALL_CASE_INSENSITIVE },
//!     ],
//! };
//! assert_eq!(FOLDER.property("DISPLAYNAME").map(|p| p.column), Some("display_name"));
//! ```

use std::fmt;

use crate::error::{ErrorKind, ODataError};

/// The catalogue of one entity type.
#[derive(Debug)]
pub struct EntitySchema {
    /// The qualified Graph type, e.g. `microsoft.graph.user`, for error messages.
    pub type_name: &'static str,
    /// The column that identifies a row; callers append it as the last sort key for a total
    /// order.
    pub key_column: &'static str,
    /// The properties queries may name.
    pub properties: &'static [Property],
}

/// One property a query may name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Property {
    /// The Graph path, possibly through complex types (`lastMessagePreview/createdDateTime`);
    /// matched case-insensitively, as Graph does.
    pub name: &'static str,
    /// The column in the entity's table (a plain SQL identifier), qualified with the caller's
    /// table alias in generated SQL.
    pub column: &'static str,
    /// The type, which decides which literals fit and how they are bound.
    pub ty: PropertyType,
    /// What queries may do with it.
    pub caps: Caps,
}

/// How a property's values are stored, and so which literals it can be compared with.
#[derive(Debug, Clone, Copy)]
pub enum PropertyType {
    /// Text.
    String,
    /// Stored as the integer 0 or 1.
    Boolean,
    /// A 64-bit integer.
    Int64,
    /// A `DateTimeOffset`, stored as i64 epoch milliseconds (UTC).
    DateTime,
    /// A GUID, stored as lowercase text.
    Guid,
    /// An enum, stored as the canonical member name; the list gives the members.
    Enum(&'static [&'static str]),
    /// A collection of strings, stored as JSON array text (`["Red","Blue"]`); queried with
    /// `any`/`all`.
    StringCollection,
    /// A collection of related entities in another table; queried with `any`/`all`.
    EntityCollection(&'static Relation),
}

impl PartialEq for PropertyType {
    fn eq(&self, other: &Self) -> bool {
        use PropertyType::*;
        match (self, other) {
            (Enum(a), Enum(b)) => a == b,
            // Relations may refer back to their own schema, so compare by identity rather than
            // walking a possibly cyclic structure.
            (EntityCollection(a), EntityCollection(b)) => std::ptr::eq(*a, *b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl PropertyType {
    /// The OData type name, for error messages.
    pub fn edm_name(&self) -> &'static str {
        match self {
            PropertyType::String => "Edm.String",
            PropertyType::Boolean => "Edm.Boolean",
            PropertyType::Int64 => "Edm.Int64",
            PropertyType::DateTime => "Edm.DateTimeOffset",
            PropertyType::Guid => "Edm.Guid",
            PropertyType::Enum(_) => "an enum type",
            PropertyType::StringCollection => "Collection(Edm.String)",
            PropertyType::EntityCollection(_) => "an entity collection",
        }
    }

    /// Whether the type holds one value per row (as opposed to a collection).
    pub fn is_scalar(&self) -> bool {
        !matches!(
            self,
            PropertyType::StringCollection | PropertyType::EntityCollection(_)
        )
    }
}

/// A one-to-many relation: the rows of `table` whose `child_column` equals the outer row's
/// `parent_column`.
#[derive(Clone, Copy)]
pub struct Relation {
    /// The related table.
    pub table: &'static str,
    /// The column of the outer (parent) row that the children refer to.
    pub parent_column: &'static str,
    /// The foreign-key column in `table`.
    pub child_column: &'static str,
    /// The catalogue of the related entity, for lambda predicates.
    pub schema: &'static EntitySchema,
}

impl fmt::Debug for Relation {
    /// Names the related schema instead of printing it, which could recurse forever.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relation")
            .field("table", &self.table)
            .field("parent_column", &self.parent_column)
            .field("child_column", &self.child_column)
            .field("schema", &self.schema.type_name)
            .finish()
    }
}

/// What queries may do with a property.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// Usable in `$filter`.
    pub filter: bool,
    /// Usable in `$orderby`.
    pub orderby: bool,
    /// Usable in `$select`.
    pub select: bool,
    /// Matched by `$search` terms (String properties only).
    pub search: bool,
    /// Compared ignoring case, as most Graph string properties are.
    pub case_insensitive: bool,
}

impl Caps {
    /// Nothing allowed; the base for `Caps { filter: true, ..Caps::NONE }`.
    pub const NONE: Caps = Caps {
        filter: false,
        orderby: false,
        select: false,
        search: false,
        case_insensitive: false,
    };
    /// Everything allowed, compared case-sensitively.
    pub const ALL: Caps = Caps {
        filter: true,
        orderby: true,
        select: true,
        search: true,
        case_insensitive: false,
    };
    /// Everything allowed, compared ignoring case.
    pub const ALL_CASE_INSENSITIVE: Caps = Caps {
        case_insensitive: true,
        ..Caps::ALL
    };
}

impl EntitySchema {
    /// The property named `path`, ignoring case.
    pub fn property(&self, path: &str) -> Option<&'static Property> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(path))
    }

    /// The error for a path the catalogue does not have, in Graph's words.
    pub fn unknown_property(&self, path: &str) -> ODataError {
        ODataError::new(
            ErrorKind::UnknownProperty,
            format!(
                "Could not find a property named '{path}' on type '{}'.",
                self.type_name
            ),
        )
    }

    /// Checks `$select` paths and returns their canonical names, in order, without duplicates;
    /// `*` stands for every selectable property.
    pub fn resolve_select(&self, paths: &[String]) -> Result<Vec<&'static str>, ODataError> {
        let mut names: Vec<&'static str> = Vec::new();
        let mut add = |name: &'static str| {
            if !names.contains(&name) {
                names.push(name);
            }
        };
        for path in paths {
            if path == "*" {
                self.properties
                    .iter()
                    .filter(|p| p.caps.select)
                    .for_each(|p| add(p.name));
                continue;
            }
            let property = self
                .property(path)
                .ok_or_else(|| self.unknown_property(path).in_option("$select"))?;
            if !property.caps.select {
                return Err(ODataError::new(
                    ErrorKind::Unsupported,
                    format!(
                        "Selecting '{}' is not supported on type '{}'.",
                        property.name, self.type_name
                    ),
                )
                .in_option("$select"));
            }
            add(property.name);
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{CHAT, MEMBER};

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(CHAT.property("TOPIC").map(|p| p.name), Some("topic"));
        assert_eq!(
            CHAT.property("lastmessagepreview/createddatetime")
                .map(|p| p.column),
            Some("last_message_at")
        );
        assert!(CHAT.property("nope").is_none());
    }

    #[test]
    fn select_resolves_to_canonical_names() {
        let paths = ["ID".to_string(), "topic".to_string(), "id".to_string()];
        assert_eq!(CHAT.resolve_select(&paths).unwrap(), ["id", "topic"]);
        let star = CHAT.resolve_select(&["*".to_string()]).unwrap();
        assert!(star.contains(&"webUrl") && !star.contains(&"members"));
    }

    #[test]
    fn select_errors() {
        let e = CHAT.resolve_select(&["nope".to_string()]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnknownProperty);
        assert_eq!(
            e.message,
            "in '$select': Could not find a property named 'nope' on type 'microsoft.graph.chat'."
        );
        let e = CHAT.resolve_select(&["members".to_string()]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported);
    }

    #[test]
    fn relations_compare_by_identity_and_debug_without_recursing() {
        let members = CHAT.property("members").unwrap();
        assert_eq!(members.ty, CHAT.property("members").unwrap().ty);
        assert_ne!(members.ty, PropertyType::StringCollection);
        assert_eq!(PropertyType::Enum(&["a"]), PropertyType::Enum(&["a"]));
        let debug = format!("{CHAT:?}");
        assert!(debug.contains(MEMBER.type_name));
    }
}
