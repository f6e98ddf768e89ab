//! The one rule for figures written in JSON: a figure is a number equal to a whole number (or,
//! for a ratio's numerator and denominator, a half), read exactly whatever its spelling —
//! `17020`, `17020.0`, `1.702e4` and `3e0` alike. A number that is not exactly so
//! (`17020.0000000000000001`, `0.25`) is refused, never rounded. A number written with a
//! fraction or an exponent is read as a double, so it may carry at most 15 significant digits.

/// Significant digits a double holds exactly.
const MAX_SIGNIFICANT_DIGITS: usize = 15;

/// The first number in the JSON text `json` that is not exactly a whole number or a half, with
/// why; `None` when every number is. Strings are skipped; the text need not be valid JSON (the
/// decoder says what else is wrong with it).
pub fn first_inexact_number(json: &[u8]) -> Option<(String, &'static str)> {
    let mut at = 0;
    while at < json.len() {
        match json[at] {
            b'"' => {
                at += 1;
                while at < json.len() && json[at] != b'"' {
                    at += if json[at] == b'\\' { 2 } else { 1 };
                }
                at += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = at;
                while at < json.len()
                    && matches!(json[at], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    at += 1;
                }
                let token = String::from_utf8_lossy(&json[start..at]).into_owned();
                if let Some(why) = inexact(&token) {
                    return Some((token, why));
                }
            }
            _ => at += 1,
        }
    }
    None
}

/// Why a number token is not exactly a whole number or a half, if it is not.
fn inexact(token: &str) -> Option<&'static str> {
    let unsigned = token.strip_prefix('-').unwrap_or(token);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(e) => (&unsigned[..e], &unsigned[e + 1..]),
        None => (unsigned, ""),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
    {
        // Not a number this rule reads; the JSON decoder refuses it.
        return None;
    }
    let exponent: i64 = if exponent.is_empty() {
        0
    } else {
        match exponent.parse() {
            Ok(e) => e,
            Err(_) => return Some("its exponent is out of range"),
        }
    };
    if fraction.is_empty() && exponent == 0 {
        // Plain digits are read as integers, exactly.
        return None;
    }
    let digits: String = format!("{whole}{fraction}");
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    if significant.is_empty() {
        return None;
    }
    if significant.len() > MAX_SIGNIFICANT_DIGITS {
        return Some("it has more significant digits than can be read exactly (at most 15)");
    }
    // Where the decimal point falls among the significant digits.
    let point = whole.len() as i64 - leading as i64 + exponent;
    let fraction_digits = significant.len() as i64 - point;
    match fraction_digits {
        i64::MIN..=0 => None,
        1 if significant.ends_with('5') => None,
        _ => Some("it is not a whole number or a half"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_whole_number_or_a_half_is_exact_and_nothing_else() {
        for exact in [
            "17020",
            "17020.0",
            "1.702e4",
            "3e0",
            "0.5",
            "-60000",
            "1.5",
            "2.5E1",
            "0",
            "0.0",
            "1e3",
            "100e-2",
            "12345678901234567890",
        ] {
            assert_eq!(inexact(exact), None, "{exact}");
        }
        for not in [
            "17020.0000000000000001",
            "0.25",
            "1.7021e3",
            "1e-1",
            "3.14",
            "1234567890123456.5",
        ] {
            assert!(inexact(not).is_some(), "{not}");
        }
    }

    #[test]
    fn numbers_inside_strings_are_not_figures() {
        let json =
            br#"{"submission_id": "v0.25 \"1.5\"", "values": {"ae_12hr_dta": {"count": 3e0}}}"#;
        assert_eq!(first_inexact_number(json), None);
        let json = br#"{"values": {"ae_12hr_dta": {"count": 17020.0000000000000001}}}"#;
        assert_eq!(
            first_inexact_number(json).map(|(n, _)| n),
            Some("17020.0000000000000001".to_owned())
        );
    }
}
