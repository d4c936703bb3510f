//! The one error type of the crate: what went wrong with a query option, where, and in which one.

use std::fmt;

/// A query option that cannot be parsed, bound to a resource's catalogue, or compiled.
///
/// Every failure a client can cause is one of these; nothing in the crate panics on input.
/// The API layer turns it into Graph's `400 BadRequest` envelope, using [`fmt::Display`] as the
/// message: `Syntax error at position 12 in '$filter': expected ')' but found the end of the text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ODataError {
    /// What kind of mistake this is.
    pub kind: ErrorKind,
    /// A sentence a developer can act on. When the query option is known it leads, as
    /// `in '$filter': …` (see [`ODataError::in_option`]); the position is not repeated here.
    pub message: String,
    /// Byte offset in the option's (percent-decoded) value where the problem was found.
    ///
    /// For options nested in `$expand=…(…)` the offset counts from the start of the `$expand`
    /// value; for errors from [`crate::sql::compile_filter`] it counts from the start of the
    /// `$filter` text that was parsed into the expression.
    pub position: Option<usize>,
}

/// How [`ODataError::in_option`] introduces the option in the message.
const OPTION_PREFIX: &str = "in '";
const OPTION_SUFFIX: &str = "': ";

/// The kinds of [`ODataError`], so callers can choose a Graph error code without reading text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The text does not follow the grammar (unbalanced parentheses, a missing operand…).
    Syntax,
    /// A property name that the resource's catalogue does not have.
    UnknownProperty,
    /// A literal or operand of the wrong type for where it is used (`isRead eq 'yes'`).
    TypeMismatch,
    /// Valid OData that Switchboard (or Graph, for this resource) does not support.
    Unsupported,
    /// A configured limit (length, nesting depth, node count, `in` list size) was exceeded.
    LimitExceeded,
    /// A query option that is unknown, repeated, or has an invalid value (`$top=-1`).
    InvalidOption,
}

impl ErrorKind {
    fn label(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "Syntax error",
            ErrorKind::UnknownProperty => "Unknown property",
            ErrorKind::TypeMismatch => "Type mismatch",
            ErrorKind::Unsupported => "Unsupported query",
            ErrorKind::LimitExceeded => "Limit exceeded",
            ErrorKind::InvalidOption => "Invalid query option",
        }
    }
}

impl ODataError {
    /// An error with no position or option yet; see [`ODataError::at`] and
    /// [`ODataError::in_option`].
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ODataError {
            kind,
            message: message.into(),
            position: None,
        }
    }

    /// Shorthand for a [`ErrorKind::Syntax`] error at `position`.
    pub fn syntax(position: usize, message: impl Into<String>) -> Self {
        ODataError::new(ErrorKind::Syntax, message).at(position)
    }

    /// Sets the byte offset of the problem.
    pub fn at(mut self, position: usize) -> Self {
        self.position = Some(position);
        self
    }

    /// Names the query option the error belongs to, unless one is already named (the innermost
    /// caller knows best), by leading the message with `in '{option}': `.
    ///
    /// The option lives in the message rather than a field of its own so that the struct keeps
    /// the three fields other crates construct it with.
    pub fn in_option(mut self, option: &str) -> Self {
        if self.option().is_none() {
            self.message = format!("{OPTION_PREFIX}{option}{OPTION_SUFFIX}{}", self.message);
        }
        self
    }

    /// The query option named by [`ODataError::in_option`], if any.
    pub fn option(&self) -> Option<&str> {
        let rest = self.message.strip_prefix(OPTION_PREFIX)?;
        let (option, _) = rest.split_once(OPTION_SUFFIX)?;
        option.starts_with('$').then_some(option)
    }

    /// Moves the position by `offset` bytes, for errors found in a slice of a larger value.
    pub(crate) fn shifted(mut self, offset: usize) -> Self {
        self.position = self.position.map(|p| p.saturating_add(offset));
        self
    }
}

impl fmt::Display for ODataError {
    /// `Syntax error at position 12 in '$filter': expected ')' but found the end of the text`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.label())?;
        if let Some(position) = self.position {
            write!(f, " at position {position}")?;
        }
        // A message that names its option reads on from the position: "… at position 3 in '$x': …".
        let separator = if self.option().is_some() { " " } else { ": " };
        write!(f, "{separator}{}", self.message)
    }
}

impl std::error::Error for ODataError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_kind_position_and_option() {
        let e = ODataError::syntax(12, "expected ')'").in_option("$filter");
        assert_eq!(
            e.to_string(),
            "Syntax error at position 12 in '$filter': expected ')'"
        );
    }

    #[test]
    fn display_with_option_but_no_position() {
        let e = ODataError::new(ErrorKind::InvalidOption, "bad").in_option("$top");
        assert_eq!(e.to_string(), "Invalid query option in '$top': bad");
    }

    #[test]
    fn messages_that_merely_start_with_in_are_not_options() {
        let e = ODataError::new(ErrorKind::Syntax, "in 'x': y");
        assert_eq!(e.option(), None);
        assert_eq!(e.to_string(), "Syntax error: in 'x': y");
    }

    #[test]
    fn display_without_position_or_option() {
        let e = ODataError::new(
            ErrorKind::InvalidOption,
            "Query option '$foo' is not supported.",
        );
        assert_eq!(
            e.to_string(),
            "Invalid query option: Query option '$foo' is not supported."
        );
    }

    #[test]
    fn innermost_option_name_wins() {
        let e = ODataError::syntax(1, "x")
            .in_option("$filter")
            .in_option("$expand");
        assert_eq!(e.option(), Some("$filter"));
        assert_eq!(e.message, "in '$filter': x");
    }

    #[test]
    fn shifting_moves_the_position() {
        assert_eq!(ODataError::syntax(3, "x").shifted(10).position, Some(13));
        assert_eq!(
            ODataError::new(ErrorKind::Syntax, "x").shifted(10).position,
            None
        );
    }
}
