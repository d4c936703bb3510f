//! Graph's date-time formats. Instants are kept as UTC epoch milliseconds everywhere below the
//! HTTP layer; these functions write them the way each Graph workload does.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Whole seconds with `Z`, as the directory and Outlook write them: `2024-05-01T10:00:00Z`.
pub fn seconds(ms: i64) -> String {
    let t = at(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Milliseconds with trailing zeros trimmed and `Z`, as Teams writes them: `2021-03-29T04:17:43.15Z`.
pub fn millis(ms: i64) -> String {
    let base = seconds(ms);
    let frac = ms.rem_euclid(1000);
    if frac == 0 {
        return base;
    }
    let digits = format!("{frac:03}");
    let digits = digits.trim_end_matches('0');
    format!("{}.{}Z", &base[..base.len() - 1], digits)
}

/// `innerError.date`: UTC without `Z` and without fractions.
pub fn error_date(ms: i64) -> String {
    let s = seconds(ms);
    s[..s.len() - 1].to_string()
}

/// Parses an RFC 3339 date-time (any offset, any fraction) to epoch milliseconds.
pub fn parse(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let ms = 1_616_991_463_150;
        assert_eq!(seconds(ms), "2021-03-29T04:17:43Z");
        assert_eq!(millis(ms), "2021-03-29T04:17:43.15Z");
        assert_eq!(millis(1_616_991_463_000), "2021-03-29T04:17:43Z");
        assert_eq!(millis(1_616_991_463_001), "2021-03-29T04:17:43.001Z");
        assert_eq!(error_date(ms), "2021-03-29T04:17:43");
        assert_eq!(parse("2021-03-29T04:17:43.15Z"), Some(ms));
        assert_eq!(parse("2021-03-29T06:17:43.15+02:00"), Some(ms));
        assert_eq!(parse("yesterday"), None);
    }
}
