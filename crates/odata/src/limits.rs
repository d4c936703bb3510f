//! Resource limits on query options, so a hostile query costs bounded time, memory and stack.

/// Bounds applied while parsing. The parsers check them as they go, so an over-limit input is
/// rejected before it can build a large tree or recurse deeply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes in one option's percent-decoded value (default 4096).
    pub max_length: usize,
    /// Nesting depth of parentheses, `not`, lambdas, function arguments and nested `$expand`
    /// (default 32). This is also what keeps the recursive-descent parsers off the end of the
    /// stack.
    pub max_depth: usize,
    /// Expression nodes in one `$filter` or `$search`, and items in one list option (default 200).
    pub max_nodes: usize,
    /// Values in one `in (…)` list (default 100).
    pub max_in_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_length: 4096,
            max_depth: 32,
            max_nodes: 200,
            max_in_items: 100,
        }
    }
}
