//! Free text from outside (submission ids, names, rationales): bounded, and free of control
//! characters, so that nothing stored can forge a line or an escape sequence where it is
//! printed; and a printable form for text written before these checks.

use std::borrow::Cow;

use crate::{Reason, ReasonCode};

/// The longest organisation or system name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest rationale of a segment decision, in characters.
pub const MAX_RATIONALE_CHARS: usize = 2_000;

/// The reasons `text` in `field` is refused: a control character (a newline, a tab, an
/// escape), or more than `max_chars` characters.
pub fn check_text(field: &str, text: &str, max_chars: usize) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if let Some((at, c)) = text.chars().enumerate().find(|(_, c)| c.is_control()) {
        reasons.push(Reason::new(
            ReasonCode::ControlCharacter,
            field,
            format!(
                "character {} is a control character ({}); use plain text on one line",
                at + 1,
                c.escape_unicode()
            ),
        ));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        reasons.push(Reason::new(
            ReasonCode::TextTooLong,
            field,
            format!("{chars} characters; at most {max_chars} are accepted"),
        ));
    }
    reasons
}

/// `text` with every control character written as an escape (`\n`, `\u{1b}`), for printing.
pub fn printable(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(
            text.chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_long_text_are_refused_and_escaped_when_printed() {
        let forged = "id\nFAKE LINE\r\u{1b}[31m";
        let codes: Vec<ReasonCode> = check_text("submission_id", forged, 64)
            .into_iter()
            .map(|r| r.code)
            .collect();
        assert_eq!(codes, [ReasonCode::ControlCharacter]);
        assert_eq!(printable(forged), "id\\nFAKE LINE\\r\\u{1b}[31m");
        assert!(!printable(forged).contains('\n'));
        let long = "é".repeat(201);
        assert_eq!(
            check_text("name", &long, MAX_NAME_CHARS)[0].code,
            ReasonCode::TextTooLong
        );
        assert!(check_text("name", "Barts Health NHS Trust", MAX_NAME_CHARS).is_empty());
        assert!(matches!(printable("plain"), Cow::Borrowed("plain")));
    }
}
