//! The `$filter` lexer: turns the decoded option text into tokens with byte spans, and owns the
//! spelling of OData literals (strings with `''`, numbers, unquoted dates, date-times and GUIDs).
//!
//! Keywords (`and`, `eq`, `true`, `any`…) come out as identifiers: whether `not` is an operator
//! or a property name depends on where it stands, which only the parser knows.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::ast::Span;
use crate::error::ODataError;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A name: letters, digits and `_`, possibly dotted (`microsoft.graph.chatType`).
    Ident(String),
    /// `'text'`, unescaped.
    Str(String),
    /// A name directly followed by a quoted string: `microsoft.graph.chatType'group'`.
    Typed {
        prefix: String,
        value: String,
    },
    Int(i64),
    Decimal(f64),
    DateTime(OffsetDateTime),
    Date(Date),
    /// Lowercase.
    Guid(String),
    LParen,
    RParen,
    Comma,
    Colon,
    Slash,
    /// End of input; always the last token.
    End,
}

impl Tok {
    /// How the token is named in "expected X but found Y" messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(name) => format!("'{name}'"),
            Tok::Str(_) => "a string literal".to_string(),
            Tok::Typed { .. } => "an enum literal".to_string(),
            Tok::Int(_) | Tok::Decimal(_) => "a number".to_string(),
            Tok::DateTime(_) => "a DateTimeOffset literal".to_string(),
            Tok::Date(_) => "a Date literal".to_string(),
            Tok::Guid(_) => "a GUID literal".to_string(),
            Tok::LParen => "'('".to_string(),
            Tok::RParen => "')'".to_string(),
            Tok::Comma => "','".to_string(),
            Tok::Colon => "':'".to_string(),
            Tok::Slash => "'/'".to_string(),
            Tok::End => "the end of the text".to_string(),
        }
    }
}

