//! NATS subject syntax and matching, shared by the in-process bus so that
//! patterns mean the same thing whichever bus runs.

/// A publishable subject: dot-separated non-empty tokens, no wildcards, no spaces.
pub fn valid_subject(subject: &str) -> bool {
    !subject.is_empty()
        && subject
            .split('.')
            .all(|t| !t.is_empty() && t != "*" && t != ">" && !t.contains(char::is_whitespace))
}

/// A subscribable pattern: like a subject, with `*` tokens and a final `>`.
pub fn valid_pattern(pattern: &str) -> bool {
    let tokens: Vec<&str> = pattern.split('.').collect();
    let last = tokens.len().saturating_sub(1);
    !pattern.is_empty()
        && tokens.iter().enumerate().all(|(i, t)| {
            !t.is_empty() && !t.contains(char::is_whitespace) && (*t != ">" || i == last)
        })
}

/// Whether `subject` matches `pattern` under NATS rules.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for p in pattern.split('.') {
        match (p, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (p, Some(s)) if p == s => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_in_nats() {
        assert!(subject_matches("user.1.CHARGING", "user.1.CHARGING"));
        assert!(subject_matches("user.*.CHARGING", "user.1.CHARGING"));
        assert!(subject_matches("user.1.>", "user.1.CHARGING"));
        assert!(subject_matches(">", "a.b.c"));
        assert!(!subject_matches("user.1.>", "user.1"));
        assert!(!subject_matches("user.*", "user.1.CHARGING"));
        assert!(!subject_matches("user.1.CHARGING", "user.1"));
        assert!(!subject_matches("user.2.>", "user.1.CHARGING"));
    }

    #[test]
    fn syntax_is_checked() {
        assert!(valid_subject("user.1.CHARGING"));
        assert!(!valid_subject("user.*.x"));
        assert!(!valid_subject("user..x"));
        assert!(!valid_subject(""));
        assert!(valid_pattern("user.*.>"));
        assert!(!valid_pattern("user.>.x"));
        assert!(!valid_pattern("a b"));
    }
}
