//! Where a key stands in `profiling.toml`: the checks of loading run on the
//! typed config, but their errors must point at the offending key, and most
//! typed fields carry no span. So the text is parsed a second time into
//! toml's span-keeping document tree, and an error looks its key up by path
//! (`defaults.runs`, `scales[1].name`, `workloads.demo.metrics[0].pattern`).

use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One step of a path into the document: a table key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

pub(super) use Step::{Index, Key};

/// The document with the spans of its keys and values.
pub(super) struct Locator<'i> {
    root: Option<Spanned<DeTable<'i>>>,
}

impl<'i> Locator<'i> {
    /// Parses `text`; a text that does not parse (which serde has reported
    /// already) locates nothing.
    pub(super) fn new(text: &'i str) -> Locator<'i> {
        Locator {
            root: DeTable::parse(text).ok(),
        }
    }

    /// The span of the key at `path` (for an array element, of the array's
    /// key), or of the closest ancestor key that is written in the file: a
    /// value left at its default has no place of its own, but its table does.
    pub(super) fn key(&self, path: &[Step]) -> Option<Range<usize>> {
        self.walk(path).map(|found| found.key)
    }

    /// The span of the value at `path` (or of the closest ancestor's key).
    pub(super) fn value(&self, path: &[Step]) -> Option<Range<usize>> {
        self.walk(path)
            .map(|found| found.value.filter(|_| found.complete).unwrap_or(found.key))
    }

    fn walk(&self, path: &[Step]) -> Option<Found> {
        let root = self.root.as_ref()?;
        let mut table: Option<&DeTable> = Some(root.get_ref());
        let mut array: Option<&[Spanned<DeValue>]> = None;
        let mut found: Option<Found> = None;
        for step in path {
            let next = match (step, table, array) {
                (Key(name), Some(t), _) => t
                    .iter()
                    .find(|(k, _)| k.get_ref().as_ref() == *name)
                    .map(|(k, v)| (k.span(), v)),
                (Index(i), _, Some(items)) => items.get(*i).map(|v| {
                    // An array element has no key: it keeps its array's.
                    let key = found.as_ref().map_or(v.span(), |f| f.key.clone());
                    (key, v)
                }),
                _ => None,
            };
            let Some((key, value)) = next else {
                if let Some(found) = found.as_mut() {
                    found.complete = false;
                }
                return found;
            };
            table = value.get_ref().as_table();
            array = value.get_ref().as_array().map(|a| &a[..]);
            found = Some(Found {
                key,
                value: Some(value.span()),
                complete: true,
            });
        }
        found
    }
}

struct Found {
    key: Range<usize>,
    value: Option<Range<usize>>,
    /// The whole path was found, not only an ancestor.
    complete: bool,
}
