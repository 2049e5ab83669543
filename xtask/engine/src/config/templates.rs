//! `{name}` placeholders in the strings of a workload (arguments, env,
//! command, cwd, filter, ready port): finding their names, so that loading
//! can check each names a declared parameter, and expanding them with the
//! parameter values of a run. `{{` and `}}` are literal braces.

use std::collections::BTreeMap;

/// The `{name}` placeholders in a template; `{{` and `}}` are literal braces.
pub fn placeholder_names(template: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    expand_with(template, |name| {
        names.push(name.to_string());
        Some(String::new())
    })?;
    Ok(names)
}

/// Replaces `{name}` placeholders with parameter values.
pub fn expand(template: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    expand_with(template, |name| values.get(name).cloned())
}

fn expand_with(
    template: &str,
    mut value_of: impl FnMut(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let rest = &template[i + 1..];
                let end = rest
                    .find('}')
                    .ok_or_else(|| format!("unclosed `{{` in `{template}`"))?;
                let name = &rest[..end];
                if !is_identifier(name) {
                    return Err(format!(
                        "`{{{name}}}` in `{template}` is not a parameter name"
                    ));
                }
                let value = value_of(name).ok_or_else(|| {
                    format!("no value for placeholder `{{{name}}}` in `{template}`")
                })?;
                out.push_str(&value);
                for _ in 0..=end {
                    chars.next();
                }
            }
            '}' => return Err(format!("unmatched `}}` in `{template}`")),
            c => out.push(c),
        }
    }
    Ok(out)
}

pub(super) fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_expand_and_escape() {
        let values: BTreeMap<String, String> = [
            ("subs".to_string(), "50000".to_string()),
            ("out-dir".to_string(), "/tmp/x y".to_string()),
        ]
        .into();
        assert_eq!(expand("--subs={subs}", &values).unwrap(), "--subs=50000");
        // A value with spaces stays one argument: no shell is involved.
        assert_eq!(expand("{out-dir}", &values).unwrap(), "/tmp/x y");
        assert_eq!(
            expand("{{literal}} {subs}", &values).unwrap(),
            "{literal} 50000"
        );
        assert!(expand("{nope}", &values).unwrap_err().contains("`{nope}`"));
        assert!(expand("{subs", &values).unwrap_err().contains("unclosed"));
        assert!(expand("a}b", &values).unwrap_err().contains("unmatched"));
        assert_eq!(
            placeholder_names("{a} and {b} {{c}}").unwrap(),
            vec!["a", "b"]
        );
    }
}
