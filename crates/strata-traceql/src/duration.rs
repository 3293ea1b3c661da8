//! Duration literals: parsing (`1h30m`, `1.5s`, `3d`, `250µs`) and canonical printing.
//!
//! A duration literal is accepted if it matches either of two syntaxes (tried in order):
//! * Prometheus style: integer amounts with units `y w d h m s ms`, biggest unit first, each
//!   unit at most once (`1y2w`, `3d12h`, `5m30s`, `250ms`);
//! * Go style: decimal amounts (fractions allowed) with units `h m s ms us µs μs ns` in any
//!   order (`1.5h`, `1h30m`, `10us`, `3m2h`).
//!
//! The printed form uses only `h m s ms us ns`, biggest first, and parses back to the same
//! number of nanoseconds under both syntaxes.

const NS: u64 = 1;
const US: u64 = 1_000;
const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;

/// Largest magnitude a non-negative duration may have: `i64::MAX` nanoseconds.
const LIMIT: u64 = i64::MAX as u64;

/// Parses a duration literal (no sign) into nanoseconds.
pub(crate) fn parse(text: &str) -> Option<i64> {
    parse_prometheus(text)
        .or_else(|| parse_go(text))
        .and_then(|ns| i64::try_from(ns).ok())
}

fn split_number(s: &str, allow_fraction: bool) -> (&str, &str) {
    let end = s
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || (allow_fraction && c == '.')))
        .map_or(s.len(), |(i, _)| i);
    s.split_at(end)
}

fn parse_prometheus(text: &str) -> Option<u64> {
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * DAY),
        ("w", 7 * DAY),
        ("d", DAY),
        ("h", HOUR),
        ("m", MIN),
        ("s", SEC),
        ("ms", MS),
    ];
    if text == "0" {
        return Some(0);
    }
    if text.is_empty() {
        return None;
    }
    let mut rest = text;
    let mut next_unit = 0;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (digits, after) = split_number(rest, false);
        if digits.is_empty() {
            return None;
        }
        let amount: u64 = digits.parse().ok()?;
        let unit_end = after
            .char_indices()
            .find(|&(_, c)| c.is_ascii_digit())
            .map_or(after.len(), |(i, _)| i);
        let (unit, tail) = after.split_at(unit_end);
        let index = UNITS.iter().position(|(name, _)| *name == unit)?;
        if index < next_unit {
            return None;
        }
        next_unit = index + 1;
        total = amount
            .checked_mul(UNITS[index].1)
            .and_then(|v| total.checked_add(v))
            .filter(|&v| v <= LIMIT)?;
        rest = tail;
    }
    Some(total)
}

fn parse_go(text: &str) -> Option<u64> {
    if text == "0" {
        return Some(0);
    }
    if text.is_empty() {
        return None;
    }
    let mut rest = text;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (number, after) = split_number(rest, true);
        let (whole, fraction) = match number.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (number, None),
        };
        if whole.is_empty() && fraction.is_none_or(str::is_empty) {
            return None;
        }
        if fraction.is_some_and(|f| f.contains('.')) {
            return None;
        }
        let unit_end = after
            .char_indices()
            .find(|&(_, c)| c == '.' || c.is_ascii_digit())
            .map_or(after.len(), |(i, _)| i);
        let (unit, tail) = after.split_at(unit_end);
        let scale = match unit {
            "ns" => NS,
            "us" | "\u{b5}s" | "\u{3bc}s" => US,
            "ms" => MS,
            "s" => SEC,
            "m" => MIN,
            "h" => HOUR,
            _ => return None,
        };
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut value = whole.checked_mul(scale)?;
        if let Some(fraction) = fraction {
            // Digits beyond what fits are ignored, as Go does.
            let mut numerator: u64 = 0;
            let mut denominator: f64 = 1.0;
            for digit in fraction.bytes() {
                let Some(n) = numerator
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(digit - b'0')))
                else {
                    break;
                };
                numerator = n;
                denominator *= 10.0;
            }
            // Truncation towards zero is the intended rounding here.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let extra = (numerator as f64 * (scale as f64 / denominator)) as u64;
            value = value.checked_add(extra)?;
        }
        total = total.checked_add(value).filter(|&v| v <= LIMIT)?;
        rest = tail;
    }
    Some(total)
}

/// Canonical text for a duration in nanoseconds, e.g. `1h30m`, `1s500ms`, `-2us`, `0s`.
pub(crate) fn format(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if ns < 0 {
        out.push('-');
    }
    let mut rest = ns.unsigned_abs();
    for (unit, size) in [
        ("h", HOUR),
        ("m", MIN),
        ("s", SEC),
        ("ms", MS),
        ("us", US),
        ("ns", NS),
    ] {
        let amount = rest / size;
        if amount > 0 {
            out.push_str(&amount.to_string());
            out.push_str(unit);
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_syntaxes() {
        assert_eq!(parse("1s"), Some(1_000_000_000));
        assert_eq!(parse("1h30m"), Some(90 * 60 * 1_000_000_000));
        assert_eq!(parse("3d"), Some(3 * 24 * 3600 * 1_000_000_000));
        assert_eq!(parse("1y"), Some(365 * 24 * 3600 * 1_000_000_000));
        assert_eq!(parse("1.5s"), Some(1_500_000_000));
        assert_eq!(parse("10\u{b5}s"), Some(10_000));
        assert_eq!(parse("10us"), Some(10_000));
        assert_eq!(parse("7ns"), Some(7));
        assert_eq!(parse("1m1h"), Some(61 * 60 * 1_000_000_000));
        assert_eq!(parse("250ms"), Some(250_000_000));
        assert_eq!(parse("0"), Some(0));
        assert_eq!(parse("1.5d"), None);
        assert_eq!(parse("1x"), None);
        assert_eq!(parse("1."), None);
        assert_eq!(parse("1..5s"), None);
        assert_eq!(parse("s"), None);
        assert_eq!(parse("99999999999999999999h"), None);
        assert_eq!(parse("300y"), None);
    }

    #[test]
    fn printed_form_parses_back() {
        for ns in [
            1,
            999,
            1_000,
            1_500_000_000,
            5_400_000_000_000,
            86_400_000_000_123,
            i64::MAX,
        ] {
            let text = format(ns);
            assert_eq!(parse(&text), Some(ns), "{text}");
        }
        assert_eq!(format(5_400_000_000_000), "1h30m");
        assert_eq!(format(-2_000), "-2us");
        assert_eq!(format(0), "0s");
    }
}
