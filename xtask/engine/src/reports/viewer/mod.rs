//! `viewer.html`: one self-contained page per result (HTML, JavaScript and
//! CSS written here and built into the binary) showing every folded profile
//! of the result as a flame graph with zoom and search, a sortable function
//! table and a sandwich view. It works from `file://` with no network: the
//! profiles are embedded as JSON, each aggregated into a call tree once here
//! so that the page only draws.

pub mod profiles;

use crate::results::write_atomically;
use profiles::Profile;
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use profiles::collect;

/// The viewer's file in a result's directory.
pub const FILE: &str = "viewer.html";

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("viewer.js");
const STYLE: &str = include_str!("viewer.css");

/// A call tree in preorder: node `i` is `names[name[i]]`, weighs `value[i]`
/// (itself and everything it called) and lies at `depth[i]`; node 0 is the
/// root, `all`. Siblings are sorted by name, as in a flame graph.
#[derive(Debug, Default, PartialEq)]
pub struct Tree {
    pub names: Vec<String>,
    pub name: Vec<u32>,
    pub value: Vec<u64>,
    pub depth: Vec<u32>,
}

/// Aggregates folded stacks into their call tree: equal prefixes merge.
pub fn tree(stacks: &[(Vec<String>, u64)]) -> Tree {
    let mut names: Vec<String> = vec!["all".to_string()];
    let mut name_ids: HashMap<&str, u32> = HashMap::new();
    // Arena: (name, value, children); children found by (parent, name).
    let mut nodes: Vec<(u32, u64, Vec<usize>)> = vec![(0, 0, Vec::new())];
    let mut child_of: HashMap<(usize, u32), usize> = HashMap::new();
    for (frames, weight) in stacks {
        nodes[0].1 += weight;
        let mut at = 0;
        for frame in frames {
            let id = *name_ids.entry(frame.as_str()).or_insert_with(|| {
                names.push(frame.clone());
                (names.len() - 1) as u32
            });
            let next = match child_of.get(&(at, id)) {
                Some(&next) => next,
                None => {
                    nodes.push((id, 0, Vec::new()));
                    let next = nodes.len() - 1;
                    nodes[at].2.push(next);
                    child_of.insert((at, id), next);
                    next
                }
            };
            nodes[next].1 += weight;
            at = next;
        }
    }
    let mut out = Tree {
        names,
        ..Tree::default()
    };
    let mut pending = vec![(0usize, 0u32)];
    while let Some((at, depth)) = pending.pop() {
        let (name, value, children) = &nodes[at];
        out.name.push(*name);
        out.value.push(*value);
        out.depth.push(depth);
        let mut children = children.clone();
        // Popped last-in first-out: pushed in reverse name order.
        children
            .sort_by(|a, b| out.names[nodes[*b].0 as usize].cmp(&out.names[nodes[*a].0 as usize]));
        pending.extend(children.into_iter().map(|c| (c, depth + 1)));
    }
    out
}

/// JSON made safe inside a `<script>` element: no `</script>`, `<!--` or
/// line separator in a function's name can end the script or the string.
/// The escapes are JSON's own, so `JSON.parse` reads the same names.
pub fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn html_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page for the result `name` showing `profiles`.
pub fn render(name: &str, profiles: &[Profile]) -> String {
    let data: Vec<serde_json::Value> = profiles
        .iter()
        .map(|p| {
            let t = tree(&p.stacks);
            json!({
                "label": p.label, "path": p.path, "unit": p.unit,
                "names": t.names, "n": t.name, "v": t.value, "d": t.depth,
            })
        })
        .collect();
    let data = json!({ "result": name, "profiles": data });
    PAGE.replace("{{TITLE}}", &html_text(name))
        .replace("/*STYLE*/", STYLE)
        .replace("/*SCRIPT*/", SCRIPT)
        .replace("{{DATA}}", &script_safe(&data.to_string()))
}

/// Writes (or refreshes) `viewer.html` in the result directory `dir` from the
/// folded profiles there; None when it holds none.
pub fn write(dir: &Path, name: &str) -> anyhow::Result<Option<PathBuf>> {
    let profiles = collect(dir)?;
    if profiles.is_empty() {
        return Ok(None);
    }
    let path = dir.join(FILE);
    write_atomically(&path, render(name, &profiles))?;
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stacks(lines: &str) -> Vec<(Vec<String>, u64)> {
        profiles::parse_folded(lines).unwrap()
    }

    #[test]
    fn equal_prefixes_merge_into_one_tree_in_preorder_sorted_by_name() {
        let t = tree(&stacks(
            "main;b;x 2\nmain;a 3\nmain;b 1\nmain;b;x 4\nother 5\n",
        ));
        let rows: Vec<(&str, u64, u32)> = (0..t.name.len())
            .map(|i| (t.names[t.name[i] as usize].as_str(), t.value[i], t.depth[i]))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("all", 15, 0),
                ("main", 10, 1),
                ("a", 3, 2),
                ("b", 7, 2),
                ("x", 6, 3),
                ("other", 5, 1),
            ]
        );
    }

    #[test]
    fn recursion_keeps_one_name_and_a_node_per_level() {
        let t = tree(&stacks("f;f;f 1\n"));
        assert_eq!(t.names, vec!["all", "f"]);
        assert_eq!(t.depth, vec![0, 1, 2, 3]);
        assert_eq!(t.value, vec![1, 1, 1, 1]);
    }

    #[test]
    fn a_hostile_function_name_stays_inside_the_data() {
        let evil = "</script><script>alert(1)</script><!--\u{2028}";
        let profile = Profile {
            path: "cpu.folded".into(),
            label: "CPU".into(),
            unit: "samples",
            stacks: vec![(vec!["main".into(), evil.into()], 1)],
        };
        let page = render("r</title>", &[profile]);
        let start = page.find("id=\"profile-data\"").unwrap();
        let script = &page[start..];
        let end = script.find("</script>").unwrap();
        let data = &script[script.find('>').unwrap() + 1..end];
        assert!(!data.contains('<') && !data.contains('\u{2028}'), "{data}");
        // The escapes are JSON: the name reads back exactly.
        let value: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(value["profiles"][0]["names"][2], evil);
        assert!(page.contains("<title>r&lt;/title&gt;"));
        // One script of data and one of code, nothing injected.
        assert_eq!(page.matches("<script").count(), 2);
    }
}
