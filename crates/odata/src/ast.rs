//! The typed syntax tree of query options: `$filter` expressions (with byte spans), `$orderby`
//! items, `$expand` items with their nested options, and `$search` queries. Also the OData
//! printer ([`fmt::Display`] for [`Expr`]) and [`features`], the summary callers use to enforce
//! Graph's per-resource rules.

use std::fmt;

use time::{Date, OffsetDateTime};

/// Byte range `start..end` in the option value the node was parsed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// The span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// A `$filter` expression node and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Where it was written; [`Span::default`] for trees built in code.
    pub span: Span,
}

impl Expr {
    /// A node with an empty span, for trees built in code.
    pub fn new(kind: ExprKind) -> Self {
        Expr {
            kind,
            span: Span::default(),
        }
    }
}

/// The forms a `$filter` expression can take.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `null`, `true`, `42`, `'text'`, `2024-01-01T00:00:00Z`, …
    Literal(Literal),
    /// A property path such as `from/emailAddress/address`, or a lambda variable (`m`,
    /// `m/displayName`).
    Member(MemberPath),
    /// `left op right`.
    Compare {
        /// The operator.
        op: CompareOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `operand in (item, item, …)`.
    In {
        /// The value tested.
        operand: Box<Expr>,
        /// The candidates (at least one).
        items: Vec<Expr>,
    },
    /// `left and right`.
    And(Box<Expr>, Box<Expr>),
    /// `left or right`.
    Or(Box<Expr>, Box<Expr>),
    /// `not operand`.
    Not(Box<Expr>),
    /// `startswith(a, b)`, `endswith(a, b)`, `contains(a, b)`.
    Call {
        /// Which function.
        function: Function,
        /// Its arguments, in order.
        args: Vec<Expr>,
    },
    /// `collection/any(v: predicate)`, `collection/all(v: predicate)` or `collection/any()`.
    Lambda(Lambda),
}

/// A primitive literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`.
    Null,
    /// `true` / `false`.
    Boolean(bool),
    /// An integer that fits `i64`, e.g. `-5`.
    Int(i64),
    /// A number with a fraction or exponent, e.g. `1.5`, `2e10`.
    Decimal(f64),
    /// `'text'`, with `''` already unescaped to `'`.
    String(String),
    /// An unquoted `DateTimeOffset`, e.g. `2024-01-01T00:00:00Z` or
    /// `2024-01-01T10:00:00.5+02:00`.
    DateTimeOffset(OffsetDateTime),
    /// An unquoted `Date`, e.g. `2024-01-01`.
    Date(Date),
    /// An unquoted GUID, canonicalised to lowercase.
    Guid(String),
    /// `microsoft.graph.chatType'group'`: the qualified type name and the member as written.
    Enum {
        /// `microsoft.graph.chatType`.
        type_name: String,
        /// `group`.
        member: String,
    },
}

/// A `/`-separated member path as written (`from/emailAddress/address`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberPath {
    /// The segments, never empty.
    pub segments: Vec<String>,
}

impl MemberPath {
    /// A path from its segments.
    pub fn new<S: Into<String>>(segments: impl IntoIterator<Item = S>) -> Self {
        MemberPath {
            segments: segments.into_iter().map(Into::into).collect(),
        }
    }
}

impl fmt::Display for MemberPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segments.join("/"))
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CompareOp {
    /// The OData keyword, lowercase.
    pub fn keyword(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// The operator from its keyword, matched case-insensitively.
    pub fn from_keyword(word: &str) -> Option<CompareOp> {
        [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ]
        .into_iter()
        .find(|op| op.keyword().eq_ignore_ascii_case(word))
    }

    /// The operator that gives the same result with the operands swapped (`5 lt x` is `x gt 5`).
    pub fn flipped(self) -> CompareOp {
        match self {
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Ge => CompareOp::Le,
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Le => CompareOp::Ge,
            same => same,
        }
    }
}

/// The string functions Graph clients use in `$filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `startswith(text, prefix)`
    StartsWith,
    /// `endswith(text, suffix)`
    EndsWith,
    /// `contains(text, part)`
    Contains,
}

