//! What serde cannot check: lengths, CiString characters, ranges. Each
//! object names the first field that breaks a rule, with its path
//! (`evses[0].connectors[1].id`), which the face returns with status 2001.

/// A field that breaks a rule of OCPI 2.2.1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    /// Its path in the object.
    pub field: String,
    /// What is wrong, for the partner's engineer.
    pub message: String,
}

impl Invalid {
    /// A broken rule.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same problem, one level down (`evses[0]` + `uid`).
    pub fn within(self, parent: &str) -> Self {
        Self {
            field: format!("{parent}.{}", self.field),
            message: self.message,
        }
    }
}

/// An object that knows its rules.
pub trait Validate {
    /// The first broken rule, if any.
    fn validate(&self) -> Result<(), Invalid>;
}

/// A `CiString(max)`: printable ASCII, 1..=max characters (an empty one is
/// as good as missing). OCPI compares these case-insensitively.
pub fn ci_string(field: &str, value: &str, max: usize) -> Result<(), Invalid> {
    if value.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(Invalid::new(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(Invalid::new(field, "must be printable ASCII (a CiString)"));
    }
    Ok(())
}

/// A `string(max)`: UTF-8, at most `max` characters.
pub fn string(field: &str, value: &str, max: usize) -> Result<(), Invalid> {
    if value.chars().count() > max {
        return Err(Invalid::new(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Invalid::new(field, "must not hold control characters"));
    }
    Ok(())
}

/// An optional `string(max)`.
pub fn opt_string(field: &str, value: Option<&str>, max: usize) -> Result<(), Invalid> {
    value.map_or(Ok(()), |v| string(field, v, max))
}

/// An ISO 3166-1 alpha-2 country code as OCPI writes party codes: two
/// upper-case letters.
pub fn country_code(field: &str, value: &str) -> Result<(), Invalid> {
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(Invalid::new(
            field,
            "must be two upper-case letters (ISO 3166-1 alpha-2)",
        ))
    }
}

/// A party id: three upper-case letters or digits (ISO 15118).
pub fn party_id(field: &str, value: &str) -> Result<(), Invalid> {
    if value.len() == 3
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(Invalid::new(
            field,
            "must be three upper-case letters or digits",
        ))
    }
}

/// Checks each item of a list, naming it by index.
pub fn each<T: Validate>(field: &str, items: &[T]) -> Result<(), Invalid> {
    for (i, item) in items.iter().enumerate() {
        item.validate()
            .map_err(|e| e.within(&format!("{field}[{i}]")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_strings_are_printable_ascii_of_bounded_length() {
        assert!(ci_string("id", "LOC-1", 36).is_ok());
        assert!(ci_string("id", "", 36).is_err());
        assert!(ci_string("id", &"x".repeat(37), 36).is_err());
        assert!(ci_string("id", "café", 36).is_err());
        assert!(ci_string("id", "a\nb", 36).is_err());
    }

    #[test]
    fn party_codes_follow_the_spec() {
        assert!(country_code("c", "NL").is_ok());
        assert!(country_code("c", "nl").is_err());
        assert!(country_code("c", "NLD").is_err());
        assert!(party_id("p", "PW1").is_ok());
        assert!(party_id("p", "PW").is_err());
        assert!(party_id("p", "pw1").is_err());
    }
}
