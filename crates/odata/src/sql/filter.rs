//! `$filter` to SQL: binds each member path to the catalogue, checks each literal against the
//! property's type, and writes a parenthesised condition with every literal bound.

use time::{Date, OffsetDateTime};

use super::{Anchor, Dialect, SqlValue, bind, check_alias};
use crate::ast::{CompareOp, Expr, ExprKind, Function, Lambda, LambdaKind, Literal, MemberPath};
use crate::error::{ErrorKind, ODataError};
use crate::schema::{EntitySchema, Property, PropertyType};

/// Compiles `expr` to a condition on rows of `schema`'s table aliased `alias`.
///
/// Literals are pushed onto `params` and referred to by placeholders numbered after the
/// parameters already there. Errors name the offending property or literal and its position in
/// the `$filter` text.
///
/// ```
/// use switchboard_odata::{Limits, parse_filter};
/// use switchboard_odata::sql::{Postgres, SqlValue, compile_filter};
/// use switchboard_odata::testing::CHAT;
///
/// let expr = parse_filter("members/any(m: m/displayName eq 'Ann') and unreadCount gt 0", &Limits::default())?;
/// let mut params = Vec::new();
/// let sql = compile_filter(&expr, &CHAT, "c", &Postgres, &mut params)?;
/// assert_eq!(
///     sql,
///     "((EXISTS (SELECT 1 FROM chat_members AS c_1 WHERE c_1.chat_id = c.id AND \
///      (lower(c_1.display_name) = lower($1)))) AND (c.unread_count > $2))"
/// );
/// assert_eq!(params, [SqlValue::Text("Ann".into()), SqlValue::Integer(0)]);
/// # Ok::<(), switchboard_odata::ODataError>(())
/// ```
pub fn compile_filter(
    expr: &Expr,
    schema: &EntitySchema,
    alias: &str,
    dialect: &dyn Dialect,
    params: &mut Vec<SqlValue>,
) -> Result<String, ODataError> {
    check_alias(alias)?;
    let mut compiler = Compiler {
        schema,
        alias,
        dialect,
        params,
        scopes: Vec::new(),
        aliases: 0,
    };
    compiler.predicate(expr).map_err(|e| e.in_option("$filter"))
}

/// A scalar operand: a column (or a collection element) with its type.
#[derive(Clone)]
struct Column {
    /// SQL for the value, e.g. `c.topic` or `c_1.value`.
    sql: String,
    ty: PropertyType,
    case_insensitive: bool,
    /// The Graph path, for messages.
    name: String,
}

/// What a lambda variable stands for.
enum Scope<'s> {
    /// A related entity: its properties resolve against `schema`, in table alias `alias`.
    Entity {
        variable: String,
        schema: &'s EntitySchema,
        alias: String,
    },
    /// A string collection's element.
    Element { variable: String, column: Column },
}

impl Scope<'_> {
    fn variable(&self) -> &str {
        match self {
            Scope::Entity { variable, .. } | Scope::Element { variable, .. } => variable,
        }
    }
}

/// A member path resolved to a property of some table alias, or to a collection element.
enum Resolved<'s> {
    Property {
        property: &'static Property,
        owner: String,
        schema: &'s EntitySchema,
    },
    Element(Column),
}

struct Compiler<'a> {
    schema: &'a EntitySchema,
    alias: &'a str,
    dialect: &'a dyn Dialect,
    params: &'a mut Vec<SqlValue>,
    /// Lambda variables in scope, innermost last.
    scopes: Vec<Scope<'a>>,
    /// Table aliases generated so far, to keep them unique.
    aliases: usize,
}

fn type_mismatch(at: usize, message: String) -> ODataError {
    ODataError::new(ErrorKind::TypeMismatch, message).at(at)
}

fn unsupported(at: usize, message: impl Into<String>) -> ODataError {
    ODataError::new(ErrorKind::Unsupported, message).at(at)
}

/// The OData type of a literal, for messages.
fn literal_type(lit: &Literal) -> &'static str {
    match lit {
        Literal::Null => "null",
        Literal::Boolean(_) => "Edm.Boolean",
        Literal::Int(_) => "Edm.Int64",
        Literal::Decimal(_) => "Edm.Double",
        Literal::String(_) => "Edm.String",
        Literal::DateTimeOffset(_) => "Edm.DateTimeOffset",
        Literal::Date(_) => "Edm.Date",
        Literal::Guid(_) => "Edm.Guid",
        Literal::Enum { .. } => "an enum",
    }
}

fn sql_operator(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
    }
}

