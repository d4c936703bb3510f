//! The `$filter` parser: recursive descent over the lexer's tokens, one function per precedence
//! level, with the depth and node limits checked as it descends.
//!
//! ```text
//! or_expr    = and_expr *( "or" and_expr )
//! and_expr   = unary *( "and" unary )
//! unary      = "not" unary / comparison
//! comparison = primary [ cmp_op primary / "in" "(" literal *( "," literal ) ")" ]
//! primary    = literal / "(" or_expr ")" / function "(" or_expr *( "," or_expr ) ")"
//!            / path [ "/" ( "any" / "all" ) "(" [ name ":" or_expr ] ")" ]
//! ```
//!
//! `not` binds more loosely than comparisons (`not a eq b` is `not (a eq b)`, what people mean),
//! and comparisons do not chain (`a eq b eq c` is an error rather than a surprise). Keywords are
//! case-insensitive, as Graph accepts `NOT(…)` and `startsWith(…)`.

use crate::ast::{
    CompareOp, Expr, ExprKind, Function, Lambda, LambdaBody, LambdaKind, Literal, MemberPath, Span,
};
use crate::error::{ErrorKind, ODataError};
use crate::lexer::{Tok, Token, tokenize};
use crate::limits::Limits;

/// Parses a percent-decoded `$filter` value.
///
/// Spans and error positions are byte offsets in `text`.
pub fn parse_filter(text: &str, limits: &Limits) -> Result<Expr, ODataError> {
    if text.len() > limits.max_length {
        return Err(ODataError::new(
            ErrorKind::LimitExceeded,
            format!(
                "the filter is {} bytes long; the limit is {}",
                text.len(),
                limits.max_length
            ),
        )
        .at(limits.max_length));
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        last_end: 0,
        depth: 0,
        nodes: 0,
        limits,
    };
    if parser.peek().tok == Tok::End {
        return Err(ODataError::syntax(
            0,
            "expected an expression but the filter is empty",
        ));
    }
    let expr = parser.or_expr()?;
    let next = parser.peek();
    if next.tok != Tok::End {
        let hint = if next.tok == Tok::RParen {
            "an unmatched ')'"
        } else {
            "'and', 'or' or the end of the filter"
        };
        return Err(ODataError::syntax(
            next.span.start,
            format!("expected {hint} but found {}", next.tok.describe()),
        ));
    }
    Ok(expr)
}

/// Words that are operators wherever they stand, so never property names.
const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "eq", "ne", "gt", "ge", "lt", "le", "has", "add", "sub", "mul",
    "div", "divby", "mod",
];

static END: Token = Token {
    tok: Tok::End,
    span: Span { start: 0, end: 0 },
};

