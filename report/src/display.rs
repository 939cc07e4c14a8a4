//! How numbers and markers read in every rendering, kept in one place so they agree.

/// Shown where a value is missing.
pub(crate) const MISSING: &str = "-";

/// A score with 4 decimals, or `-` when missing.
pub fn score(value: Option<f64>) -> String {
    value.map_or_else(|| MISSING.to_owned(), |v| format!("{v:.4}"))
}

/// A percentage with 1 decimal, without the `%` sign (the column header carries it).
pub(crate) fn percent(value: f64) -> String {
    format!("{value:.1}")
}

/// Whether a medal string names a medal: callers send "none", but an empty string means the same.
pub(crate) fn has_medal(medal: &str) -> bool {
    !medal.is_empty() && medal != "none"
}