/// A token and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Splits `src` into tokens, ending with [`Tok::End`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ODataError> {
    let mut lexer = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
    };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let done = token.tok == Tok::End;
        tokens.push(token);
        if done {
            return Ok(tokens);
        }
    }
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'a> Lexer<'a> {
    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    /// The text between two byte offsets that the lexer found at ASCII bytes, so they are on
    /// character boundaries; `get` keeps even a mistake there from panicking.
    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.src.get(start..end).unwrap_or("")
    }

    fn next_token(&mut self) -> Result<Token, ODataError> {
        while matches!(self.peek_at(0), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(b) = self.peek_at(0) else {
            return Ok(Token {
                tok: Tok::End,
                span: Span::new(start, start),
            });
        };
        let punct = match b {
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            b'/' => Some(Tok::Slash),
            _ => None,
        };
        let tok = if let Some(tok) = punct {
            self.pos += 1;
            tok
        } else if b == b'\'' {
            Tok::Str(self.string()?)
        } else if let Some(guid) = self.guid() {
            guid
        } else if b.is_ascii_digit()
            || (b == b'-' && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()))
        {
            match self.date_or_time()? {
                Some(tok) => tok,
                None => self.number()?,
            }
        } else if is_ident_start(b) {
            self.ident()?
        } else {
            let c = self
                .src
                .get(start..)
                .and_then(|s| s.chars().next())
                .unwrap_or('?');
            return Err(ODataError::syntax(
                start,
                format!("unexpected character '{c}'"),
            ));
        };
        Ok(Token {
            tok,
            span: Span::new(start, self.pos),
        })
    }

    /// `'…'` with `''` standing for one quote.
    fn string(&mut self) -> Result<String, ODataError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chunk_start = self.pos;
        loop {
            match self.peek_at(0) {
                None => return Err(ODataError::syntax(start, "unterminated string literal")),
                Some(b'\'') if self.peek_at(1) == Some(b'\'') => {
                    out.push_str(self.slice(chunk_start, self.pos));
                    out.push('\'');
                    self.pos += 2;
                    chunk_start = self.pos;
                }
                Some(b'\'') => {
                    out.push_str(self.slice(chunk_start, self.pos));
                    self.pos += 1;
                    return Ok(out);
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// An unquoted GUID, `8-4-4-4-12` hex digits, not followed by more name characters.
    fn guid(&mut self) -> Option<Tok> {
        const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
        let mut at = self.pos;
        for (i, len) in GROUPS.iter().enumerate() {
            if i > 0 {
                if self.bytes.get(at) != Some(&b'-') {
                    return None;
                }
                at += 1;
            }
            let group = self.bytes.get(at..at + len)?;
            if !group.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            at += len;
        }
        if self
            .bytes
            .get(at)
            .is_some_and(|&b| is_ident_byte(b) || b == b'-' || b == b'.')
        {
            return None;
        }
        let text = self.slice(self.pos, at).to_ascii_lowercase();
        self.pos = at;
        Some(Tok::Guid(text))
    }

    /// Reads `n` ASCII digits at `at` as a number.
    fn digits(&self, at: usize, n: usize) -> Option<u32> {
        let group = self.bytes.get(at..at + n)?;
        if !group.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            group
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')),
        )
    }

    /// `YYYY-MM-DD`, optionally followed by `Thh:mm[:ss[.fffffff]]` and `Z` or `±hh:mm`.
    /// `Ok(None)` when the text does not start like a date, so it is lexed as a number.
    fn date_or_time(&mut self) -> Result<Option<Tok>, ODataError> {
        let start = self.pos;
        let (Some(year), Some(month), Some(day)) = (
            self.digits(start, 4),
            self.digits(start + 5, 2),
            self.digits(start + 8, 2),
        ) else {
            return Ok(None);
        };
        if self.bytes.get(start + 4) != Some(&b'-') || self.bytes.get(start + 7) != Some(&b'-') {
            return Ok(None);
        }
        let invalid = |what: &str| ODataError::syntax(start, format!("invalid {what} literal"));
        let date = Month::try_from(month as u8)
            .ok()
            .and_then(|m| Date::from_calendar_date(year as i32, m, day as u8).ok())
            .ok_or_else(|| invalid("Date"))?;
        self.pos = start + 10;
        if !matches!(self.peek_at(0), Some(b'T' | b't')) {
            self.expect_literal_end(start, "Date")?;
            return Ok(Some(Tok::Date(date)));
        }
        let at = self.pos + 1;
        let (Some(hour), Some(minute)) = (self.digits(at, 2), self.digits(at + 3, 2)) else {
            return Err(invalid("DateTimeOffset"));
        };
        if self.bytes.get(at + 2) != Some(&b':') {
            return Err(invalid("DateTimeOffset"));
        }
        self.pos = at + 5;
        let mut second = 0;
        let mut nanos = 0;
        if self.peek_at(0) == Some(b':') {
            second = self
                .digits(self.pos + 1, 2)
                .ok_or_else(|| invalid("DateTimeOffset"))?;
            self.pos += 3;
            if self.peek_at(0) == Some(b'.') {
                self.pos += 1;
                let frac_start = self.pos;
                while self.peek_at(0).is_some_and(|b| b.is_ascii_digit()) {
                    self.pos += 1;
                }
                let frac = self.slice(frac_start, self.pos);
                if frac.is_empty() {
                    return Err(invalid("DateTimeOffset"));
                }
                // Nanoseconds are the finest the value holds; further digits are dropped.
                let padded = format!("{:0<9}", &frac[..frac.len().min(9)]);
                nanos = padded.parse().map_err(|_| invalid("DateTimeOffset"))?;
            }
        }
        let offset = match self.peek_at(0) {
            Some(b'Z' | b'z') => {
                self.pos += 1;
                UtcOffset::UTC
            }
            Some(sign @ (b'+' | b'-')) => {
                let (Some(oh), Some(om)) =
                    (self.digits(self.pos + 1, 2), self.digits(self.pos + 4, 2))
                else {
                    return Err(invalid("DateTimeOffset"));
                };
                if self.bytes.get(self.pos + 3) != Some(&b':') {
                    return Err(invalid("DateTimeOffset"));
                }
                self.pos += 6;
                let (oh, om) = (oh as i8, om as i8);
                let (oh, om) = if sign == b'-' { (-oh, -om) } else { (oh, om) };
                UtcOffset::from_hms(oh, om, 0).map_err(|_| invalid("DateTimeOffset"))?
            }
            _ => {
                return Err(ODataError::syntax(
                    self.pos,
                    "a DateTimeOffset literal needs a time zone: 'Z' or an offset such as '+02:00' (in a URL, write '+' as %2B)",
                ));
            }
        };
        let time = Time::from_hms_nano(hour as u8, minute as u8, second as u8, nanos)
            .map_err(|_| invalid("DateTimeOffset"))?;
        self.expect_literal_end(start, "DateTimeOffset")?;
        Ok(Some(Tok::DateTime(
            PrimitiveDateTime::new(date, time).assume_offset(offset),
        )))
    }

    /// A literal must not run straight into a name or another number (`2024-01-01x`).
    fn expect_literal_end(&self, start: usize, what: &str) -> Result<(), ODataError> {
        if self
            .peek_at(0)
            .is_some_and(|b| is_ident_byte(b) || b == b'.' || b == b'-' || b == b':')
        {
            return Err(ODataError::syntax(start, format!("invalid {what} literal")));
        }
        Ok(())
    }

    /// `-?digits[.digits][e[+-]digits]`: an `Int` when it has neither fraction nor exponent.
    fn number(&mut self) -> Result<Tok, ODataError> {
        let start = self.pos;
        if self.peek_at(0) == Some(b'-') {
            self.pos += 1;
        }
        let eat_digits = |lx: &mut Self| {
            let from = lx.pos;
            while lx.peek_at(0).is_some_and(|b| b.is_ascii_digit()) {
                lx.pos += 1;
            }
            lx.pos > from
        };
        eat_digits(self);
        let mut integral = true;
        if self.peek_at(0) == Some(b'.') {
            integral = false;
            self.pos += 1;
            if !eat_digits(self) {
                return Err(ODataError::syntax(
                    start,
                    "invalid number: expected digits after '.'",
                ));
            }
        }
        if matches!(self.peek_at(0), Some(b'e' | b'E')) {
            integral = false;
            self.pos += 1;
            if matches!(self.peek_at(0), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !eat_digits(self) {
                return Err(ODataError::syntax(
                    start,
                    "invalid number: expected digits in the exponent",
                ));
            }
        }
        self.expect_literal_end(start, "number")?;
        let text = self.slice(start, self.pos);
        if integral {
            text.parse()
                .map(Tok::Int)
                .map_err(|_| ODataError::syntax(start, "integer literal out of range for Int64"))
        } else {
            match text.parse::<f64>() {
                Ok(d) if d.is_finite() => Ok(Tok::Decimal(d)),
                _ => Err(ODataError::syntax(start, "number literal out of range")),
            }
        }
    }

    /// A name, dotted segments included; directly followed by `'`, a typed literal.
    fn ident(&mut self) -> Result<Tok, ODataError> {
        let start = self.pos;
        loop {
            while self.peek_at(0).is_some_and(is_ident_byte) {
                self.pos += 1;
            }
            if self.peek_at(0) == Some(b'.') && self.peek_at(1).is_some_and(is_ident_start) {
                self.pos += 1;
            } else {
                break;
            }
        }
        let name = self.slice(start, self.pos).to_string();
        if self.peek_at(0) == Some(b'\'') {
            let value = self.string()?;
            return Ok(Tok::Typed {
                prefix: name,
                value,
            });
        }
        Ok(Tok::Ident(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn err(src: &str) -> ODataError {
        tokenize(src).unwrap_err()
    }

    #[test]
    fn punctuation_names_and_spans() {
        let tokens = tokenize("a/b eq (c,d:e)").unwrap();
        let spans: Vec<_> = tokens.iter().map(|t| (t.span.start, t.span.end)).collect();
        assert_eq!(
            spans,
            [
                (0, 1),
                (1, 2),
                (2, 3),
                (4, 6),
                (7, 8),
                (8, 9),
                (9, 10),
                (10, 11),
                (11, 12),
                (12, 13),
                (13, 14),
                (14, 14)
            ]
        );
    }

    #[test]
    fn strings_unescape_doubled_quotes() {
        assert_eq!(toks("'it''s'"), [Tok::Str("it's".into()), Tok::End]);
        assert_eq!(toks("''''"), [Tok::Str("'".into()), Tok::End]);
        assert_eq!(toks("'é ü'"), [Tok::Str("é ü".into()), Tok::End]);
    }

    #[test]
    fn unterminated_string_points_at_its_start() {
        let e = err("x eq 'abc");
        assert_eq!((e.kind, e.position), (ErrorKind::Syntax, Some(5)));
        assert!(e.message.contains("unterminated"));
    }

    #[test]
    fn numbers() {
        assert_eq!(
            toks("42 -7 1.5 -2e3 1E-2"),
            [
                Tok::Int(42),
                Tok::Int(-7),
                Tok::Decimal(1.5),
                Tok::Decimal(-2000.0),
                Tok::Decimal(0.01),
                Tok::End
            ]
        );
        assert_eq!(toks("-9223372036854775808"), [Tok::Int(i64::MIN), Tok::End]);
    }

    #[test]
    fn bad_numbers() {
        assert!(err("9223372036854775808").message.contains("out of range"));
        assert!(err("1e999").message.contains("out of range"));
        assert!(err("1.").message.contains("digits"));
        assert!(err("12abc").message.contains("invalid number"));
    }

    #[test]
    fn dates_and_date_times() {
        let [Tok::Date(d), Tok::End] = &toks("2024-02-29")[..] else {
            panic!()
        };
        assert_eq!((d.year(), u8::from(d.month()), d.day()), (2024, 2, 29));
        let [Tok::DateTime(dt), Tok::End] = &toks("2024-01-01T10:20:30.1234567+02:00")[..] else {
            panic!()
        };
        assert_eq!(dt.unix_timestamp(), 1_704_097_230);
        assert_eq!(dt.nanosecond(), 123_456_700);
        let [Tok::DateTime(dt), Tok::End] = &toks("2024-01-01T00:00Z")[..] else {
            panic!()
        };
        assert_eq!(dt.unix_timestamp(), 1_704_067_200);
    }

    #[test]
    fn bad_dates() {
        assert!(err("2024-02-30").message.contains("invalid Date"));
        assert!(
            err("2024-01-01T25:00:00Z")
                .message
                .contains("invalid DateTimeOffset")
        );
        assert!(err("2024-01-01T10:00:00").message.contains("time zone"));
        assert!(
            err("2024-01-01T10")
                .message
                .contains("invalid DateTimeOffset")
        );
    }

    #[test]
    fn guids_are_lowercased() {
        assert_eq!(
            toks("1C5B0169-6D2E-4A17-9C29-2BC9CF04E63B"),
            [
                Tok::Guid("1c5b0169-6d2e-4a17-9c29-2bc9cf04e63b".into()),
                Tok::End
            ]
        );
        assert_eq!(
            toks("deadbeef-0000-0000-0000-000000000000")[0],
            Tok::Guid("deadbeef-0000-0000-0000-000000000000".into())
        );
        // Not a GUID: a name that happens to be hex.
        assert_eq!(toks("deadbeef")[0], Tok::Ident("deadbeef".into()));
    }

    #[test]
    fn typed_literals() {
        assert_eq!(
            toks("microsoft.graph.chatType'group'")[0],
            Tok::Typed {
                prefix: "microsoft.graph.chatType".into(),
                value: "group".into()
            }
        );
    }

    #[test]
    fn unexpected_characters_are_named() {
        let e = err("a eq @x");
        assert_eq!(e.position, Some(5));
        assert!(e.message.contains("'@'"));
        assert!(err("a eq é").message.contains("'é'"));
    }
}
