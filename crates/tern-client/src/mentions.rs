//! Mentions: `@username` in a message's text. Usernames are ASCII letters, digits, `_`, `.`
//! and `-` (the relay's rule) and compare without case, so `@Alice` mentions `alice`. A mention
//! starts at the beginning of the text or after a character that cannot be part of a name or
//! an e-mail address (so `bob@alice.example` mentions no one), and a trailing `.` or `-` is
//! punctuation, not part of the name (`thanks @alice.`).

/// Whether a username may contain `c`.
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Every username mentioned in `text`, lowercased, in order of appearance (repeats kept).
pub fn mentioned(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if c == '@' && !prev.is_some_and(|p| name_char(p) || p == '@') {
            let rest = &text[i + 1..];
            let end = rest.find(|ch: char| !name_char(ch)).unwrap_or(rest.len());
            let name = rest[..end].trim_end_matches(['.', '-']);
            if !name.is_empty() {
                out.push(name.to_ascii_lowercase());
            }
        }
        prev = Some(c);
    }
    out
}

/// Whether `text` mentions `username`.
pub fn mentions(text: &str, username: &str) -> bool {
    !username.is_empty()
        && mentioned(text)
            .iter()
            .any(|m| m.eq_ignore_ascii_case(username))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_is_an_at_sign_and_a_username_anywhere_but_inside_a_word() {
        assert!(mentions("@alice hi", "alice"));
        assert!(mentions("hi @Alice, look", "alice"));
        assert!(mentions("thanks @alice.", "alice"));
        assert!(mentions("(@alice)", "alice"));
        assert!(mentions("ping @a.b-c_d!", "a.b-c_d"));
        assert!(!mentions("mail bob@alice.example", "alice"));
        assert!(!mentions("@alicex", "alice"));
        assert!(!mentions("@@alice", "alice"));
        assert!(!mentions("alice", "alice"));
        assert!(!mentions("@", ""));
        assert_eq!(
            mentioned("@bob and @Carol and @bob"),
            ["bob", "carol", "bob"]
        );
    }
}
