//! The reader of memcheck's XML (`--xml=yes`, protocol 4): the document as
//! a tree of elements, then the loss records, the other memory errors and
//! their counts read out of it. Kept apart from the report types in
//! `mod.rs` because it is most of the parsing code.

use super::{
    direct_indirect, number, top_leaks, LeakKind, LeakReport, LossRecord, Lost, MemoryError,
};
use crate::tools::memory_model::{demangle_in_text, excerpt, Frame, ParseError};

const WHAT_XML: &str = "memcheck XML";

impl LeakKind {
    fn from_xml(kind: &str) -> Option<LeakKind> {
        match kind {
            "Leak_DefinitelyLost" => Some(LeakKind::DefinitelyLost),
            "Leak_IndirectlyLost" => Some(LeakKind::IndirectlyLost),
            "Leak_PossiblyLost" => Some(LeakKind::PossiblyLost),
            "Leak_StillReachable" => Some(LeakKind::StillReachable),
            _ => None,
        }
    }
}

/// An element of valgrind's XML: no attributes matter, text is unescaped.
#[derive(Debug, Default)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
}

enum Token<'a> {
    Open(&'a str),
    Close(&'a str),
    /// `<x/>`
    Empty(&'a str),
    Text(&'a str),
}

/// A pull tokenizer for the subset of XML valgrind writes.
struct Tokenizer<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Tokenizer<'a> {
    fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError::at(WHAT_XML, self.line, message)
    }

    fn advance(&mut self, to: usize) {
        self.line += self.text[self.pos..to].matches('\n').count();
        self.pos = to;
    }

    fn next(&mut self) -> Result<Option<Token<'a>>, ParseError> {
        loop {
            let rest = &self.text[self.pos..];
            if rest.is_empty() {
                return Ok(None);
            }
            if !rest.starts_with('<') {
                let end = rest.find('<').map_or(self.text.len(), |i| self.pos + i);
                let text = &self.text[self.pos..end];
                self.advance(end);
                return Ok(Some(Token::Text(text)));
            }
            let (skip_end, what) = if rest.starts_with("<?") {
                ("?>", "processing instruction")
            } else if rest.starts_with("<!--") {
                ("-->", "comment")
            } else if rest.starts_with("<!") {
                (">", "declaration")
            } else {
                ("", "")
            };
            if !skip_end.is_empty() {
                let Some(end) = rest.find(skip_end) else {
                    return Err(self.err(format!(
                        "unexpected end of input inside a {what} — the file is truncated"
                    )));
                };
                self.advance(self.pos + end + skip_end.len());
                continue;
            }
            let Some(end) = rest.find('>') else {
                return Err(
                    self.err("unexpected end of input inside a tag — the file is truncated")
                );
            };
            let inner = &rest[1..end];
            self.advance(self.pos + end + 1);
            if let Some(name) = inner.strip_prefix('/') {
                return Ok(Some(Token::Close(name.trim())));
            }
            if let Some(body) = inner.strip_suffix('/') {
                let name = body.split_whitespace().next().unwrap_or("");
                return Ok(Some(Token::Empty(name)));
            }
            let name = inner.split_whitespace().next().unwrap_or("");
            if name.is_empty() {
                return Err(self.err(format!(
                    "expected a tag name after '<', got {}",
                    excerpt(inner)
                )));
            }
            return Ok(Some(Token::Open(name)));
        }
    }

    /// Reads the rest of an element whose open tag was just read.
    fn element(&mut self, name: &str) -> Result<Element, ParseError> {
        let mut stack = vec![Element {
            name: name.to_string(),
            ..Default::default()
        }];
        loop {
            let Some(token) = self.next()? else {
                let open: Vec<String> = stack.iter().map(|e| format!("<{}>", e.name)).collect();
                return Err(self.err(format!(
                    "unexpected end of input inside {} — the file is truncated (valgrind killed \
                     or still running?)",
                    open.join(" ")
                )));
            };
            match token {
                Token::Open(child) => stack.push(Element {
                    name: child.to_string(),
                    ..Default::default()
                }),
                Token::Empty(child) => {
                    let top = stack.last_mut().expect("non-empty");
                    top.children.push(Element {
                        name: child.to_string(),
                        ..Default::default()
                    });
                }
                Token::Text(text) => {
                    let top = stack.last_mut().expect("non-empty");
                    top.text.push_str(&unescape(text));
                }
                Token::Close(closing) => {
                    let done = stack.pop().expect("non-empty");
                    if done.name != closing {
                        return Err(
                            self.err(format!("expected </{}>, got </{closing}>", done.name))
                        );
                    }
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
            }
        }
    }
}

fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn xml_frames(stack: Option<&Element>) -> Vec<Frame> {
    let Some(stack) = stack else {
        return Vec::new();
    };
    stack
        .children("frame")
        .map(|f| {
            let function = f
                .text_of("fn")
                .map(demangle_in_text)
                .or_else(|| f.text_of("ip").map(str::to_string))
                .unwrap_or_else(|| "???".to_string());
            let location = f.text_of("file").map(|file| {
                let path = match f.text_of("dir") {
                    Some(dir) if !dir.is_empty() => format!("{}/{file}", dir.trim_end_matches('/')),
                    _ => file.to_string(),
                };
                match f.text_of("line") {
                    Some(line) => format!("{path}:{line}"),
                    None => path,
                }
            });
            Frame {
                function,
                location,
                module: f.text_of("obj").map(str::to_string),
            }
        })
        .collect()
}

pub(super) fn parse_xml(text: &str, top: usize) -> Result<LeakReport, ParseError> {
    let mut tokens = Tokenizer {
        text,
        pos: 0,
        line: 1,
    };
    // Find the root.
    loop {
        match tokens.next()? {
            Some(Token::Open("valgrindoutput")) => break,
            Some(Token::Text(t)) if t.trim().is_empty() => {}
            Some(Token::Open(other)) | Some(Token::Empty(other)) | Some(Token::Close(other)) => {
                return Err(tokens.err(format!(
                    "expected <valgrindoutput>, got <{other}> — not valgrind's XML"
                )))
            }
            Some(Token::Text(t)) => {
                return Err(tokens.err(format!("expected <valgrindoutput>, got {}", excerpt(t))))
            }
            None => return Err(tokens.err("expected <valgrindoutput>, got the end of the input")),
        }
    }
    let mut report = LeakReport {
        command: None,
        definitely_lost: Lost::default(),
        indirectly_lost: Lost::default(),
        possibly_lost: Lost::default(),
        still_reachable: Lost::default(),
        totals_complete: false,
        error_count: 0,
        errors: Vec::new(),
        top_leaks: Vec::new(),
        heap_summary: None,
    };
    let mut leaks: Vec<LossRecord> = Vec::new();
    // Non-leak errors by their `unique` id, to be counted by <errorcounts>.
    let mut errors: Vec<(String, MemoryError)> = Vec::new();
    let mut counts: Vec<(String, u64)> = Vec::new();
    let mut closed = false;
    let mut tool_checked = false;
    while let Some(token) = tokens.next()? {
        let name = match token {
            Token::Open(name) => name,
            Token::Close("valgrindoutput") => {
                closed = true;
                break;
            }
            Token::Close(other) => return Err(tokens.err(format!("unexpected </{other}>"))),
            Token::Empty(_) | Token::Text(_) => continue,
        };
        let line = tokens.line;
        let element = tokens.element(name)?;
        match element.name.as_str() {
            "protocoltool" => {
                tool_checked = true;
                if element.text.trim() != "memcheck" {
                    return Err(ParseError::at(
                        WHAT_XML,
                        line,
                        format!(
                            "expected <protocoltool>memcheck</protocoltool>, got {}",
                            excerpt(&element.text)
                        ),
                    ));
                }
            }
            "args" => {
                if let Some(vargv) = element.child("vargv") {
                    report.totals_complete = vargv.children("arg").any(|a| {
                        a.text
                            .trim()
                            .strip_prefix("--show-leak-kinds=")
                            .is_some_and(|v| {
                                v == "all"
                                    || ["definite", "indirect", "possible", "reachable"]
                                        .iter()
                                        .all(|k| v.contains(k))
                            })
                    });
                }
                if let Some(argv) = element.child("argv") {
                    let mut parts: Vec<&str> = argv.text_of("exe").into_iter().collect();
                    parts.extend(argv.children("arg").map(|a| a.text.trim()));
                    report.command = Some(parts.join(" "));
                }
            }
            "error" => {
                let kind = element.text_of("kind").unwrap_or("").to_string();
                let stack = xml_frames(element.child("stack"));
                if let Some(leak_kind) = LeakKind::from_xml(&kind) {
                    let xwhat = element.child("xwhat").ok_or_else(|| {
                        ParseError::at(WHAT_XML, line, format!("a {kind} <error> without <xwhat>"))
                    })?;
                    let field = |name: &str| -> Result<u64, ParseError> {
                        xwhat.text_of(name).and_then(number).ok_or_else(|| {
                            ParseError::at(
                                WHAT_XML,
                                line,
                                format!("a {kind} <error> without a numeric <{name}>"),
                            )
                        })
                    };
                    let bytes = field("leakedbytes")?;
                    let blocks = field("leakedblocks")?;
                    let (direct_bytes, indirect_bytes) =
                        direct_indirect(xwhat.text_of("text").unwrap_or("")).unwrap_or((bytes, 0));
                    leaks.push(LossRecord {
                        kind: leak_kind,
                        bytes,
                        direct_bytes,
                        indirect_bytes,
                        blocks,
                        stack,
                    });
                } else {
                    let what = element
                        .text_of("what")
                        .or_else(|| element.child("xwhat").and_then(|x| x.text_of("text")))
                        .unwrap_or("")
                        .to_string();
                    let unique = element.text_of("unique").unwrap_or("").to_string();
                    errors.push((
                        unique,
                        MemoryError {
                            kind,
                            what,
                            count: 1,
                            stack,
                        },
                    ));
                }
            }
            "errorcounts" => {
                for pair in element.children("pair") {
                    let count = pair.text_of("count").and_then(number).unwrap_or(0);
                    counts.push((pair.text_of("unique").unwrap_or("").to_string(), count));
                }
            }
            _ => {}
        }
    }
    if !closed {
        return Err(ParseError::new(
            WHAT_XML,
            None,
            format!(
                "unexpected end of input after line {}: expected </valgrindoutput> — the file is \
                 truncated (valgrind killed or still running?)",
                tokens.line
            ),
        ));
    }
    if !tool_checked {
        return Err(ParseError::new(
            WHAT_XML,
            None,
            "no <protocoltool>: expected memcheck's XML",
        ));
    }
    for record in &leaks {
        let total = match record.kind {
            LeakKind::DefinitelyLost => &mut report.definitely_lost,
            LeakKind::IndirectlyLost => &mut report.indirectly_lost,
            LeakKind::PossiblyLost => &mut report.possibly_lost,
            LeakKind::StillReachable => &mut report.still_reachable,
        };
        // A record's bytes include what its blocks point to; those blocks
        // have their own (indirectly lost) records, so count direct bytes.
        total.bytes += record.direct_bytes;
        total.blocks += record.blocks;
    }
    for (unique, error) in &mut errors {
        if let Some((_, count)) = counts.iter().find(|(u, _)| u == unique) {
            error.count = *count;
        }
    }
    report.error_count = if counts.is_empty() {
        errors.len() as u64
    } else {
        counts.iter().map(|(_, c)| c).sum()
    };
    report.errors = errors.into_iter().map(|(_, e)| e).take(top).collect();
    report.top_leaks = top_leaks(leaks, top);
    Ok(report)
}