impl Function {
    /// The OData name, lowercase.
    pub fn name(self) -> &'static str {
        match self {
            Function::StartsWith => "startswith",
            Function::EndsWith => "endswith",
            Function::Contains => "contains",
        }
    }

    /// The function from its name, matched case-insensitively (`startsWith` is common).
    pub fn from_name(name: &str) -> Option<Function> {
        [Function::StartsWith, Function::EndsWith, Function::Contains]
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

/// `any` or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LambdaKind {
    /// True when some element satisfies the predicate (or, without one, when there is any).
    Any,
    /// True when every element satisfies the predicate.
    All,
}

impl LambdaKind {
    /// `any` or `all`.
    pub fn keyword(self) -> &'static str {
        match self {
            LambdaKind::Any => "any",
            LambdaKind::All => "all",
        }
    }
}

/// A lambda over a collection-valued member.
#[derive(Debug, Clone, PartialEq)]
pub struct Lambda {
    /// The collection, e.g. `members` or `m/roles` inside another lambda.
    pub collection: MemberPath,
    /// `any` or `all`.
    pub kind: LambdaKind,
    /// The range variable and predicate; `None` only for `any()`.
    pub body: Option<LambdaBody>,
}

/// `v: predicate` inside a lambda.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaBody {
    /// The range variable (`m` in `members/any(m: m/displayName eq 'X')`).
    pub variable: String,
    /// The condition on each element.
    pub predicate: Box<Expr>,
}

/// One `$orderby` item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderBy {
    /// The property path as written, e.g. `lastMessagePreview/createdDateTime`.
    pub path: String,
    /// `desc` was given.
    pub descending: bool,
}

/// One `$expand` item with its nested options, e.g. `members($select=id;$top=5)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpandItem {
    /// The navigation property as written, e.g. `members` (or `*`).
    pub path: String,
    /// The options in parentheses; all empty when none were given.
    pub options: Box<NestedOptions>,
}

/// The query options allowed inside `$expand=nav(…)`: those of
/// [`crate::QueryOptions`] that apply to one collection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NestedOptions {
    /// `$select`: property paths as written.
    pub select: Option<Vec<String>>,
    /// `$filter`.
    pub filter: Option<Expr>,
    /// `$orderby`.
    pub orderby: Vec<OrderBy>,
    /// `$top`.
    pub top: Option<u64>,
    /// `$skip`.
    pub skip: Option<u64>,
    /// `$count`.
    pub count: Option<bool>,
    /// `$expand`, recursively.
    pub expand: Vec<ExpandItem>,
    /// `$search`.
    pub search: Option<Search>,
}

impl NestedOptions {
    /// Whether any option but `$select` is set (what nested options of an `$expand` that only
    /// supports `$select` must refuse).
    pub fn has_more_than_select(&self) -> bool {
        self.filter.is_some()
            || !self.orderby.is_empty()
            || self.top.is_some()
            || self.skip.is_some()
            || self.count.is_some()
            || !self.expand.is_empty()
            || self.search.is_some()
    }
}

/// A `$search` query: terms combined with `AND`, `OR` and `NOT`.
///
/// Graph sends the value quoted (`"displayName:wa"`, `"from:bob AND subject:report"`); the
/// quotes only delimit a KQL query, so `"hello world"` is two terms. A phrase is written with
/// escaped inner quotes: `"\"hello world\""`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// One word or phrase.
    Term(SearchTerm),
    /// All of these (written with `AND` or simply side by side).
    And(Vec<Search>),
    /// Any of these.
    Or(Vec<Search>),
    /// Not this.
    Not(Box<Search>),
}

/// A search word or phrase, optionally restricted to one property (`subject:report`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerm {
    /// The property before `:`, as written, when given.
    pub property: Option<String>,
    /// The word or phrase, unescaped; never empty.
    pub text: String,
    /// It was quoted, so it is matched as one phrase.
    pub phrase: bool,
}

// ---------------------------------------------------------------------------------------------
// Printing expressions back to OData.
// ---------------------------------------------------------------------------------------------

/// Binding strength, weakest first; the printer adds parentheses only where the parser would
/// otherwise build a different tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    Or,
    And,
    Not,
    Compare,
    Primary,
}

