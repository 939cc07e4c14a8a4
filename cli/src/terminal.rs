//! Untrusted text (what a node program printed, its code and plan, a model's analysis) as a
//! terminal may safely show it: control characters, escape sequences included, are written
//! out visibly (`\x1b`), so a program cannot retitle the window, clear the screen or rewrite
//! earlier lines. Newlines and tabs stay. JSON output never goes through here: it stays exact.

/// `text` with every control character but `\n` and `\t` made visible.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_controls_become_visible_and_text_stays() {
        assert_eq!(
            shown("\x1b]0;pwned\x07\x1b[2J\rok\tdone\n\u{9b}31m é"),
            "\\x1b]0;pwned\\x07\\x1b[2J\\x0dok\tdone\n\\x9b31m é"
        );
        assert_eq!(shown("plain text\n"), "plain text\n");
    }
}
