//! The reader of memcheck's XML (`--xml=yes`, protocol 4): the document as
//! a tree of elements, then the loss records, the other memory errors and
//! their counts read out of it. Kept apart from the report types in
//! `mod.rs` because it is most of the parsing code.

use super::{
    direct_indirect, number, top_leaks, LeakKind, LeakReport, LossRecord, Lost, MemoryError,
};
use crate::tools::demangle::demangle_in_text;
use crate::tools::memory_model::{excerpt, Frame, ParseError};
use quick_xml::encoding::EncodingError;
use quick_xml::events::Event;
use quick_xml::name::QName;
use quick_xml::Reader;
use std::borrow::Cow;

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

/// What [`XmlReader::next`] returns; comments, declarations and processing
/// instructions are skipped.
enum Token<'a> {
    Open(String),
    Close(String),
    /// `<x/>`
    Empty(String),
    /// Character data, a CDATA section's content, or one resolved `&…;`.
    Text(Cow<'a, str>),
}

/// quick-xml's reader over valgrind's XML: its events as [`Token`]s, lines
/// counted for the error messages, and whole elements read into [`Element`]s.
struct XmlReader<'a> {
    text: &'a str,
    reader: Reader<&'a [u8]>,
    /// How far into `text` lines have been counted.
    pos: usize,
    line: usize,
}

impl<'a> XmlReader<'a> {
    fn new(text: &'a str) -> Self {
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        // Mismatched and stray end tags are reported by `element` and
        // `parse_xml`, with the elements still open.
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        // A `&` without `;` is kept as text.
        config.allow_dangling_amp = true;
        XmlReader {
            text,
            reader,
            pos: 0,
            line: 1,
        }
    }

    fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError::at(WHAT_XML, self.line, message)
    }

    fn advance(&mut self, to: usize) {
        let to = to.min(self.text.len());
        if to > self.pos {
            self.line += self.text.as_bytes()[self.pos..to]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.pos = to;
        }
    }

    fn next(&mut self) -> Result<Option<Token<'a>>, ParseError> {
        loop {
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(error) => {
                    // The line where the markup in error starts.
                    self.advance(self.reader.error_position() as usize);
                    return Err(self.err(describe(&error)));
                }
            };
            self.advance(self.reader.buffer_position() as usize);
            let name = |name: QName| String::from_utf8_lossy(name.as_ref()).into_owned();
            let decoded = |text: Result<Cow<'a, str>, EncodingError>| {
                text.map_err(|e| self.err(format!("undecodable text: {e}")))
            };
            return Ok(Some(match event {
                Event::Start(tag) => {
                    if tag.name().as_ref().is_empty() {
                        return Err(self.err(format!(
                            "expected a tag name after '<', got {}",
                            excerpt(&String::from_utf8_lossy(&tag))
                        )));
                    }
                    Token::Open(name(tag.name()))
                }
                Event::Empty(tag) => Token::Empty(name(tag.name())),
                Event::End(tag) => Token::Close(name(tag.name())),
                Event::Text(text) => Token::Text(decoded(text.decode())?),
                Event::CData(text) => Token::Text(decoded(text.decode())?),
                Event::GeneralRef(reference) => {
                    Token::Text(Cow::Owned(resolve(&decoded(reference.decode())?)))
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => continue,
                Event::Eof => return Ok(None),
            }));
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
                    name: child,
                    ..Default::default()
                }),
                Token::Empty(child) => {
                    let top = stack.last_mut().expect("non-empty");
                    top.children.push(Element {
                        name: child,
                        ..Default::default()
                    });
                }
                Token::Text(text) => {
                    let top = stack.last_mut().expect("non-empty");
                    top.text.push_str(&text);
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

/// What a quick-xml error means for a memcheck file: most often that it is
/// cut short (valgrind killed, or still writing).
fn describe(error: &quick_xml::Error) -> String {
    use quick_xml::errors::SyntaxError;
    let inside = match error {
        quick_xml::Error::Syntax(syntax) => match syntax {
            SyntaxError::UnclosedPI | SyntaxError::UnclosedXmlDecl => "a processing instruction",
            SyntaxError::UnclosedComment => "a comment",
            SyntaxError::UnclosedDoctype | SyntaxError::UnclosedCData => "a declaration",
            SyntaxError::UnclosedTag
            | SyntaxError::UnclosedSingleQuotedAttributeValue
            | SyntaxError::UnclosedDoubleQuotedAttributeValue => "a tag",
            SyntaxError::InvalidBangMarkup => return format!("not well-formed XML: {error}"),
        },
        _ => return format!("not well-formed XML: {error}"),
    };
    format!("unexpected end of input inside {inside} — the file is truncated")
}

/// `&name;`: the five predefined entities and character references; any
/// other reference is kept as written.
fn resolve(name: &str) -> String {
    let decoded = match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => name
            .strip_prefix("#x")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
            .and_then(char::from_u32),
    };
    match decoded {
        Some(c) => c.to_string(),
        None => format!("&{name};"),
    }
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
    let mut tokens = XmlReader::new(text);
    find_root(&mut tokens)?;
    let mut document = Document::new();
    let mut closed = false;
    while let Some(token) = tokens.next()? {
        let name = match token {
            Token::Open(name) => name,
            Token::Close(name) if name == "valgrindoutput" => {
                closed = true;
                break;
            }
            Token::Close(other) => return Err(tokens.err(format!("unexpected </{other}>"))),
            Token::Empty(_) | Token::Text(_) => continue,
        };
        let line = tokens.line;
        let element = tokens.element(&name)?;
        document.read(&element, line)?;
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
    if !document.tool_checked {
        return Err(ParseError::new(
            WHAT_XML,
            None,
            "no <protocoltool>: expected memcheck's XML",
        ));
    }
    Ok(document.into_report(top))
}

/// Reads up to the open tag of the root, `<valgrindoutput>`.
fn find_root(tokens: &mut XmlReader) -> Result<(), ParseError> {
    loop {
        match tokens.next()? {
            Some(Token::Open(name)) if name == "valgrindoutput" => return Ok(()),
            Some(Token::Text(t)) if t.trim().is_empty() => {}
            Some(Token::Open(other)) | Some(Token::Empty(other)) | Some(Token::Close(other)) => {
                return Err(tokens.err(format!(
                    "expected <valgrindoutput>, got <{other}> — not valgrind's XML"
                )))
            }
            Some(Token::Text(t)) => {
                return Err(tokens.err(format!("expected <valgrindoutput>, got {}", excerpt(&t))))
            }
            None => return Err(tokens.err("expected <valgrindoutput>, got the end of the input")),
        }
    }
}

/// What the root's elements have told so far, read one element at a time.
struct Document {
    report: LeakReport,
    leaks: Vec<LossRecord>,
    /// Non-leak errors by their `unique` id, to be counted by <errorcounts>.
    errors: Vec<(String, MemoryError)>,
    counts: Vec<(String, u64)>,
    tool_checked: bool,
}

impl Document {
    fn new() -> Self {
        Document {
            report: LeakReport {
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
            },
            leaks: Vec::new(),
            errors: Vec::new(),
            counts: Vec::new(),
            tool_checked: false,
        }
    }

    /// One child of the root, which starts on `line`; those that say
    /// nothing about leaks or errors are skipped.
    fn read(&mut self, element: &Element, line: usize) -> Result<(), ParseError> {
        match element.name.as_str() {
            "protocoltool" => self.protocol_tool(element, line)?,
            "args" => self.args(element),
            "error" => self.error(element, line)?,
            "errorcounts" => self.error_counts(element),
            _ => {}
        }
        Ok(())
    }

    fn protocol_tool(&mut self, element: &Element, line: usize) -> Result<(), ParseError> {
        self.tool_checked = true;
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
        Ok(())
    }

    /// valgrind's own options (whether every kind of loss was listed) and
    /// the profiled command line.
    fn args(&mut self, element: &Element) {
        let report = &mut self.report;
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

    /// A loss record, or another memory error.
    fn error(&mut self, element: &Element, line: usize) -> Result<(), ParseError> {
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
            self.leaks.push(LossRecord {
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
            self.errors.push((
                unique,
                MemoryError {
                    kind,
                    what,
                    count: 1,
                    stack,
                },
            ));
        }
        Ok(())
    }

    /// How many times each error (by its `unique` id) occurred.
    fn error_counts(&mut self, element: &Element) {
        for pair in element.children("pair") {
            let count = pair.text_of("count").and_then(number).unwrap_or(0);
            self.counts
                .push((pair.text_of("unique").unwrap_or("").to_string(), count));
        }
    }

    /// The report: totals of the loss records, errors with their counts,
    /// and the `top` of each.
    fn into_report(mut self, top: usize) -> LeakReport {
        let report = &mut self.report;
        for record in &self.leaks {
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
        for (unique, error) in &mut self.errors {
            if let Some((_, count)) = self.counts.iter().find(|(u, _)| u == unique) {
                error.count = *count;
            }
        }
        report.error_count = if self.counts.is_empty() {
            self.errors.len() as u64
        } else {
            self.counts.iter().map(|(_, c)| c).sum()
        };
        report.errors = self.errors.into_iter().map(|(_, e)| e).take(top).collect();
        report.top_leaks = top_leaks(self.leaks, top);
        self.report
    }
}