struct Parser<'l> {
    tokens: Vec<Token>,
    pos: usize,
    /// End of the last consumed token, for the spans of the nodes that end there.
    last_end: usize,
    depth: usize,
    nodes: usize,
    limits: &'l Limits,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The lexer always ends the list with `End` and `advance` never moves past it, so the
        // fallback is never used; it only spares an index that could panic.
        self.tokens.get(self.pos).unwrap_or(&END)
    }

    fn peek_second(&self) -> &Tok {
        self.tokens.get(self.pos + 1).map_or(&Tok::End, |t| &t.tok)
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::End {
            self.pos += 1;
        }
        self.last_end = token.span.end;
        token
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(name) if name.eq_ignore_ascii_case(keyword))
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<Token, ODataError> {
        if self.peek().tok == tok {
            Ok(self.advance())
        } else {
            let found = self.peek();
            Err(ODataError::syntax(
                found.span.start,
                format!("expected {what} but found {}", found.tok.describe()),
            ))
        }
    }

    /// Runs `f` one level deeper, refusing to go past `max_depth`: this is what keeps
    /// `((((…` and `not not not …` from exhausting the stack.
    fn nested<T>(
        &mut self,
        at: usize,
        f: impl FnOnce(&mut Self) -> Result<T, ODataError>,
    ) -> Result<T, ODataError> {
        if self.depth >= self.limits.max_depth {
            return Err(ODataError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "the filter is nested more than {} levels deep",
                    self.limits.max_depth
                ),
            )
            .at(at));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn node(&mut self, kind: ExprKind, span: Span) -> Result<Expr, ODataError> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(ODataError::new(
                ErrorKind::LimitExceeded,
                format!("the filter has more than {} terms", self.limits.max_nodes),
            )
            .at(span.start));
        }
        Ok(Expr { kind, span })
    }

    fn or_expr(&mut self) -> Result<Expr, ODataError> {
        let mut left = self.and_expr()?;
        while self.at_keyword("or") {
            self.advance();
            let right = self.and_expr()?;
            let span = left.span.to(right.span);
            left = self.node(ExprKind::Or(Box::new(left), Box::new(right)), span)?;
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, ODataError> {
        let mut left = self.unary()?;
        while self.at_keyword("and") {
            self.advance();
            let right = self.unary()?;
            let span = left.span.to(right.span);
            left = self.node(ExprKind::And(Box::new(left), Box::new(right)), span)?;
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ODataError> {
        if !self.at_keyword("not") {
            return self.comparison();
        }
        let start = self.advance().span.start;
        let operand = self.nested(start, |p| p.unary())?;
        let span = Span::new(start, operand.span.end);
        self.node(ExprKind::Not(Box::new(operand)), span)
    }

    fn comparison(&mut self) -> Result<Expr, ODataError> {
        let left = self.primary()?;
        let expr = if let Some(op) = self.compare_op() {
            self.advance();
            let right = self.primary()?;
            let span = left.span.to(right.span);
            self.node(
                ExprKind::Compare {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                span,
            )?
        } else if self.at_keyword("in") {
            self.advance();
            self.in_list(left)?
        } else {
            left
        };
        if self.compare_op().is_some() || self.at_keyword("in") {
            return Err(ODataError::syntax(
                self.peek().span.start,
                "comparisons cannot be chained; combine them with 'and' or 'or'",
            ));
        }
        if let Tok::Ident(word) = &self.peek().tok
            && ["add", "sub", "mul", "div", "divby", "mod", "has"]
                .iter()
                .any(|op| word.eq_ignore_ascii_case(op))
        {
            return Err(ODataError::new(
                ErrorKind::Unsupported,
                format!(
                    "the operator '{}' is not supported",
                    word.to_ascii_lowercase()
                ),
            )
            .at(self.peek().span.start));
        }
        Ok(expr)
    }

    fn compare_op(&self) -> Option<CompareOp> {
        match &self.peek().tok {
            Tok::Ident(word) => CompareOp::from_keyword(word),
            _ => None,
        }
    }

    /// `( literal, literal, … )` after `in`.
    fn in_list(&mut self, operand: Expr) -> Result<Expr, ODataError> {
        let open = self.expect(Tok::LParen, "'(' after 'in'")?;
        let mut items = Vec::new();
        loop {
            let item = self.primary()?;
            if !matches!(item.kind, ExprKind::Literal(_)) {
                return Err(ODataError::syntax(
                    item.span.start,
                    "an 'in' list may contain only literal values",
                ));
            }
            items.push(item);
            if items.len() > self.limits.max_in_items {
                return Err(ODataError::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "an 'in' list may hold at most {} values",
                        self.limits.max_in_items
                    ),
                )
                .at(open.span.start));
            }
            if self.peek().tok == Tok::Comma {
                self.advance();
            } else {
                break;
            }
        }
        self.expect(Tok::RParen, "',' or ')' in the 'in' list")?;
        let span = Span::new(operand.span.start, self.last_end);
        self.node(
            ExprKind::In {
                operand: Box::new(operand),
                items,
            },
            span,
        )
    }

    fn primary(&mut self) -> Result<Expr, ODataError> {
        let token = self.peek().clone();
        let start = token.span.start;
        let literal = match token.tok {
            Tok::Str(s) => Some(Literal::String(s)),
            Tok::Int(i) => Some(Literal::Int(i)),
            Tok::Decimal(d) => Some(Literal::Decimal(d)),
            Tok::DateTime(dt) => Some(Literal::DateTimeOffset(dt)),
            Tok::Date(d) => Some(Literal::Date(d)),
            Tok::Guid(g) => Some(Literal::Guid(g)),
            Tok::Typed { prefix, value } => {
                if !prefix.contains('.') {
                    return Err(ODataError::new(
                        ErrorKind::Unsupported,
                        format!("literals of type '{prefix}' are not supported; enum literals need a qualified type name such as microsoft.graph.chatType'group'"),
                    )
                    .at(start));
                }
                Some(Literal::Enum {
                    type_name: prefix,
                    member: value,
                })
            }
            Tok::Ident(ref word) if word.eq_ignore_ascii_case("null") => Some(Literal::Null),
            Tok::Ident(ref word) if word.eq_ignore_ascii_case("true") => {
                Some(Literal::Boolean(true))
            }
            Tok::Ident(ref word) if word.eq_ignore_ascii_case("false") => {
                Some(Literal::Boolean(false))
            }
            Tok::LParen => {
                self.advance();
                let mut inner = self.nested(start, |p| p.or_expr())?;
                self.expect(Tok::RParen, "')'")?;
                inner.span = Span::new(start, self.last_end);
                return Ok(inner);
            }
            Tok::Ident(word) => {
                if RESERVED.iter().any(|r| word.eq_ignore_ascii_case(r)) {
                    return Err(ODataError::syntax(
                        start,
                        format!("expected an operand but found the operator '{word}'"),
                    ));
                }
                if word.contains('.') {
                    return Err(ODataError::new(
                        ErrorKind::Unsupported,
                        format!("qualified names such as '{word}' (type casts) are not supported"),
                    )
                    .at(start));
                }
                return if *self.peek_second() == Tok::LParen {
                    self.call(word)
                } else {
                    self.member(word)
                };
            }
            other => {
                return Err(ODataError::syntax(
                    start,
                    format!(
                        "expected a property, literal or function but found {}",
                        other.describe()
                    ),
                ));
            }
        };
        self.advance();
        // Every arm that does not return above produced a literal.
        let literal = literal.unwrap_or(Literal::Null);
        self.node(ExprKind::Literal(literal), token.span)
    }

    fn call(&mut self, name: String) -> Result<Expr, ODataError> {
        let start = self.advance().span.start;
        let Some(function) = Function::from_name(&name) else {
            return Err(ODataError::new(
                ErrorKind::Unsupported,
                format!("the function '{name}' is not supported; supported functions are startswith, endswith and contains"),
            )
            .at(start));
        };
        self.advance(); // `(`
        let args = self.nested(start, |p| {
            let mut args = Vec::new();
            if p.peek().tok != Tok::RParen {
                loop {
                    args.push(p.or_expr()?);
                    if p.peek().tok != Tok::Comma {
                        break;
                    }
                    p.advance();
                }
            }
            Ok(args)
        })?;
        self.expect(Tok::RParen, "',' or ')' after a function argument")?;
        if args.len() != 2 {
            return Err(ODataError::syntax(
                start,
                format!(
                    "{}() takes 2 arguments but was given {}",
                    function.name(),
                    args.len()
                ),
            ));
        }
        let span = Span::new(start, self.last_end);
        self.node(ExprKind::Call { function, args }, span)
    }

    /// `a/b/c`, possibly ending in a lambda `a/b/any(x: …)`.
    fn member(&mut self, first: String) -> Result<Expr, ODataError> {
        let start = self.advance().span.start;
        let mut segments = vec![first];
        while self.peek().tok == Tok::Slash {
            self.advance();
            let token = self.advance();
            let segment = match token.tok {
                Tok::Ident(name) if !RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) => name,
                other => {
                    return Err(ODataError::syntax(
                        token.span.start,
                        format!(
                            "expected a property name after '/' but found {}",
                            other.describe()
                        ),
                    ));
                }
            };
            let lambda_kind = if segment.eq_ignore_ascii_case("any") {
                Some(LambdaKind::Any)
            } else if segment.eq_ignore_ascii_case("all") {
                Some(LambdaKind::All)
            } else {
                None
            };
            if let (Some(kind), Tok::LParen) = (lambda_kind, &self.peek().tok) {
                return self.lambda(MemberPath { segments }, kind, start, token.span.start);
            }
            segments.push(segment);
        }
        let span = Span::new(start, self.last_end);
        self.node(ExprKind::Member(MemberPath { segments }), span)
    }

    fn lambda(
        &mut self,
        collection: MemberPath,
        kind: LambdaKind,
        start: usize,
        keyword_at: usize,
    ) -> Result<Expr, ODataError> {
        self.advance(); // `(`
        let body = if self.peek().tok == Tok::RParen {
            if kind == LambdaKind::All {
                return Err(ODataError::syntax(
                    keyword_at,
                    "all() needs a predicate, e.g. all(x: x eq 'value')",
                ));
            }
            None
        } else {
            let token = self.advance();
            let Tok::Ident(variable) = token.tok else {
                return Err(ODataError::syntax(
                    token.span.start,
                    format!(
                        "expected a lambda variable name but found {}",
                        token.tok.describe()
                    ),
                ));
            };
            if RESERVED.iter().any(|r| variable.eq_ignore_ascii_case(r)) || variable.contains('.') {
                return Err(ODataError::syntax(
                    token.span.start,
                    format!("'{variable}' cannot be a lambda variable"),
                ));
            }
            self.expect(Tok::Colon, "':' after the lambda variable")?;
            let predicate = self.nested(keyword_at, |p| p.or_expr())?;
            Some(LambdaBody {
                variable,
                predicate: Box::new(predicate),
            })
        };
        self.expect(Tok::RParen, "')' to close the lambda")?;
        if self.peek().tok == Tok::Slash {
            return Err(ODataError::new(
                ErrorKind::Unsupported,
                "paths cannot continue after any() or all()",
            )
            .at(self.peek().span.start));
        }
        let span = Span::new(start, self.last_end);
        self.node(
            ExprKind::Lambda(Lambda {
                collection,
                kind,
                body,
            }),
            span,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Expr {
        parse_filter(text, &Limits::default()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn fail(text: &str) -> ODataError {
        match parse_filter(text, &Limits::default()) {
            Ok(expr) => panic!("{text} parsed as {expr:?}"),
            Err(e) => e,
        }
    }

    /// Parses and prints back, which shows the tree's shape compactly.
    fn shape(text: &str) -> String {
        parse(text).to_string()
    }

    #[test]
    fn comparisons_of_every_literal_kind() {
        assert_eq!(shape("isRead eq false"), "isRead eq false");
        assert_eq!(shape("size GT 10"), "size gt 10");
        assert_eq!(shape("score le -1.5"), "score le -1.5");
        assert_eq!(shape("subject ne 'it''s'"), "subject ne 'it''s'");
        assert_eq!(shape("x eq null"), "x eq null");
        assert_eq!(
            shape("receivedDateTime ge 2016-01-01T00:00:00Z"),
            "receivedDateTime ge 2016-01-01T00:00:00Z"
        );
        assert_eq!(
            shape("d lt 2024-01-01T10:00:00.250-05:30"),
            "d lt 2024-01-01T10:00:00.25-05:30"
        );
        assert_eq!(shape("day eq 2024-01-01"), "day eq 2024-01-01");
        assert_eq!(
            shape("id eq 1C5B0169-6D2E-4A17-9C29-2BC9CF04E63B"),
            "id eq 1c5b0169-6d2e-4a17-9c29-2bc9cf04e63b"
        );
        assert_eq!(
            shape("chatType eq microsoft.graph.chatType'group'"),
            "chatType eq microsoft.graph.chatType'group'"
        );
        assert_eq!(shape("'x' eq subject"), "'x' eq subject");
    }

    #[test]
    fn literal_values() {
        let Expr {
            kind: ExprKind::Compare { right, .. },
            ..
        } = parse("a eq 'it''s'")
        else {
            panic!()
        };
        assert_eq!(
            right.kind,
            ExprKind::Literal(Literal::String("it's".into()))
        );
        let Expr {
            kind: ExprKind::Compare { right, .. },
            ..
        } = parse("a eq microsoft.graph.chatType'oneOnOne'")
        else {
            panic!()
        };
        assert_eq!(
            right.kind,
            ExprKind::Literal(Literal::Enum {
                type_name: "microsoft.graph.chatType".into(),
                member: "oneOnOne".into()
            })
        );
    }

    #[test]
    fn member_paths() {
        let Expr {
            kind: ExprKind::Compare { left, .. },
            ..
        } = parse("from/emailAddress/address eq 'a@b.c'")
        else {
            panic!()
        };
        assert_eq!(
            left.kind,
            ExprKind::Member(MemberPath::new(["from", "emailAddress", "address"]))
        );
        assert_eq!(left.span, Span::new(0, 25));
    }

    #[test]
    fn precedence_and_associativity() {
        let e = parse("a eq 1 or b eq 2 and c eq 3");
        let ExprKind::Or(_, right) = e.kind else {
            panic!("{e:?}")
        };
        assert!(matches!(right.kind, ExprKind::And(..)));

        let e = parse("a eq 1 and b eq 2 and c eq 3");
        let ExprKind::And(left, _) = e.kind else {
            panic!()
        };
        assert!(
            matches!(left.kind, ExprKind::And(..)),
            "and is left-associative"
        );

        // `not` takes the whole comparison but not the `and`.
        let e = parse("not a eq 1 and b eq 2");
        let ExprKind::And(left, _) = e.kind else {
            panic!()
        };
        let ExprKind::Not(inner) = left.kind else {
            panic!()
        };
        assert!(matches!(inner.kind, ExprKind::Compare { .. }));

        assert_eq!(
            shape("(a eq 1 or b eq 2) and c eq 3"),
            "(a eq 1 or b eq 2) and c eq 3"
        );
        assert_eq!(
            shape("a eq 1 and (b eq 2 and c eq 3)"),
            "a eq 1 and (b eq 2 and c eq 3)"
        );
        assert_eq!(shape("NOT (a eq 1 or b eq 2)"), "not (a eq 1 or b eq 2)");
        assert_eq!(shape("not not isRead"), "not not isRead");
        assert_eq!(shape("((a eq 1))"), "a eq 1");
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert_eq!(
            shape("a EQ 1 AND b Ne 2 OR Not c"),
            "a eq 1 and b ne 2 or not c"
        );
        assert_eq!(shape("x eq TRUE or y eq Null"), "x eq true or y eq null");
    }

    #[test]
    fn in_lists() {
        assert_eq!(
            shape("mail in ('a@x.com', 'b@x.com')"),
            "mail in ('a@x.com', 'b@x.com')"
        );
        assert_eq!(shape("n in (1)"), "n in (1)");
        assert!(
            fail("n in ()")
                .message
                .contains("expected a property, literal")
        );
        assert!(fail("n in (a)").message.contains("only literal"));
        assert!(fail("n in 1").message.contains("'(' after 'in'"));
        let e = fail("n in (1, 2");
        assert_eq!(e.position, Some(10));
    }

    #[test]
    fn in_list_limit() {
        let limits = Limits {
            max_in_items: 3,
            ..Limits::default()
        };
        assert!(parse_filter("n in (1,2,3)", &limits).is_ok());
        let e = parse_filter("n in (1,2,3,4)", &limits).unwrap_err();
        assert_eq!((e.kind, e.position), (ErrorKind::LimitExceeded, Some(5)));
    }

    #[test]
    fn functions() {
        assert_eq!(
            shape("startsWith(displayName,'a')"),
            "startswith(displayName, 'a')"
        );
        assert_eq!(shape("ENDSWITH(mail,'@x.com')"), "endswith(mail, '@x.com')");
        assert_eq!(
            shape("contains(subject, 'x') eq true"),
            "contains(subject, 'x') eq true"
        );
        assert_eq!(shape("not startswith(a, 'b')"), "not startswith(a, 'b')");
        let e = fail("tolower(a) eq 'b'");
        assert_eq!((e.kind, e.position), (ErrorKind::Unsupported, Some(0)));
        let e = fail("startswith(a)");
        assert!(
            e.message.contains("takes 2 arguments but was given 1"),
            "{e}"
        );
        assert!(fail("contains(a,'b','c')").message.contains("given 3"));
    }

    #[test]
    fn lambdas() {
        assert_eq!(
            shape("categories/any(a:a eq 'Red')"),
            "categories/any(a: a eq 'Red')"
        );
        assert_eq!(
            shape("members/ANY(m: m/displayName eq 'X' and m/roles/all(r: r ne 'guest'))"),
            "members/any(m: m/displayName eq 'X' and m/roles/all(r: r ne 'guest'))"
        );
        assert_eq!(shape("members/any()"), "members/any()");
        assert_eq!(
            shape("not(groupTypes/any(c:c eq 'Unified'))"),
            "not groupTypes/any(c: c eq 'Unified')"
        );
        assert!(
            fail("members/all()")
                .message
                .contains("all() needs a predicate")
        );
        assert!(fail("members/any(m m eq 1)").message.contains("':'"));
        assert!(
            fail("members/any('x': true)")
                .message
                .contains("lambda variable")
        );
        assert_eq!(fail("members/any(m: true)/x").kind, ErrorKind::Unsupported);
    }

    #[test]
    fn syntax_errors_carry_positions() {
        let e = fail("(a eq 1");
        assert_eq!((e.kind, e.position), (ErrorKind::Syntax, Some(7)));
        assert_eq!(e.message, "expected ')' but found the end of the text");

        let e = fail("a eq 1)");
        assert_eq!(e.position, Some(6));
        assert!(e.message.contains("unmatched ')'"));

        let e = fail("a eq");
        assert_eq!(e.position, Some(4));
        let e = fail("a eq 1 b eq 2");
        assert_eq!(e.position, Some(7));
        let e = fail("a eq b eq c");
        assert!(e.message.contains("cannot be chained"));
        let e = fail("a eq and");
        assert!(e.message.contains("operator 'and'"));
        assert_eq!(fail("").position, Some(0));
        assert_eq!(fail("   ").kind, ErrorKind::Syntax);
        assert_eq!(fail("a/ eq 1").position, Some(3));
        assert_eq!(fail("a add 1 eq 2").kind, ErrorKind::Unsupported);
        assert_eq!(fail("a eq duration'P1D'").kind, ErrorKind::Unsupported);
        assert_eq!(
            fail("microsoft.graph.user/x eq 1").kind,
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        for text in [
            format!("{}a eq 1{}", "(".repeat(10_000), ")".repeat(10_000)),
            format!("{}a eq 1", "not ".repeat(10_000)),
            format!("{}a eq 1", "(".repeat(10_000)),
            "startswith(".repeat(10_000),
            "a/any(x:".repeat(10_000),
        ] {
            let limits = Limits {
                max_length: usize::MAX,
                ..Limits::default()
            };
            let e = parse_filter(&text, &limits).unwrap_err();
            assert_eq!(e.kind, ErrorKind::LimitExceeded, "{e}");
        }
        let limits = Limits::default();
        let ok = format!(
            "{}a eq 1{}",
            "(".repeat(limits.max_depth),
            ")".repeat(limits.max_depth)
        );
        assert!(parse_filter(&ok, &limits).is_ok());
        let too_deep = format!(
            "{}a eq 1{}",
            "(".repeat(limits.max_depth + 1),
            ")".repeat(limits.max_depth + 1)
        );
        let e = parse_filter(&too_deep, &limits).unwrap_err();
        assert_eq!(
            (e.kind, e.position),
            (ErrorKind::LimitExceeded, Some(limits.max_depth))
        );
    }

    #[test]
    fn long_flat_chains_hit_the_node_limit() {
        let text = vec!["a eq 1"; 500].join(" or ");
        let limits = Limits {
            max_length: usize::MAX,
            ..Limits::default()
        };
        let e = parse_filter(&text, &limits).unwrap_err();
        assert_eq!(e.kind, ErrorKind::LimitExceeded);
        assert!(e.message.contains("more than 200 terms"));
    }

    #[test]
    fn oversize_text_is_refused_before_parsing() {
        let text = format!("a eq '{}'", "x".repeat(5000));
        let e = parse_filter(&text, &Limits::default()).unwrap_err();
        assert_eq!((e.kind, e.position), (ErrorKind::LimitExceeded, Some(4096)));
    }

    #[test]
    fn spans_cover_the_source() {
        let e = parse("not (a eq 'x')");
        assert_eq!(e.span, Span::new(0, 14));
        let ExprKind::Not(inner) = e.kind else {
            panic!()
        };
        assert_eq!(inner.span, Span::new(4, 14));
        let e = parse("members/any(m: m/x eq 1)");
        assert_eq!(e.span, Span::new(0, 24));
    }
}