fn epoch_millis(dt: OffsetDateTime) -> Option<i64> {
    i64::try_from(dt.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

fn date_millis(date: Date) -> Option<i64> {
    epoch_millis(date.midnight().assume_utc())
}

/// Whether `text` is a GUID in the 8-4-4-4-12 form.
fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl<'a> Compiler<'a> {
    fn bind(&mut self, value: SqlValue) -> String {
        bind(self.dialect, self.params, value)
    }

    fn new_alias(&mut self) -> String {
        self.aliases += 1;
        format!("{}_{}", self.alias, self.aliases)
    }

    /// A condition: the whole filter, or any boolean-valued part of it.
    fn predicate(&mut self, expr: &Expr) -> Result<String, ODataError> {
        match &expr.kind {
            ExprKind::And(l, r) => Ok(format!(
                "({} AND {})",
                self.predicate(l)?,
                self.predicate(r)?
            )),
            ExprKind::Or(l, r) => Ok(format!(
                "({} OR {})",
                self.predicate(l)?,
                self.predicate(r)?
            )),
            // `IS NOT TRUE` rather than `NOT`: an unknown (null) comparison is false in OData,
            // so its negation must be true.
            ExprKind::Not(inner) => Ok(format!("({} IS NOT TRUE)", self.predicate(inner)?)),
            ExprKind::Compare { op, left, right } => self.compare(*op, left, right),
            ExprKind::In { operand, items } => self.in_list(operand, items),
            ExprKind::Call { function, args } => self.call(*function, args, expr.span.start),
            ExprKind::Lambda(lambda) => self.lambda(lambda, expr.span.start),
            ExprKind::Literal(Literal::Boolean(b)) => {
                Ok(if *b { "(1 = 1)" } else { "(1 = 0)" }.to_string())
            }
            ExprKind::Member(path) => {
                let column = self.column(path, expr.span.start)?;
                if column.ty != PropertyType::Boolean {
                    return Err(type_mismatch(
                        expr.span.start,
                        format!(
                            "'{}' is {}, not a condition; compare it with a value",
                            column.name,
                            column.ty.edm_name()
                        ),
                    ));
                }
                Ok(format!("({} = 1)", column.sql))
            }
            ExprKind::Literal(lit) => Err(type_mismatch(
                expr.span.start,
                format!(
                    "expected a condition but found a literal of type {}",
                    literal_type(lit)
                ),
            )),
        }
    }

    /// Resolves a member path: a lambda variable's members first, then the resource's.
    fn resolve(&self, path: &MemberPath, at: usize) -> Result<Resolved<'a>, ODataError> {
        let (first, rest) = match path.segments.split_first() {
            Some(split) => split,
            None => return Err(ODataError::syntax(at, "empty property path")),
        };
        let (schema, owner, rest): (&'a EntitySchema, &str, &[String]) = match self
            .scopes
            .iter()
            .rev()
            .find(|s| s.variable() == first)
        {
            Some(Scope::Element { column, .. }) => {
                if !rest.is_empty() {
                    return Err(ODataError::new(
                        ErrorKind::UnknownProperty,
                        format!(
                            "'{first}' is a string and has no property '{}'",
                            rest.join("/")
                        ),
                    )
                    .at(at));
                }
                return Ok(Resolved::Element(column.clone()));
            }
            Some(Scope::Entity { schema, alias, .. }) => {
                if rest.is_empty() {
                    return Err(type_mismatch(
                        at,
                        format!(
                            "the lambda variable '{first}' stands for a whole entity; use one of its properties, e.g. '{first}/id'"
                        ),
                    ));
                }
                (*schema, alias.as_str(), rest)
            }
            None => (self.schema, self.alias, &path.segments[..]),
        };
        let name = rest.join("/");
        let property = schema
            .property(&name)
            .ok_or_else(|| schema.unknown_property(&name).at(at))?;
        if !property.caps.filter {
            return Err(unsupported(
                at,
                format!(
                    "Filtering by '{}' is not supported on type '{}'.",
                    property.name, schema.type_name
                ),
            ));
        }
        Ok(Resolved::Property {
            property,
            owner: owner.to_string(),
            schema,
        })
    }

    /// Resolves a path that must name a single value.
    fn column(&self, path: &MemberPath, at: usize) -> Result<Column, ODataError> {
        match self.resolve(path, at)? {
            Resolved::Element(column) => Ok(column),
            Resolved::Property {
                property, owner, ..
            } => {
                if !property.ty.is_scalar() {
                    return Err(type_mismatch(
                        at,
                        format!(
                            "'{0}' is a collection; test its elements with a lambda such as {0}/any(x: …)",
                            property.name
                        ),
                    ));
                }
                Ok(Column {
                    sql: format!("{owner}.{}", property.column),
                    ty: property.ty,
                    case_insensitive: property.caps.case_insensitive,
                    name: property.name.to_string(),
                })
            }
        }
    }

    /// The parameter value for `lit` compared with `column`, or a type mismatch.
    fn coerce(&self, column: &Column, lit: &Literal, at: usize) -> Result<SqlValue, ODataError> {
        let mismatch = || {
            type_mismatch(
                at,
                format!(
                    "'{}' is {} and cannot be compared with a literal of type {}",
                    column.name,
                    column.ty.edm_name(),
                    literal_type(lit)
                ),
            )
        };
        let out_of_range = || type_mismatch(at, "the date is out of range".to_string());
        Ok(match (column.ty, lit) {
            (PropertyType::String, Literal::String(s)) => SqlValue::Text(s.clone()),
            (PropertyType::Boolean, Literal::Boolean(b)) => SqlValue::Integer(i64::from(*b)),
            (PropertyType::Int64, Literal::Int(i)) => SqlValue::Integer(*i),
            (PropertyType::DateTime, Literal::DateTimeOffset(dt)) => {
                SqlValue::Integer(epoch_millis(*dt).ok_or_else(out_of_range)?)
            }
            (PropertyType::DateTime, Literal::Date(d)) => {
                SqlValue::Integer(date_millis(*d).ok_or_else(out_of_range)?)
            }
            (PropertyType::Guid, Literal::Guid(g)) => SqlValue::Text(g.clone()),
            (PropertyType::Guid, Literal::String(s)) if is_guid(s) => {
                SqlValue::Text(s.to_ascii_lowercase())
            }
            (
                PropertyType::Enum(members),
                Literal::Enum { member, .. } | Literal::String(member),
            ) => {
                let canonical = members
                    .iter()
                    .find(|m| m.eq_ignore_ascii_case(member))
                    .ok_or_else(|| {
                        type_mismatch(
                            at,
                            format!(
                                "'{member}' is not a valid value for '{}'; expected one of: {}",
                                column.name,
                                members.join(", ")
                            ),
                        )
                    })?;
                SqlValue::Text((*canonical).to_string())
            }
            _ => return Err(mismatch()),
        })
    }

    /// `sql` prepared for comparison: case-folded for case-insensitive strings.
    fn comparable(&self, column: &Column, sql: &str) -> String {
        if column.case_insensitive && column.ty == PropertyType::String {
            self.dialect.fold_case(sql)
        } else {
            sql.to_string()
        }
    }

    fn compare(&mut self, op: CompareOp, left: &Expr, right: &Expr) -> Result<String, ODataError> {
        match (&left.kind, &right.kind) {
            (ExprKind::Member(path), ExprKind::Literal(lit)) => {
                self.compare_column(path, left.span.start, op, lit, right.span.start)
            }
            (ExprKind::Literal(lit), ExprKind::Member(path)) => {
                self.compare_column(path, right.span.start, op.flipped(), lit, left.span.start)
            }
            // `startswith(a, 'b') eq true`, as older clients write it.
            (_, ExprKind::Literal(Literal::Boolean(b))) if is_condition(&left.kind) => {
                self.compare_condition(op, left, *b)
            }
            (ExprKind::Literal(Literal::Boolean(b)), _) if is_condition(&right.kind) => {
                self.compare_condition(op, right, *b)
            }
            (ExprKind::Member(_), ExprKind::Member(_)) => Err(unsupported(
                left.span.start,
                "comparing two properties is not supported; compare a property with a value",
            )),
            _ => Err(unsupported(
                left.span.start,
                "comparisons must have a property on one side and a value on the other",
            )),
        }
    }

    fn compare_condition(
        &mut self,
        op: CompareOp,
        condition: &Expr,
        value: bool,
    ) -> Result<String, ODataError> {
        let positive = match op {
            CompareOp::Eq => value,
            CompareOp::Ne => !value,
            _ => {
                return Err(unsupported(
                    condition.span.start,
                    "conditions can only be compared with eq or ne",
                ));
            }
        };
        let sql = self.predicate(condition)?;
        Ok(if positive {
            sql
        } else {
            format!("({sql} IS NOT TRUE)")
        })
    }

    fn compare_column(
        &mut self,
        path: &MemberPath,
        path_at: usize,
        op: CompareOp,
        lit: &Literal,
        lit_at: usize,
    ) -> Result<String, ODataError> {
        let column = self.column(path, path_at)?;
        if *lit == Literal::Null {
            return match op {
                CompareOp::Eq => Ok(format!("({} IS NULL)", column.sql)),
                CompareOp::Ne => Ok(format!("({} IS NOT NULL)", column.sql)),
                _ => Err(type_mismatch(
                    lit_at,
                    "null can only be compared with eq or ne".to_string(),
                )),
            };
        }
        let ordered = matches!(
            op,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        );
        if ordered
            && matches!(
                column.ty,
                PropertyType::Boolean | PropertyType::Enum(_) | PropertyType::Guid
            )
        {
            return Err(unsupported(
                path_at,
                format!(
                    "'{}' is {} and supports only eq, ne and in",
                    column.name,
                    column.ty.edm_name()
                ),
            ));
        }
        let value = self.coerce(&column, lit, lit_at)?;
        let placeholder = self.bind(value);
        let left = self.comparable(&column, &column.sql);
        let right = self.comparable(&column, &placeholder);
        Ok(if op == CompareOp::Ne {
            // OData: null ne 'x' is true.
            format!("({left} <> {right} OR {} IS NULL)", column.sql)
        } else {
            format!("({left} {} {right})", sql_operator(op))
        })
    }

    fn in_list(&mut self, operand: &Expr, items: &[Expr]) -> Result<String, ODataError> {
        let ExprKind::Member(path) = &operand.kind else {
            return Err(unsupported(
                operand.span.start,
                "the left side of 'in' must be a property",
            ));
        };
        let column = self.column(path, operand.span.start)?;
        let mut placeholders = Vec::new();
        let mut with_null = false;
        for item in items {
            let ExprKind::Literal(lit) = &item.kind else {
                return Err(ODataError::syntax(
                    item.span.start,
                    "an 'in' list may contain only literal values",
                ));
            };
            if *lit == Literal::Null {
                with_null = true;
                continue;
            }
            let value = self.coerce(&column, lit, item.span.start)?;
            let placeholder = self.bind(value);
            placeholders.push(self.comparable(&column, &placeholder));
        }
        let null_test = format!("{} IS NULL", column.sql);
        if placeholders.is_empty() {
            return Ok(format!("({null_test})"));
        }
        let test = format!(
            "{} IN ({})",
            self.comparable(&column, &column.sql),
            placeholders.join(", ")
        );
        Ok(if with_null {
            format!("({test} OR {null_test})")
        } else {
            format!("({test})")
        })
    }

    fn call(&mut self, function: Function, args: &[Expr], at: usize) -> Result<String, ODataError> {
        let [subject, argument] = args else {
            return Err(ODataError::syntax(
                at,
                format!("{}() takes 2 arguments", function.name()),
            ));
        };
        let ExprKind::Member(path) = &subject.kind else {
            return Err(unsupported(
                subject.span.start,
                format!(
                    "the first argument of {}() must be a property",
                    function.name()
                ),
            ));
        };
        let column = self.column(path, subject.span.start)?;
        if column.ty != PropertyType::String {
            return Err(type_mismatch(
                subject.span.start,
                format!(
                    "{}() needs a string property, but '{}' is {}",
                    function.name(),
                    column.name,
                    column.ty.edm_name()
                ),
            ));
        }
        let ExprKind::Literal(Literal::String(text)) = &argument.kind else {
            return Err(type_mismatch(
                argument.span.start,
                format!(
                    "the second argument of {}() must be a string literal",
                    function.name()
                ),
            ));
        };
        let anchor = match function {
            Function::StartsWith => Anchor::Prefix,
            Function::EndsWith => Anchor::Suffix,
            Function::Contains => Anchor::Contains,
        };
        let pattern = self
            .dialect
            .match_pattern(text, anchor, column.case_insensitive);
        let placeholder = self.bind(SqlValue::Text(pattern));
        let matches = self
            .dialect
            .matches(&column.sql, &placeholder, column.case_insensitive);
        if anchor == Anchor::Prefix
            && column.case_insensitive
            && let Some((low, high)) = super::nocase_prefix_bounds(text)
        {
            // The next two placeholders, bound only if the dialect writes a range.
            let next = self.params.len();
            let (low_at, high_at) = (
                self.dialect.placeholder(next + 1),
                self.dialect.placeholder(next + 2),
            );
            if let Some(range) = self.dialect.prefix_range(&column.sql, &low_at, &high_at) {
                self.bind(SqlValue::Text(low));
                self.bind(SqlValue::Text(high));
                return Ok(format!("({matches} AND {range})"));
            }
        }
        Ok(format!("({matches})"))
    }

    fn lambda(&mut self, lambda: &Lambda, at: usize) -> Result<String, ODataError> {
        let (property, owner, schema) = match self.resolve(&lambda.collection, at)? {
            Resolved::Property {
                property,
                owner,
                schema,
            } => (property, owner, schema),
            Resolved::Element(column) => {
                return Err(type_mismatch(
                    at,
                    format!("'{}' is a single string, not a collection", column.name),
                ));
            }
        };
        let inner_alias = self.new_alias();
        let (from, correlation, scope) = match property.ty {
            PropertyType::StringCollection => {
                let source = format!("{owner}.{}", property.column);
                let element = Column {
                    sql: format!("{inner_alias}.value"),
                    ty: PropertyType::String,
                    case_insensitive: property.caps.case_insensitive,
                    name: property.name.to_string(),
                };
                let from = self.dialect.json_array_elements(&source, &inner_alias);
                (
                    from,
                    None,
                    lambda.body.as_ref().map(|b| Scope::Element {
                        variable: b.variable.clone(),
                        column: element,
                    }),
                )
            }
            PropertyType::EntityCollection(relation) => {
                let from = format!("{} AS {inner_alias}", relation.table);
                let correlation = format!(
                    "{inner_alias}.{} = {owner}.{}",
                    relation.child_column, relation.parent_column
                );
                let scope = lambda.body.as_ref().map(|b| Scope::Entity {
                    variable: b.variable.clone(),
                    schema: relation.schema,
                    alias: inner_alias.clone(),
                });
                (from, Some(correlation), scope)
            }
            _ => {
                return Err(type_mismatch(
                    at,
                    format!(
                        "'{}' on type '{}' is {}, not a collection; any() and all() apply to collections",
                        property.name,
                        schema.type_name,
                        property.ty.edm_name()
                    ),
                ));
            }
        };
        let condition = match (&lambda.body, scope) {
            (Some(body), Some(scope)) => {
                self.scopes.push(scope);
                let predicate = self.predicate(&body.predicate);
                self.scopes.pop();
                let predicate = predicate?;
                Some(match lambda.kind {
                    LambdaKind::Any => predicate,
                    // Some element fails (or is unknown) ⇔ not all hold.
                    LambdaKind::All => format!("({predicate} IS NOT TRUE)"),
                })
            }
            _ if lambda.kind == LambdaKind::All => {
                return Err(ODataError::syntax(at, "all() needs a predicate"));
            }
            _ => None,
        };
        let conditions: Vec<String> = correlation.into_iter().chain(condition).collect();
        let subquery = if conditions.is_empty() {
            format!("SELECT 1 FROM {from}")
        } else {
            format!("SELECT 1 FROM {from} WHERE {}", conditions.join(" AND "))
        };
        Ok(match lambda.kind {
            LambdaKind::Any => format!("(EXISTS ({subquery}))"),
            LambdaKind::All => format!("(NOT EXISTS ({subquery}))"),
        })
    }
}

/// Forms that compile to a condition rather than a value.
fn is_condition(kind: &ExprKind) -> bool {
    matches!(
        kind,
        ExprKind::Call { .. }
            | ExprKind::Lambda(_)
            | ExprKind::Compare { .. }
            | ExprKind::In { .. }
            | ExprKind::And(..)
            | ExprKind::Or(..)
            | ExprKind::Not(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::filter::parse_filter;
    use crate::sql::{Postgres, Sqlite};
    use crate::testing::CHAT;

    fn compile_with(dialect: &dyn Dialect, filter: &str) -> (String, Vec<SqlValue>) {
        let expr =
            parse_filter(filter, &Limits::default()).unwrap_or_else(|e| panic!("{filter}: {e}"));
        let mut params = Vec::new();
        let sql = compile_filter(&expr, &CHAT, "c", dialect, &mut params)
            .unwrap_or_else(|e| panic!("{filter}: {e}"));
        (sql, params)
    }

    fn sqlite(filter: &str) -> (String, Vec<SqlValue>) {
        compile_with(&Sqlite, filter)
    }

    fn postgres(filter: &str) -> (String, Vec<SqlValue>) {
        compile_with(&Postgres, filter)
    }

    fn fail(filter: &str) -> ODataError {
        let expr =
            parse_filter(filter, &Limits::default()).unwrap_or_else(|e| panic!("{filter}: {e}"));
        compile_filter(&expr, &CHAT, "c", &Sqlite, &mut Vec::new()).unwrap_err()
    }

    fn text(s: &str) -> SqlValue {
        SqlValue::Text(s.to_string())
    }

    #[test]
    fn string_equality_is_case_insensitive_where_the_catalogue_says() {
        assert_eq!(
            sqlite("topic eq 'Lunch'"),
            (
                "(c.topic COLLATE NOCASE = ?1 COLLATE NOCASE)".into(),
                vec![text("Lunch")]
            )
        );
        assert_eq!(
            postgres("topic eq 'Lunch'").0,
            "(lower(c.topic) = lower($1))"
        );
        assert_eq!(sqlite("id eq 'A'").0, "(c.id = ?1)");
        assert_eq!(
            sqlite("'Lunch' eq topic").0,
            "(c.topic COLLATE NOCASE = ?1 COLLATE NOCASE)"
        );
    }

    #[test]
    fn ordered_comparisons_and_flipping() {
        assert_eq!(
            sqlite("unreadCount gt 5"),
            ("(c.unread_count > ?1)".into(), vec![SqlValue::Integer(5)])
        );
        assert_eq!(sqlite("5 lt unreadCount").0, "(c.unread_count > ?1)");
        // A fraction would need a cast on PostgreSQL, where the parameter is typed bigint.
        assert_eq!(fail("unreadCount le 1.5").kind, ErrorKind::TypeMismatch);
        assert_eq!(sqlite("unreadCount ge 0").0, "(c.unread_count >= ?1)");
        assert_eq!(sqlite("unreadCount lt 0").0, "(c.unread_count < ?1)");
    }

    #[test]
    fn ne_is_true_for_nulls() {
        assert_eq!(
            sqlite("unreadCount ne 1").0,
            "(c.unread_count <> ?1 OR c.unread_count IS NULL)"
        );
    }

    #[test]
    fn null_comparisons() {
        assert_eq!(
            sqlite("topic eq null"),
            ("(c.topic IS NULL)".into(), vec![])
        );
        assert_eq!(sqlite("null ne topic").0, "(c.topic IS NOT NULL)");
        let e = fail("topic gt null");
        assert_eq!((e.kind, e.position), (ErrorKind::TypeMismatch, Some(9)));
    }

    #[test]
    fn booleans_dates_guids_and_enums_are_bound_canonically() {
        assert_eq!(
            sqlite("isHiddenForAllMembers eq true"),
            ("(c.hidden = ?1)".into(), vec![SqlValue::Integer(1)])
        );
        assert_eq!(
            sqlite("isHiddenForAllMembers"),
            ("(c.hidden = 1)".into(), vec![])
        );
        assert_eq!(
            sqlite("createdDateTime ge 2024-01-01T01:00:00.5+01:00").1,
            [SqlValue::Integer(1_704_067_200_500)]
        );
        assert_eq!(
            sqlite("createdDateTime lt 2024-01-01").1,
            [SqlValue::Integer(1_704_067_200_000)]
        );
        let guid = "1c5b0169-6d2e-4a17-9c29-2bc9cf04e63b";
        assert_eq!(
            sqlite(&format!("tenantId eq {}", guid.to_uppercase())).1,
            [text(guid)]
        );
        assert_eq!(
            sqlite(&format!("tenantId eq '{}'", guid.to_uppercase())).1,
            [text(guid)]
        );
        assert_eq!(
            sqlite("chatType eq microsoft.graph.chatType'GROUP'"),
            ("(c.chat_type = ?1)".into(), vec![text("group")])
        );
        assert_eq!(sqlite("chatType eq 'oneonone'").1, [text("oneOnOne")]);
    }

    #[test]
    fn wrong_literal_types() {
        for (filter, position) in [
            ("unreadCount eq 'five'", 15),
            ("topic eq 5", 9),
            ("isHiddenForAllMembers eq 1", 25),
            ("createdDateTime gt '2024-01-01T00:00:00Z'", 19),
            ("tenantId eq 'not-a-guid'", 12),
            ("chatType eq 'party'", 12),
            ("chatType eq 1", 12),
            ("topic in ('a', 2)", 15),
            ("startswith(topic, 1)", 18),
            ("startswith(unreadCount, 'a')", 11),
        ] {
            let e = fail(filter);
            assert_eq!(
                (e.kind, e.position),
                (ErrorKind::TypeMismatch, Some(position)),
                "{filter}: {e}"
            );
            assert_eq!(e.option(), Some("$filter"));
        }
        assert_eq!(
            fail("unreadCount eq 'five'").message,
            "in '$filter': 'unreadCount' is Edm.Int64 and cannot be compared with a literal of type Edm.String"
        );
        assert!(
            fail("chatType eq 'party'")
                .message
                .contains("expected one of: oneOnOne, group, meeting")
        );
    }

    #[test]
    fn unknown_and_unfilterable_properties() {
        let e = fail("nope eq 1");
        assert_eq!((e.kind, e.position), (ErrorKind::UnknownProperty, Some(0)));
        assert_eq!(
            e.to_string(),
            "Unknown property at position 0 in '$filter': Could not find a property named 'nope' on type 'microsoft.graph.chat'."
        );
        let e = fail("topic eq 'a' and webUrl eq 'x'");
        assert_eq!((e.kind, e.position), (ErrorKind::Unsupported, Some(17)));
        assert!(e.message.contains("'webUrl'"));
        assert_eq!(
            fail("members/any(m: m/nope eq 1)").kind,
            ErrorKind::UnknownProperty
        );
    }

    #[test]
    fn ordered_comparisons_on_unordered_types() {
        assert_eq!(fail("chatType gt 'group'").kind, ErrorKind::Unsupported);
        assert_eq!(
            fail("isHiddenForAllMembers lt true").kind,
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn logic_and_not() {
        assert_eq!(
            sqlite("unreadCount eq 1 and (topic eq 'a' or not isHiddenForAllMembers)").0,
            "((c.unread_count = ?1) AND ((c.topic COLLATE NOCASE = ?2 COLLATE NOCASE) OR ((c.hidden = 1) IS NOT TRUE)))"
        );
        assert_eq!(sqlite("true").0, "(1 = 1)");
        assert_eq!(sqlite("not false").0, "((1 = 0) IS NOT TRUE)");
    }

    #[test]
    fn in_lists() {
        assert_eq!(
            sqlite("topic in ('a', 'b')"),
            (
                "(c.topic COLLATE NOCASE IN (?1 COLLATE NOCASE, ?2 COLLATE NOCASE))".into(),
                vec![text("a"), text("b")]
            )
        );
        assert_eq!(
            postgres("id in ('a', null)").0,
            "(c.id IN ($1) OR c.id IS NULL)"
        );
        assert_eq!(sqlite("id in (null)").0, "(c.id IS NULL)");
        assert_eq!(
            sqlite("chatType in ('GROUP', microsoft.graph.chatType'meeting')").1,
            [text("group"), text("meeting")]
        );
    }

    #[test]
    fn string_functions_escape_their_patterns() {
        assert_eq!(
            sqlite("startswith(topic, '50%_off\\')"),
            (
                "(c.topic LIKE ?1 ESCAPE '\\' AND c.topic COLLATE NOCASE >= ?2 AND c.topic COLLATE NOCASE < ?3)".into(),
                vec![text("50\\%\\_off\\\\%"), text("50%_off\\"), text("50%_off]")]
            )
        );
        assert_eq!(
            postgres("endswith(topic, 'x')"),
            ("(c.topic ILIKE $1 ESCAPE '\\')".into(), vec![text("%x")])
        );
        assert_eq!(
            postgres("contains(id, 'x')"),
            ("(c.id LIKE $1 ESCAPE '\\')".into(), vec![text("%x%")])
        );
        assert_eq!(
            sqlite("contains(id, 'a*?')"),
            ("(c.id GLOB ?1)".into(), vec![text("*a[*][?]*")])
        );
        assert_eq!(
            sqlite("startswith(topic, 'a') eq false").0,
            "((c.topic LIKE ?1 ESCAPE '\\' AND c.topic COLLATE NOCASE >= ?2 AND c.topic COLLATE NOCASE < ?3) IS NOT TRUE)"
        );
        assert_eq!(
            sqlite("true eq startswith(topic, 'a')").0,
            "(c.topic LIKE ?1 ESCAPE '\\' AND c.topic COLLATE NOCASE >= ?2 AND c.topic COLLATE NOCASE < ?3)"
        );
        // Case-sensitive columns and the other anchors have no range; neither has PostgreSQL.
        assert_eq!(sqlite("startswith(id, 'a')").0, "(c.id GLOB ?1)");
        assert_eq!(
            sqlite("endswith(topic, 'a')").0,
            "(c.topic LIKE ?1 ESCAPE '\\')"
        );
        assert_eq!(
            postgres("startswith(topic, 'a')"),
            ("(c.topic ILIKE $1 ESCAPE '\\')".into(), vec![text("a%")])
        );
        // An empty prefix matches everything: no range.
        assert_eq!(
            sqlite("startswith(topic, '')").0,
            "(c.topic LIKE ?1 ESCAPE '\\')"
        );
    }

    #[test]
    fn nocase_prefix_bounds_enclose_every_match() {
        use crate::sql::nocase_prefix_bounds;
        assert_eq!(
            nocase_prefix_bounds("Bench User 0123"),
            Some(("bench user 0123".into(), "bench user 0124".into()))
        );
        assert_eq!(nocase_prefix_bounds("aZ"), Some(("az".into(), "a{".into())));
        assert_eq!(
            nocase_prefix_bounds("\u{D7FF}"),
            Some(("\u{D7FF}".into(), "\u{E000}".into()))
        );
        assert_eq!(
            nocase_prefix_bounds("x\u{10FFFF}"),
            Some(("x\u{10FFFF}".into(), "y".into()))
        );
        assert_eq!(nocase_prefix_bounds("\u{10FFFF}"), None);
        assert_eq!(nocase_prefix_bounds(""), None);
        // NOCASE, modelled: ASCII folded to lower case, then bytes compared.
        let fold = |s: &str| s.to_ascii_lowercase().into_bytes();
        let prefixes = ["a", "Ab", "x@", "Z", "é", "a_%", "[", "`", "zz~", "@"];
        let values = [
            "a", "A", "ab", "AB", "aB9", "x@", "X@y", "xa", "x[", "z", "Z", "zz~~", "é", "éa", "[",
            "[x", "`", "{", "@", "@@", "a_%b", "A_%", "b", "",
        ];
        for prefix in prefixes {
            let (low, high) = nocase_prefix_bounds(prefix).unwrap();
            for value in values {
                let matches = fold(value).starts_with(&fold(prefix));
                let within = fold(value) >= fold(&low) && fold(value) < fold(&high);
                assert!(
                    !matches || within,
                    "{value:?} starts with {prefix:?} but is outside [{low:?}, {high:?})"
                );
            }
        }
        assert_eq!(
            fail("startswith(topic, 'a') gt true").kind,
            ErrorKind::Unsupported
        );
        assert_eq!(fail("startswith('a', topic)").kind, ErrorKind::Unsupported);
    }

    #[test]
    fn string_collection_lambdas() {
        assert_eq!(
            sqlite("categories/any(a: a eq 'Red')"),
            (
                "(EXISTS (SELECT 1 FROM json_each(c.categories) AS c_1 WHERE (c_1.value COLLATE NOCASE = ?1 COLLATE NOCASE)))".into(),
                vec![text("Red")]
            )
        );
        assert_eq!(
            postgres("labels/all(l: startswith(l, 'x'))").0,
            "(NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text((c.labels)::jsonb) AS c_1(value) WHERE ((c_1.value LIKE $1 ESCAPE '\\') IS NOT TRUE)))"
        );
        assert_eq!(
            sqlite("labels/any()").0,
            "(EXISTS (SELECT 1 FROM json_each(c.labels) AS c_1))"
        );
        assert_eq!(
            sqlite("labels/any(l: l in ('a', 'b'))").0,
            "(EXISTS (SELECT 1 FROM json_each(c.labels) AS c_1 WHERE (c_1.value IN (?1, ?2))))"
        );
        assert_eq!(
            fail("labels/any(l: l/x eq 'a')").kind,
            ErrorKind::UnknownProperty
        );
        assert_eq!(fail("labels/any(l: l eq 1)").kind, ErrorKind::TypeMismatch);
    }

    #[test]
    fn entity_collection_lambdas() {
        assert_eq!(
            sqlite("members/any(m: m/displayName eq 'X')").0,
            "(EXISTS (SELECT 1 FROM chat_members AS c_1 WHERE c_1.chat_id = c.id AND (c_1.display_name COLLATE NOCASE = ?1 COLLATE NOCASE)))"
        );
        assert_eq!(
            sqlite("members/all(m: m/userId ne 1c5b0169-6d2e-4a17-9c29-2bc9cf04e63b)").0,
            "(NOT EXISTS (SELECT 1 FROM chat_members AS c_1 WHERE c_1.chat_id = c.id AND ((c_1.user_id <> ?1 OR c_1.user_id IS NULL) IS NOT TRUE)))"
        );
        assert_eq!(
            sqlite("members/any()").0,
            "(EXISTS (SELECT 1 FROM chat_members AS c_1 WHERE c_1.chat_id = c.id))"
        );
    }

    #[test]
    fn nested_lambdas_and_outer_properties() {
        assert_eq!(
            sqlite("members/any(m: m/roles/any(r: r eq 'owner') and topic eq 't')").0,
            "(EXISTS (SELECT 1 FROM chat_members AS c_1 WHERE c_1.chat_id = c.id AND \
             ((EXISTS (SELECT 1 FROM json_each(c_1.roles) AS c_2 WHERE (c_2.value = ?1))) AND \
             (c.topic COLLATE NOCASE = ?2 COLLATE NOCASE))))"
        );
        // Two lambdas side by side get distinct aliases.
        let sql = sqlite("labels/any(x: x eq 'a') and labels/any(x: x eq 'b')").0;
        assert!(sql.contains("AS c_1") && sql.contains("AS c_2"), "{sql}");
    }

    #[test]
    fn lambda_misuse() {
        assert_eq!(fail("topic/any(t: t eq 'a')").kind, ErrorKind::TypeMismatch);
        assert_eq!(fail("categories eq 'Red'").kind, ErrorKind::TypeMismatch);
        assert_eq!(
            fail("members/any(m: m eq 'x')").kind,
            ErrorKind::TypeMismatch
        );
        assert_eq!(
            fail("labels/any(l: l/any(x: true))").kind,
            ErrorKind::TypeMismatch
        );
        assert_eq!(
            fail("members/any(m: m/displayName)").kind,
            ErrorKind::TypeMismatch
        );
    }

    #[test]
    fn other_unsupported_shapes() {
        assert_eq!(fail("topic eq id").kind, ErrorKind::Unsupported);
        assert_eq!(fail("1 eq 1").kind, ErrorKind::Unsupported);
        assert_eq!(fail("'a'").kind, ErrorKind::TypeMismatch);
        assert_eq!(fail("topic").kind, ErrorKind::TypeMismatch);
    }

    #[test]
    fn placeholders_continue_after_existing_params() {
        let expr = parse_filter("unreadCount eq 1 and id eq 'x'", &Limits::default()).unwrap();
        let mut params = vec![text("tenant")];
        let sql = compile_filter(&expr, &CHAT, "c", &Postgres, &mut params).unwrap();
        assert_eq!(sql, "((c.unread_count = $2) AND (c.id = $3))");
        assert_eq!(params.len(), 3);
    }

    #[test]
    fn bad_alias_is_an_error() {
        let expr = parse_filter("id eq 'x'", &Limits::default()).unwrap();
        assert!(compile_filter(&expr, &CHAT, "c; DROP TABLE x", &Sqlite, &mut Vec::new()).is_err());
    }
}
