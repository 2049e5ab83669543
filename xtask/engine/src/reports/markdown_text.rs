//! Text from outside the program (profiling.toml, command lines, a
//! workload's output, symbol names, results on disk) written into
//! GitHub-flavoured Markdown so that it renders as the characters it is:
//! no table cut by a `|`, no HTML passed through, no link, emphasis, list or
//! heading it did not ask for. Every Markdown output writes such text
//! through here.
//!
//! - [`text`]: plain text, anywhere (prose, headings, table cells);
//! - [`code`] and [`code_cell`]: text shown as a code span, in prose or in a
//!   table cell (the two need different spellings of `|`);
//! - [`message`] and [`message_cell`]: a sentence of this program that
//!   quotes names in backticks (a warning, a note, an error): its code spans
//!   stay code spans, the rest is plain text;
//! - [`link`]: a link to a file of the result, whose path holds a scale's
//!   name.
//!
//! Ordinary text (letters, digits, spaces, `.`, `-`, `/`, `%`, `µ`, `×`,
//! parentheses, `_` inside a word such as `wall_s`) comes out unchanged.

/// Plain text, safe in prose, a heading or a table cell.
pub fn text(raw: &str) -> String {
    let chars = one_line(raw);
    let chars = trim(&chars);
    let mut out = String::with_capacity(raw.len());
    escape(&mut out, chars, 0..chars.len());
    out
}

/// `raw` as inline code in prose: the fence is longer than any run of
/// backticks inside it, so it shows whatever it holds.
pub fn code(raw: &str) -> String {
    code_span(&one_line(raw).into_iter().collect::<String>())
}

/// `raw` as inline code in a table cell, where even inside code a `|` must
/// be written `\|` (GitHub splits the row before it reads code spans).
pub fn code_cell(raw: &str) -> String {
    let line: String = one_line(raw).into_iter().collect();
    // GitHub reads `\\|` as an escaped backslash and then a cell boundary, so
    // a backslash right before a pipe cannot be spelled inside a code span
    // there: such text is shown as plain text instead.
    if line.contains("\\|") {
        return text(raw);
    }
    code_span(&line).replace('|', "\\|")
}

/// A sentence that quotes names in backticks, in prose: each code span is
/// kept, everything between them is plain text ([`text`]).
pub fn message(raw: &str) -> String {
    message_in(raw, false)
}

/// [`message`] in a table cell.
pub fn message_cell(raw: &str) -> String {
    message_in(raw, true)
}

/// A link to the relative `path`, shown as `label`. The path is
/// percent-encoded beyond letters, digits and `-_./`, so that it stays one
/// relative path: no space or `)` ends it, no `:` makes it a scheme.
pub fn link(label: &str, path: &str) -> String {
    let mut target = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_./".contains(&byte) {
            target.push(char::from(byte));
        } else {
            target.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("[{}]({target})", text(label))
}

fn message_in(raw: &str, in_cell: bool) -> String {
    let chars = one_line(raw);
    let chars = trim(&chars);
    let mut out = String::with_capacity(raw.len());
    let mut plain_from = 0;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            i += 1;
            continue;
        }
        let run = backtick_run(chars, i);
        // A code span ends at the next run of exactly as many backticks;
        // without one, the backticks are literal (and escaped as such).
        let Some(close) = (i + run..chars.len())
            .find(|&j| chars[j] == '`' && chars[j - 1] != '`' && backtick_run(chars, j) == run)
        else {
            i += run;
            continue;
        };
        let span: String = chars[i..close + run].iter().collect();
        let content: String = chars[i + run..close].iter().collect();
        if in_cell && content.contains("\\|") {
            // Not spellable as code in a cell (see `code_cell`): plain text.
            i = close + run;
            continue;
        }
        escape(&mut out, chars, plain_from..i);
        if in_cell {
            out.push_str(&span.replace('|', "\\|"));
        } else {
            out.push_str(&span);
        }
        i = close + run;
        plain_from = i;
    }
    escape(&mut out, chars, plain_from..chars.len());
    out
}

