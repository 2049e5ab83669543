//! The size rules: rooms a newcomer can read in one sitting. No code file
//! over [`FILE_CODE_LINES`] lines of code (test code, comments and blank
//! lines aside), no function over [`FUNCTION_LINES`] lines (signature to
//! closing brace) but the declarative tables of [`LONG_TABLES`], and no
//! comment that points at an issue or a seed, which no reader of the code
//! can follow. (The README's length is this repository's own rule: its
//! end-to-end tests check it.)

pub const FILE_CODE_LINES: usize = 600;
pub const FUNCTION_LINES: usize = 100;

/// `(file under src/, function)`: functions that are one declarative table
/// (a list read top to bottom), allowed to be longer.
const LONG_TABLES: &[(&str, &str)] = &[];

/// Source with comments and the insides of string and character literals
/// blanked out (newlines kept, so line numbers hold), and the comments' text.
pub struct Blanked {
    pub code: String,
    /// (line, text) of each comment.
    pub comments: Vec<(usize, String)>,
}

pub fn blank(text: &str) -> Blanked {
    let bytes = text.as_bytes();
    let mut code = Vec::with_capacity(bytes.len());
    let mut comments = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let keep = |b: u8| if b == b'\n' { b'\n' } else { b' ' };
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        if b == b'/' && next == Some(b'/') {
            let end = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |e| i + e);
            comments.push((line, text[i..end].to_string()));
            code.extend(std::iter::repeat_n(b' ', end - i));
            i = end;
        } else if b == b'/' && next == Some(b'*') {
            let (start, start_line) = (i, line);
            let mut depth = 0;
            while i < bytes.len() {
                if bytes[i..].starts_with(b"/*") {
                    depth += 1;
                    code.extend(b"  ");
                    i += 2;
                } else if bytes[i..].starts_with(b"*/") {
                    depth -= 1;
                    code.extend(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(bytes[i] == b'\n');
                    code.push(keep(bytes[i]));
                    i += 1;
                }
            }
            comments.push((start_line, text[start..i].to_string()));
        } else if let Some(hashes) = raw_string_start(&bytes[i..]) {
            let open = bytes[i..].iter().position(|&c| c == b'"').unwrap_or(0) + 1;
            code.extend(&bytes[i..i + open]);
            i += open;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while i < bytes.len() && !bytes[i..].starts_with(&close) {
                line += usize::from(bytes[i] == b'\n');
                code.push(keep(bytes[i]));
                i += 1;
            }
            let end = (i + close.len()).min(bytes.len());
            code.extend(&bytes[i..end]);
            i = end;
        } else if b == b'"' {
            code.push(b'"');
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                let step = if bytes[i] == b'\\' { 2 } else { 1 };
                for &c in &bytes[i..(i + step).min(bytes.len())] {
                    line += usize::from(c == b'\n');
                    code.push(keep(c));
                }
                i += step;
            }
            if i < bytes.len() {
                code.push(b'"');
                i += 1;
            }
        } else if b == b'\'' && is_char_literal(&bytes[i..]) {
            code.push(b'\'');
            i += 1;
            while i < bytes.len() && bytes[i] != b'\'' {
                let step = if bytes[i] == b'\\' { 2 } else { 1 };
                code.extend(std::iter::repeat_n(b' ', step.min(bytes.len() - i)));
                i += step;
            }
            if i < bytes.len() {
                code.push(b'\'');
                i += 1;
            }
        } else {
            line += usize::from(b == b'\n');
            code.push(b);
            i += 1;
        }
    }
    Blanked {
        code: String::from_utf8_lossy(&code).into_owned(),
        comments,
    }
}

/// `r"`, `r#"`, `br##"` …: the number of hashes of a raw string that starts
/// here (not inside an identifier such as `for"`, which Rust does not have).
fn raw_string_start(rest: &[u8]) -> Option<usize> {
    let after_b = rest.strip_prefix(b"b").unwrap_or(rest);
    let after_r = after_b.strip_prefix(b"r")?;
    let hashes = after_r.iter().take_while(|&&c| c == b'#').count();
    (after_r.get(hashes) == Some(&b'"')).then_some(hashes)
}

