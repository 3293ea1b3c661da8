//! Go's text formats, which Tempo's answers use: `strconv.FormatFloat(v, 'g', -1, 64)` for
//! floats (TraceQL adds `.0` to integral values) and `time.Duration.String()` for durations.

use std::fmt::Write;

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`, then `.0` appended when the text contains
/// neither `e` nor `.` (TraceQL's float rendering, so `2` reads `2.0`; Go also does this to
/// `NaN` and `+Inf`).
pub(crate) fn go_float(v: f64) -> String {
    let mut s = if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        let inf = if v > 0.0 { "+Inf" } else { "-Inf" };
        inf.to_string()
    } else {
        format_g_shortest(v)
    };
    if !s.contains(['e', '.']) {
        s.push_str(".0");
    }
    s
}

/// `%g` with the shortest round-trip digits: exponent form when the decimal exponent is below
/// -4 or at least 6 (`1e+06`, `1.5e-05`), plain otherwise (`123456`, `0.0001`).
fn format_g_shortest(v: f64) -> String {
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e6", "0e0", "5e-324".
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if v.is_sign_negative() {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.push('0');
        }
        out.push_str(&abs.to_string());
    } else {
        let nd = digits.len() as i32;
        let dp = exp + 1; // digits before the decimal point
        if dp <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-dp) as usize));
            out.push_str(&digits);
        } else if dp >= nd {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (dp - nd) as usize));
        } else {
            let (int, frac) = digits.split_at(dp as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
    }
    out
}

/// Nanoseconds as Go's `time.Duration.String()`: `0s`, `150ns`, `1.5µs`, `20ms`, `1m30s`,
/// `2h0m0.5s`.
pub(crate) fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if u < 1_000_000_000 {
        // Sub-second: a single unit with a fraction.
        let (unit, scale) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&fraction(u, scale));
        out.push_str(unit);
        return out;
    }
    let hours = u / 3_600_000_000_000;
    let rem = u % 3_600_000_000_000;
    let minutes = rem / 60_000_000_000;
    let secs_nanos = rem % 60_000_000_000;
    if hours > 0 {
        let _ = write!(out, "{hours}h");
    }
    if hours > 0 || minutes > 0 {
        let _ = write!(out, "{minutes}m");
    }
    out.push_str(&fraction(secs_nanos, 1_000_000_000));
    out.push('s');
    out
}

/// `v / scale` with the fractional digits Go prints (trailing zeros dropped).
fn fraction(v: u64, scale: u64) -> String {
    let whole = v / scale;
    let frac = v % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_match_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(150), "150ns");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(20_000_000), "20ms");
        assert_eq!(go_duration(1_000_000_000), "1s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(7_200_500_000_000), "2h0m0.5s");
        assert_eq!(go_duration(-2_000_000), "-2ms");
    }

    #[test]
    fn floats_match_go() {
        assert_eq!(go_float(1.0), "1.0");
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(123456.0), "123456.0");
    }

    #[test]
    fn go_float_matches_strconv_g() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (2.5, "2.5"),
            (-3.25, "-3.25"),
            (100.0, "100.0"),
            (123456.0, "123456.0"),
            (999999.0, "999999.0"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (5e-324, "5e-324"),
            (f64::NAN, "NaN.0"),
            (f64::INFINITY, "+Inf.0"),
            (f64::NEG_INFINITY, "-Inf.0"),
        ];
        for (v, want) in cases {
            assert_eq!(go_float(v), want, "{v:?}");
        }
    }

    #[test]
    fn go_float_round_trips() {
        // deterministic pseudo-random bit patterns over the whole f64 range
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if !v.is_finite() {
                continue;
            }
            let text = go_float(v);
            let back: f64 = text.parse().unwrap_or(f64::NAN);
            assert_eq!(back.to_bits(), v.to_bits(), "{v:?} -> {text}");
            let plain = text.trim_start_matches('-');
            match plain.split_once('e') {
                Some((m, e)) => {
                    assert!(m.len() == 1 || m.as_bytes()[1] == b'.', "{text}");
                    assert!(e.starts_with(['+', '-']) && e.len() >= 3, "{text}");
                    let exp: i32 = e.parse().unwrap_or(0);
                    assert!(!(-4..6).contains(&exp), "{text}");
                }
                None => assert!(plain.contains('.'), "{text}"),
            }
        }
    }
}