impl ExprKind {
    fn precedence(&self) -> Precedence {
        match self {
            ExprKind::Or(..) => Precedence::Or,
            ExprKind::And(..) => Precedence::And,
            ExprKind::Not(_) => Precedence::Not,
            ExprKind::Compare { .. } | ExprKind::In { .. } => Precedence::Compare,
            ExprKind::Literal(_)
            | ExprKind::Member(_)
            | ExprKind::Call { .. }
            | ExprKind::Lambda(_) => Precedence::Primary,
        }
    }
}

/// Writes `expr`, in parentheses when it binds more loosely than `at_least`.
fn write_operand(f: &mut fmt::Formatter<'_>, expr: &Expr, at_least: Precedence) -> fmt::Result {
    if expr.kind.precedence() < at_least {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

impl fmt::Display for Expr {
    /// Prints OData that parses back to the same tree (spans aside).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Literal(lit) => write!(f, "{lit}"),
            ExprKind::Member(path) => write!(f, "{path}"),
            // `and` and `or` associate to the left, so a right operand of the same strength
            // needs parentheses and a left one does not.
            ExprKind::Or(l, r) => {
                write_operand(f, l, Precedence::Or)?;
                f.write_str(" or ")?;
                write_operand(f, r, Precedence::And)
            }
            ExprKind::And(l, r) => {
                write_operand(f, l, Precedence::And)?;
                f.write_str(" and ")?;
                write_operand(f, r, Precedence::Not)
            }
            ExprKind::Not(inner) => {
                f.write_str("not ")?;
                write_operand(f, inner, Precedence::Not)
            }
            // Comparisons do not chain, so both operands must be primary.
            ExprKind::Compare { op, left, right } => {
                write_operand(f, left, Precedence::Primary)?;
                write!(f, " {} ", op.keyword())?;
                write_operand(f, right, Precedence::Primary)
            }
            ExprKind::In { operand, items } => {
                write_operand(f, operand, Precedence::Primary)?;
                f.write_str(" in (")?;
                write_list(f, items)?;
                f.write_str(")")
            }
            ExprKind::Call { function, args } => {
                write!(f, "{}(", function.name())?;
                write_list(f, args)?;
                f.write_str(")")
            }
            ExprKind::Lambda(lambda) => {
                write!(f, "{}/{}(", lambda.collection, lambda.kind.keyword())?;
                if let Some(body) = &lambda.body {
                    write!(f, "{}: {}", body.variable, body.predicate)?;
                }
                f.write_str(")")
            }
        }
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

fn write_quoted(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    write!(f, "'{}'", text.replace('\'', "''"))
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Boolean(b) => write!(f, "{b}"),
            Literal::Int(i) => write!(f, "{i}"),
            // `Debug` is the shortest text that reads back as the same f64, and always has a
            // `.` or an exponent, so it cannot be mistaken for an integer.
            Literal::Decimal(d) => write!(f, "{d:?}"),
            Literal::String(s) => write_quoted(f, s),
            Literal::DateTimeOffset(dt) => write_date_time(f, *dt),
            Literal::Date(d) => write_date(f, *d),
            Literal::Guid(g) => f.write_str(g),
            Literal::Enum { type_name, member } => {
                f.write_str(type_name)?;
                write_quoted(f, member)
            }
        }
    }
}

fn write_date(f: &mut fmt::Formatter<'_>, d: Date) -> fmt::Result {
    write!(
        f,
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    )
}

/// ISO 8601 in the value's own offset, with the fraction only when there is one.
fn write_date_time(f: &mut fmt::Formatter<'_>, dt: OffsetDateTime) -> fmt::Result {
    write_date(f, dt.date())?;
    write!(f, "T{:02}:{:02}:{:02}", dt.hour(), dt.minute(), dt.second())?;
    let nanos = dt.nanosecond();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        write!(f, ".{}", fraction.trim_end_matches('0'))?;
    }
    let offset = dt.offset();
    if offset.is_utc() {
        f.write_str("Z")
    } else {
        let sign = if offset.is_negative() { '-' } else { '+' };
        let (h, m, _) = offset.as_hms();
        write!(f, "{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
    }
}

// ---------------------------------------------------------------------------------------------
// Features: what an expression uses, for per-resource rules.
// ---------------------------------------------------------------------------------------------

