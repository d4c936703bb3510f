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
    let mut out = String::with_capacity(24);
    push_seconds(&mut out, ms);
    out.push('Z');
    out
}

/// Milliseconds with trailing zeros trimmed and `Z`, as Teams writes them: `2021-03-29T04:17:43.15Z`.
pub fn millis(ms: i64) -> String {
    let mut out = String::with_capacity(24);
    push_seconds(&mut out, ms);
    let frac = ms.rem_euclid(1000) as u32;
    if frac != 0 {
        out.push('.');
        let (mut digits, mut value) = (3, frac);
        while value % 10 == 0 {
            value /= 10;
            digits -= 1;
        }
        push_padded(&mut out, value, digits);
    }
    out.push('Z');
    out
}

/// `YYYY-MM-DDTHH:MM:SS` of `ms`, written digit by digit: a listed chat message carries two to
/// four of these, and `format!` made them a visible share of a list page's CPU.
fn push_seconds(out: &mut String, ms: i64) {
    let t = at(ms);
    let year = t.year();
    if !(0..=9999).contains(&year) {
        out.push_str(&format!("{year:04}"));
    } else {
        push_padded(out, year as u32, 4);
    }
    for (sep, value) in [
        ('-', u8::from(t.month())),
        ('-', t.day()),
        ('T', t.hour()),
        (':', t.minute()),
        (':', t.second()),
    ] {
        out.push(sep);
        push_padded(out, u32::from(value), 2);
    }
}

/// `value` in decimal, zero-padded to `width` digits (`value` has at most `width` digits).
fn push_padded(out: &mut String, value: u32, width: usize) {
    let mut digits = [b'0'; 4];
    let mut rest = value;
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend(digits[..width].iter().map(|&d| char::from(d)));
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

    /// The digit-by-digit writers give exactly what the `format!` versions they replaced gave.
    #[test]
    fn matches_the_formatted_versions() {
        fn seconds_formatted(ms: i64) -> String {
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
        fn millis_formatted(ms: i64) -> String {
            let base = seconds_formatted(ms);
            let frac = ms.rem_euclid(1000);
            if frac == 0 {
                return base;
            }
            let digits = format!("{frac:03}");
            let digits = digits.trim_end_matches('0');
            format!("{}.{}Z", &base[..base.len() - 1], digits)
        }
        let mut samples = vec![
            0,
            -1,
            999,
            1_000,
            -62_135_596_800_000,
            -62_135_596_800_001,
            253_402_300_799_999,
            i64::MAX,
            i64::MIN,
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push((x % 4_102_444_800_000) as i64 - 100_000_000_000);
            samples.push(1_700_000_000_000 + (x % 1_000) as i64 * 10);
        }
        for ms in samples {
            assert_eq!(seconds(ms), seconds_formatted(ms), "{ms}");
            assert_eq!(millis(ms), millis_formatted(ms), "{ms}");
        }
    }
}