/// `'x'`, `'\n'`, `'\u{1F600}'` are character literals; `'a` in `&'a str`
/// is a lifetime.
fn is_char_literal(rest: &[u8]) -> bool {
    match rest.get(1) {
        Some(b'\\') => true,
        Some(_) => {
            // One character, possibly several UTF-8 bytes, then a quote.
            let width = std::str::from_utf8(&rest[1..rest.len().min(5)])
                .ok()
                .or_else(|| std::str::from_utf8(&rest[1..rest.len().min(4)]).ok())
                .or_else(|| std::str::from_utf8(&rest[1..rest.len().min(3)]).ok())
                .or_else(|| std::str::from_utf8(&rest[1..rest.len().min(2)]).ok())
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8);
            rest.get(1 + width) == Some(&b'\'')
        }
        None => false,
    }
}

/// (name, first line, lines) of every function with a body in blanked code.
pub fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = code[at..].find("fn ") {
        let start = at + offset;
        at = start + 3;
        let word_before = start > 0 && {
            let c = bytes[start - 1];
            c.is_ascii_alphanumeric() || c == b'_'
        };
        let name: String = code[at..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if word_before || name.is_empty() {
            continue;
        }
        // The body: the first `{` before any `;` (a declaration has none).
        let Some(open) = code[at..].find(['{', ';']).map(|o| at + o) else {
            break;
        };
        if bytes[open] == b';' {
            continue;
        }
        let mut depth = 0usize;
        let mut close = open;
        for (index, &c) in bytes[open..].iter().enumerate() {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + index;
                        break;
                    }
                }
                _ => {}
            }
        }
        let line_of = |offset: usize| code[..offset].matches('\n').count() + 1;
        let first = line_of(start);
        found.push((name, first, line_of(close) - first + 1));
    }
    found
}

/// Lines of code: neither blank nor only a comment.
pub fn code_lines(blanked_code: &str) -> usize {
    blanked_code
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// A comment that points at an issue or a seed by number.
pub fn points_at_tracker(comment: &str) -> bool {
    let lower = comment.to_lowercase();
    ["issue", "seed"].iter().any(|word| {
        lower.match_indices(word).any(|(at, _)| {
            let rest = lower[at + word.len()..].trim_start_matches([' ', '#']);
            rest.starts_with(|c: char| c.is_ascii_digit())
        })
    })
}

/// Every size violation of one file's non-test code (`text` with test code
/// blanked), as `file:line: message`.
pub fn check_file(relative: &str, non_test: &str) -> Vec<String> {
    let blanked = blank(non_test);
    let mut violations = Vec::new();
    let lines = code_lines(&blanked.code);
    if lines > FILE_CODE_LINES {
        violations.push(format!(
            "{relative}: {lines} lines of code, more than {FILE_CODE_LINES}: split it by concern"
        ));
    }
    for (name, line, length) in functions(&blanked.code) {
        if length > FUNCTION_LINES && !LONG_TABLES.contains(&(relative, name.as_str())) {
            violations.push(format!(
                "{relative}:{line}: fn {name} is {length} lines, more than {FUNCTION_LINES}: \
                 split it into steps that each have a name"
            ));
        }
    }
    for (line, comment) in &blanked.comments {
        if points_at_tracker(comment) {
            violations.push(format!(
                "{relative}:{line}: a comment points at an issue or seed no reader can follow: \
                 say the why itself (history belongs in commit bodies)"
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_chars_and_comments_are_blanked_and_lifetimes_are_not() {
        let source = "fn a<'x>(s: &'x str) -> char { // a } comment\n    let b = \"}{\"; let c = '}'; let d = r#\"\"}\"#; /* { */ '\\'' }\n";
        let blanked = blank(source);
        assert_eq!(blanked.code.lines().count(), 2);
        assert_eq!(blanked.code.matches('{').count(), 1, "{}", blanked.code);
        assert_eq!(blanked.code.matches('}').count(), 1, "{}", blanked.code);
        assert!(blanked.code.contains("<'x>"));
        assert_eq!(blanked.comments.len(), 2);
        assert_eq!(functions(&blanked.code), [("a".to_string(), 1, 2)]);
    }

    #[test]
    fn functions_are_measured_from_signature_to_closing_brace() {
        let source = "trait T { fn declared(&self); }\npub fn long(\n    x: u8,\n) {\n    if x > 0 {\n    }\n}\n";
        let found = functions(&blank(source).code);
        assert_eq!(found, [("long".to_string(), 2, 6)]);
    }

    #[test]
    fn comments_pointing_at_issues_or_seeds_are_found() {
        assert!(points_at_tracker("// see issue 12, D10"));
        assert!(points_at_tracker("// as seed 001 does"));
        assert!(points_at_tracker("// Issue #4"));
        assert!(!points_at_tracker("// an issue of timing"));
        assert!(!points_at_tracker("// the seed of the generator"));
    }
}