/// What a `$filter` uses, so a resource can apply Graph's rules before compiling it (e.g.
/// `ne`, `not` and `endswith` need advanced-query mode on users; chat messages allow only
/// `lastModifiedDateTime gt/lt`).
///
/// Paths inside lambdas are reported from the resource: `members/any(m: m/displayName eq 'X')`
/// uses `members` and `members/displayName`. Every list keeps first-use order without
/// duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterFeatures {
    /// Property paths used, as written.
    pub properties: Vec<String>,
    /// Functions used, lowercase (`startswith`, `endswith`, `contains`).
    pub functions: Vec<String>,
    /// Operators used, lowercase: `eq ne gt ge lt le in and or not any all`.
    pub operators: Vec<String>,
    /// Each (property path, operator or function) pair used, e.g.
    /// `("lastModifiedDateTime", "gt")`, `("displayName", "startswith")`, `("members", "any")`.
    pub comparisons: Vec<(String, String)>,
}

impl FilterFeatures {
    /// Whether the operator or function `name` (case-insensitive) is used.
    pub fn uses(&self, name: &str) -> bool {
        self.operators
            .iter()
            .chain(&self.functions)
            .any(|used| used.eq_ignore_ascii_case(name))
    }

    /// Whether `path` (case-insensitive) is used.
    pub fn uses_property(&self, path: &str) -> bool {
        self.properties.iter().any(|p| p.eq_ignore_ascii_case(path))
    }
}