/// The characters of `raw` on one line: a line break (or any control
/// character) would end a table row or start a block, so it becomes a space.
fn one_line(raw: &str) -> Vec<char> {
    raw.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Without surrounding spaces: leading ones could make indented code, and
/// Markdown drops them anyway.
fn trim(chars: &[char]) -> &[char] {
    let start = chars.iter().position(|c| !c.is_whitespace());
    let end = chars.iter().rposition(|c| !c.is_whitespace());
    match (start, end) {
        (Some(start), Some(end)) => &chars[start..=end],
        _ => &[],
    }
}

fn backtick_run(chars: &[char], from: usize) -> usize {
    chars[from..].iter().take_while(|&&c| c == '`').count()
}

fn code_span(content: &str) -> String {
    let longest = content.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // Markdown strips one space from each end when both are spaces, and a
    // backtick at an end would join the fence: a space on each side then.
    let pad = content.starts_with('`')
        || content.ends_with('`')
        || (content.len() > 1
            && content.starts_with(' ')
            && content.ends_with(' ')
            && !content.trim().is_empty());
    let space = if pad { " " } else { "" };
    format!("{fence}{space}{content}{space}{fence}")
}

/// Appends `chars[range]` escaped; the characters around the range (which
/// decide whether a `_` could start emphasis) are read from `chars`.
fn escape(out: &mut String, chars: &[char], range: std::ops::Range<usize>) {
    let start = range.start;
    for i in range {
        let c = chars[i];
        let before = i.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i + 1).copied();
        let blank = |c: Option<char>| c.is_none_or(char::is_whitespace);
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let escaped = match c {
            // HTML (a tag, a comment, an entity) must not pass through.
            '<' => {
                out.push_str("&lt;");
                continue;
            }
            '>' => {
                out.push_str("&gt;");
                continue;
            }
            '&' if after.is_some_and(|a| a.is_ascii_alphabetic() || a == '#') => {
                out.push_str("&amp;");
                continue;
            }
            // Escapes, code spans, emphasis, links and images, table cells,
            // headings and their closing sequences.
            '\\' | '`' | '[' | ']' | '|' | '#' => true,
            // Emphasis or strikethrough, unless it stands alone between
            // spaces (`2 * 3`) or, for `_`, is inside a word (`wall_s`).
            '_' => !((word(before) && word(after)) || (blank(before) && blank(after))),
            '~' => !(blank(before) && blank(after)),
            // A lone `*` starting a line starts a list item.
            '*' => !(blank(before) && blank(after)) || (i == 0 && start == 0),
            // A list item or a thematic break, at the start of a line.
            '-' | '+' if i == 0 && start == 0 => blank(after) || (c == '-' && after == Some('-')),
            // An ordered list item: `1. ` or `1) ` at the start of a line.
            '.' | ')' if start == 0 => {
                (1..=9).contains(&i) && chars[..i].iter().all(char::is_ascii_digit) && blank(after)
            }
            _ => false,
        };
        if escaped {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
pub mod test_support {
    //! What the tests of every Markdown output check: hostile text in, and
    //! the output still a well-formed table with the text shown literally.

    /// Text a config, a command line or a symbol name can hold, each of which
    /// broke a table, passed HTML through or made a link or emphasis.
    pub const HOSTILE: [&str; 6] = [
        "a|b",
        "x\ny",
        "<script>alert(1)</script>",
        "[x](javascript:alert(1))",
        "`tick`",
        "*bold*",
    ];

    /// The hostile texts joined, as one value (a name, a unit).
    pub fn hostile() -> String {
        HOSTILE.join(" ")
    }

    /// How each hostile text reads once rendered (a line break is a space).
    pub fn hostile_rendered() -> String {
        hostile().replace('\n', " ")
    }

    /// The cells of a table row as GitHub splits them: `\` and the next
    /// punctuation character go together, any other `|` ends a cell.
    pub fn cells(row: &str) -> Vec<String> {
        let inner = row.trim();
        let inner = inner.strip_prefix('|').unwrap_or(inner);
        let mut cells = vec![String::new()];
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek().is_some_and(char::is_ascii_punctuation) => {
                    let next = chars.next().unwrap();
                    // GitHub drops the backslash of `\|` before reading the cell.
                    if next != '|' {
                        cells.last_mut().unwrap().push('\\');
                    }
                    cells.last_mut().unwrap().push(next);
                }
                '|' => cells.push(String::new()),
                _ => cells.last_mut().unwrap().push(c),
            }
        }
        if cells.last().is_some_and(|c| c.trim().is_empty()) && row.trim_end().ends_with('|') {
            cells.pop();
        }
        cells.into_iter().map(|c| c.trim().to_string()).collect()
    }

    /// Every row of every table has as many cells as its header, and the
    /// header is followed by a delimiter row. Returns how many tables.
    pub fn assert_tables_keep_their_columns(markdown: &str) -> usize {
        let lines: Vec<&str> = markdown.lines().collect();
        let mut tables = 0;
        let mut i = 0;
        while i < lines.len() {
            if !lines[i].starts_with('|') {
                i += 1;
                continue;
            }
            tables += 1;
            let width = cells(lines[i]).len();
            let delimiter = lines.get(i + 1).copied().unwrap_or_default();
            let marks = cells(delimiter);
            assert_eq!(marks.len(), width, "{delimiter}\n{markdown}");
            assert!(
                marks
                    .iter()
                    .all(|m| m.contains("---") && m.trim_matches(':').chars().all(|c| c == '-')),
                "not a delimiter row: {delimiter}"
            );
            i += 2;
            while i < lines.len() && lines[i].starts_with('|') {
                assert_eq!(cells(lines[i]).len(), width, "{}\n{markdown}", lines[i]);
                i += 1;
            }
        }
        tables
    }

    /// One line as it reads once rendered: code spans show their content,
    /// backslash escapes and the three entities this module writes show
    /// their character. `in_table`: a row, whose `\|` GitHub reads first.
    /// Panics on live HTML (a tag other than the reports' own `<sub>`) or a
    /// `javascript:` link outside code spans, where they would act.
    pub fn rendered_line(line: &str, in_table: bool) -> String {
        let line = if in_table {
            cells(line).join(" | ")
        } else {
            line.to_string()
        };
        let chars: Vec<char> = line.chars().collect();
        let run_at = |j: usize| chars[j..].iter().take_while(|&&c| c == '`').count();
        let mut out = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let rest: String = chars[i..].iter().collect();
            if c == '\\' && chars.get(i + 1).is_some_and(char::is_ascii_punctuation) {
                out.push(chars[i + 1]);
                i += 2;
            } else if c == '`' {
                let run = run_at(i);
                let close =
                    (i + run..chars.len()).find(|&j| chars[j - 1] != '`' && run_at(j) == run);
                match close {
                    Some(close) => {
                        let content: String = chars[i + run..close].iter().collect();
                        let inner = content.strip_prefix(' ').and_then(|c| c.strip_suffix(' '));
                        match inner {
                            Some(inner) if !content.trim().is_empty() => out.push_str(inner),
                            _ => out.push_str(&content),
                        }
                        i = close + run;
                    }
                    None => {
                        out.push_str(&"`".repeat(run));
                        i += run;
                    }
                }
            } else if let Some((entity, shown)) = [("&lt;", '<'), ("&gt;", '>'), ("&amp;", '&')]
                .into_iter()
                .find(|(entity, _)| rest.starts_with(entity))
            {
                out.push(shown);
                i += entity.len();
            } else {
                let tag = c == '<'
                    && chars
                        .get(i + 1)
                        .is_some_and(|n| n.is_ascii_alphabetic() || "/!?".contains(*n));
                assert!(
                    !tag || rest.starts_with("<sub>") || rest.starts_with("</sub>"),
                    "raw HTML in {line:?}"
                );
                assert!(
                    !rest.starts_with("](javascript:"),
                    "a live link in {line:?}"
                );
                out.push(c);
                i += 1;
            }
        }
        out
    }

    /// The whole document as it reads once rendered, line by line; fenced
    /// code blocks are literal.
    pub fn rendered(markdown: &str) -> String {
        let mut fence: Option<usize> = None;
        let mut out = Vec::new();
        for line in markdown.lines() {
            let run = line.chars().take_while(|&c| c == '`').count();
            match fence {
                Some(open) if run >= open && line[run..].trim().is_empty() => fence = None,
                Some(_) => {}
                None if run >= 3 => fence = Some(run),
                None => {
                    out.push(rendered_line(line, line.starts_with('|')));
                    continue;
                }
            }
            out.push(line.to_string());
        }
        out.join("\n")
    }

    /// What every Markdown output must do with hostile text: tables keep
    /// their columns, no HTML or link acts outside code, and each hostile
    /// text reads as itself.
    pub fn assert_hostile_text_is_literal(markdown: &str) {
        assert_tables_keep_their_columns(markdown);
        let shown = rendered(markdown);
        for hostile in HOSTILE {
            let hostile = hostile.replace('\n', " ");
            assert!(
                shown.contains(&hostile),
                "{hostile:?} does not read as itself in:\n{shown}\n\nfrom:\n{markdown}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn ordinary_text_is_unchanged() {
        for ordinary in [
            "wall_s",
            "records_per_sec",
            "12.5 µs/op (p99)",
            "2 × 3 - 1 = 5 %",
            "cdr-demo/big",
            "A & B",
            "2 * 3",
            "~",
        ] {
            assert_eq!(text(ordinary), ordinary);
            assert_eq!(message(ordinary), ordinary);
        }
        assert_eq!(code("generate --subs 200"), "`generate --subs 200`");
        assert_eq!(
            message("different workloads: `a` vs `b`"),
            "different workloads: `a` vs `b`"
        );
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(text("a|b"), "a\\|b");
        assert_eq!(text("x\ny"), "x y");
        assert_eq!(
            text("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            text("[x](javascript:alert(1))"),
            "\\[x\\](javascript:alert(1))"
        );
        assert_eq!(text("`tick`"), "\\`tick\\`");
        assert_eq!(
            text("*bold* _em_ ~~del~~"),
            "\\*bold\\* \\_em\\_ \\~\\~del\\~\\~"
        );
        assert_eq!(text("&amp; &#60;"), "&amp;amp; &amp;\\#60;");
        assert_eq!(text("a\\b"), "a\\\\b");
        assert_eq!(text("# title #"), "\\# title \\#");
        // The starts of list items and thematic breaks, only at the start.
        assert_eq!(text("- x"), "\\- x");
        assert_eq!(text("---"), "\\---");
        assert_eq!(text("+ x"), "\\+ x");
        assert_eq!(text("* x"), "\\* x");
        assert_eq!(text("12. x"), "12\\. x");
        assert_eq!(text("1.5 s - 2"), "1.5 s - 2");
        assert_eq!(text("  \n"), "");
    }

    #[test]
    fn code_spans_hold_any_text() {
        assert_eq!(code("`tick`"), "`` `tick` ``");
        assert_eq!(code("a``b"), "```a``b```");
        assert_eq!(code(" x "), "`  x  `");
        assert_eq!(code("a|b\nc"), "`a|b c`");
        assert_eq!(code_cell("<T as F|G>::f"), "`<T as F\\|G>::f`");
        // A backslash before a pipe cannot be code in a cell.
        assert_eq!(code_cell("a\\|b"), "a\\\\\\|b");
        assert_eq!(
            message_cell("bad `a|b` and `x\\|y` here <b>"),
            "bad `a\\|b` and \\`x\\\\\\|y\\` here &lt;b&gt;"
        );
        assert_eq!(message("an unmatched ` tick"), "an unmatched \\` tick");
    }

    #[test]
    fn links_stay_relative_paths() {
        assert_eq!(
            link("big/flamegraph.svg", "big/flamegraph.svg"),
            "[big/flamegraph.svg](big/flamegraph.svg)"
        );
        assert_eq!(
            link("[x](javascript:alert(1))", "javascript:alert(1) x/µ"),
            "[\\[x\\](javascript:alert(1))](javascript%3Aalert%281%29%20x/%C2%B5)"
        );
    }

    /// What each function writes reads as the original text once rendered
    /// (the checker of the other modules' tests, checked itself).
    #[test]
    fn escaped_text_renders_as_itself() {
        for hostile in HOSTILE
            .iter()
            .copied()
            .chain(["a\\|b", "a\\b", "&lt;", "``x`"])
        {
            let shown = hostile.replace('\n', " ");
            assert_eq!(rendered_line(&text(hostile), false), shown);
            assert_eq!(rendered_line(&code(hostile), false), shown);
            let row = format!(
                "| {} | {} | {} |",
                text(hostile),
                code_cell(hostile),
                message_cell(hostile)
            );
            assert_eq!(cells(&row).len(), 3, "{row}");
            assert_eq!(
                rendered_line(&row, true),
                format!(
                    "{shown} | {shown} | {}",
                    rendered_line(&message(hostile), false)
                ),
                "{row}"
            );
        }
    }
}