/// Summarises what `expr` uses; see [`FilterFeatures`].
pub fn features(expr: &Expr) -> FilterFeatures {
    let mut out = FilterFeatures::default();
    let mut scopes = Vec::new();
    collect(expr, &mut scopes, &mut out);
    out
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

fn push_pair(list: &mut Vec<(String, String)>, path: Option<String>, op: &str) {
    if let Some(path) = path
        && !list.iter().any(|(p, o)| *p == path && o == op)
    {
        list.push((path, op.to_string()));
    }
}

/// The path of `member` seen from the resource: a lambda variable is replaced by its
/// collection's path; the variable alone (a string collection's element) has no path of its own.
fn resource_path(member: &MemberPath, scopes: &[(String, String)]) -> Option<String> {
    let first = member.segments.first()?;
    match scopes.iter().rev().find(|(var, _)| var == first) {
        Some((_, collection)) if member.segments.len() > 1 => {
            Some(format!("{collection}/{}", member.segments[1..].join("/")))
        }
        Some(_) => None,
        None => Some(member.to_string()),
    }
}

fn operand_path(expr: &Expr, scopes: &[(String, String)]) -> Option<String> {
    match &expr.kind {
        ExprKind::Member(m) => resource_path(m, scopes),
        _ => None,
    }
}

/// `scopes` maps lambda variables to their collection's resource path.
fn collect(expr: &Expr, scopes: &mut Vec<(String, String)>, out: &mut FilterFeatures) {
    match &expr.kind {
        ExprKind::Literal(_) => {}
        ExprKind::Member(m) => {
            if let Some(p) = resource_path(m, scopes) {
                push_unique(&mut out.properties, &p);
            }
        }
        ExprKind::Compare { op, left, right } => {
            push_unique(&mut out.operators, op.keyword());
            let path = operand_path(left, scopes).or_else(|| operand_path(right, scopes));
            push_pair(&mut out.comparisons, path, op.keyword());
            collect(left, scopes, out);
            collect(right, scopes, out);
        }
        ExprKind::In { operand, items } => {
            push_unique(&mut out.operators, "in");
            push_pair(&mut out.comparisons, operand_path(operand, scopes), "in");
            collect(operand, scopes, out);
            for item in items {
                collect(item, scopes, out);
            }
        }
        ExprKind::And(l, r) | ExprKind::Or(l, r) => {
            let op = if matches!(expr.kind, ExprKind::And(..)) {
                "and"
            } else {
                "or"
            };
            push_unique(&mut out.operators, op);
            collect(l, scopes, out);
            collect(r, scopes, out);
        }
        ExprKind::Not(inner) => {
            push_unique(&mut out.operators, "not");
            collect(inner, scopes, out);
        }
        ExprKind::Call { function, args } => {
            push_unique(&mut out.functions, function.name());
            let path = args.first().and_then(|a| operand_path(a, scopes));
            push_pair(&mut out.comparisons, path, function.name());
            for arg in args {
                collect(arg, scopes, out);
            }
        }
        ExprKind::Lambda(lambda) => {
            push_unique(&mut out.operators, lambda.kind.keyword());
            let collection = resource_path(&lambda.collection, scopes);
            if let Some(p) = &collection {
                push_unique(&mut out.properties, p);
            }
            push_pair(
                &mut out.comparisons,
                collection.clone(),
                lambda.kind.keyword(),
            );
            if let Some(body) = &lambda.body {
                scopes.push((body.variable.clone(), collection.unwrap_or_default()));
                collect(&body.predicate, scopes, out);
                scopes.pop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse_filter;
    use crate::limits::Limits;

    fn features_of(text: &str) -> FilterFeatures {
        features(&parse_filter(text, &Limits::default()).unwrap())
    }

    #[test]
    fn features_list_properties_functions_and_operators() {
        let f = features_of(
            "members/any(m: m/displayName eq 'X') and not endsWith(mail, 'x') or id ne 'a' and id in ('b')",
        );
        assert_eq!(
            f.properties,
            ["members", "members/displayName", "mail", "id"]
        );
        assert_eq!(f.functions, ["endswith"]);
        assert_eq!(f.operators, ["or", "and", "any", "eq", "not", "ne", "in"]);
        assert_eq!(
            f.comparisons,
            [
                ("members".to_string(), "any".to_string()),
                ("members/displayName".to_string(), "eq".to_string()),
                ("mail".to_string(), "endswith".to_string()),
                ("id".to_string(), "ne".to_string()),
                ("id".to_string(), "in".to_string()),
            ]
        );
        assert!(f.uses("EndsWith") && f.uses("NOT") && f.uses("any"));
        assert!(!f.uses("all") && !f.uses("startswith"));
        assert!(f.uses_property("MAIL") && !f.uses_property("displayName"));
    }

    #[test]
    fn features_of_string_collection_lambdas() {
        let f = features_of(
            "categories/all(c: c ne 'Red') and lastModifiedDateTime gt 2024-01-01T00:00:00Z",
        );
        assert_eq!(f.properties, ["categories", "lastModifiedDateTime"]);
        assert_eq!(
            f.comparisons[0],
            ("categories".to_string(), "all".to_string())
        );
        assert_eq!(
            f.comparisons[1],
            ("lastModifiedDateTime".to_string(), "gt".to_string())
        );
        // `c ne 'Red'` compares the element itself, which has no path of its own.
        assert_eq!(f.comparisons.len(), 2);
    }

    #[test]
    fn literals_print_as_odata() {
        let dt = |text: &str| match parse_filter(&format!("x eq {text}"), &Limits::default())
            .unwrap()
            .kind
        {
            ExprKind::Compare { right, .. } => right.to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(dt("2024-01-01T00:00Z"), "2024-01-01T00:00:00Z");
        assert_eq!(
            dt("2024-01-01T10:00:00.1200+05:30"),
            "2024-01-01T10:00:00.12+05:30"
        );
        assert_eq!(dt("2024-01-01T10:00:00-00:30"), "2024-01-01T10:00:00-00:30");
        assert_eq!(dt("0001-01-01"), "0001-01-01");
        assert_eq!(dt("1e300"), "1e300");
        assert_eq!(dt("2.0"), "2.0");
        assert_eq!(dt("'a''b'"), "'a''b'");
        assert_eq!(dt("a.b'c''d'"), "a.b'c''d'");
    }

    #[test]
    fn operators_flip_and_spell() {
        assert_eq!(CompareOp::Lt.flipped(), CompareOp::Gt);
        assert_eq!(CompareOp::Ge.flipped(), CompareOp::Le);
        assert_eq!(CompareOp::Eq.flipped(), CompareOp::Eq);
        assert_eq!(CompareOp::from_keyword("GE"), Some(CompareOp::Ge));
        assert_eq!(
            Function::from_name("StartsWith"),
            Some(Function::StartsWith)
        );
        assert_eq!(Function::from_name("substringof"), None);
    }
}
