//! One side of an A/B comparison (`profile-compare --side SPEC`): a git
//! revision, a workload and parameter values, any of them left as they are.
//! `rev=v1.2`, `workload=raw`, `subs=31500`, `rev=HEAD,subs=100000`.

use super::Config;
use anyhow::bail;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SideSpec {
    /// As written, for titles and messages.
    pub text: String,
    pub rev: Option<String>,
    pub workload: Option<String>,
    /// Declared parameters, over the defaults and the `--NAME` flags.
    pub params: BTreeMap<String, String>,
}

impl SideSpec {
    /// A side that only names a revision (`--rev REV`).
    pub fn revision(rev: &str) -> SideSpec {
        SideSpec {
            text: format!("rev={rev}"),
            rev: Some(rev.to_string()),
            ..SideSpec::default()
        }
    }

    /// Parses `KEY=VALUE[,KEY=VALUE...]`; keys are `rev`, `workload` and the
    /// parameters `config` declares, each at most once, values typed like
    /// the parameter's default.
    pub fn parse(text: &str, config: &Config) -> anyhow::Result<SideSpec> {
        let mut side = SideSpec {
            text: text.to_string(),
            ..SideSpec::default()
        };
        if text.trim().is_empty() {
            bail!("--side needs KEY=VALUE pairs, e.g. `--side rev=HEAD~1` or `--side subs=30000`");
        }
        for part in text.split(',') {
            let Some((key, value)) = part.split_once('=') else {
                bail!("--side {text}: `{part}` is not KEY=VALUE");
            };
            let (key, value) = (key.trim(), value.trim());
            if value.is_empty() {
                bail!("--side {text}: `{key}` has no value");
            }
            let seen = match key {
                "rev" => side.rev.replace(value.to_string()).is_some(),
                "workload" => {
                    if !config.workloads.contains_key(value) {
                        let names: Vec<&str> =
                            config.workloads.keys().map(String::as_str).collect();
                        bail!(
                            "--side {text}: no workload `{value}` in {}{}",
                            config.path.display(),
                            super::suggest(value, &names)
                                .map(|s| format!("; {s}"))
                                .unwrap_or_else(|| format!("; declared: {}", names.join(", ")))
                        );
                    }
                    side.workload.replace(value.to_string()).is_some()
                }
                name => {
                    let Some(param) = config.params.get(name) else {
                        let mut keys = vec!["rev", "workload"];
                        keys.extend(config.params.keys().map(String::as_str));
                        bail!(
                            "--side {text}: `{name}` is neither `rev`, `workload` nor a parameter \
                             declared in {}{}",
                            config.path.display(),
                            super::suggest(name, &keys)
                                .map(|s| format!("; {s}"))
                                .unwrap_or_else(|| format!(" (keys: {})", keys.join(", ")))
                        );
                    };
                    if !param.default.accepts(value) {
                        let kind = param.default.kind();
                        let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                            "an"
                        } else {
                            "a"
                        };
                        bail!("--side {text}: `{name}` takes {article} {kind}, not `{value}`");
                    }
                    side.params
                        .insert(name.to_string(), value.to_string())
                        .is_some()
                }
            };
            if seen {
                bail!("--side {text}: `{key}` is given twice");
            }
        }
        Ok(side)
    }

    /// A result label: `rev-<short>` (the caller gives the short hash),
    /// the workload, `NAME-VALUE` per parameter, joined by `-`; only the
    /// characters labels allow.
    pub fn label(&self, short_commit: Option<&str>) -> String {
        let mut parts = Vec::new();
        if let Some(short) = short_commit {
            parts.push(format!("rev-{short}"));
        }
        parts.extend(self.workload.clone());
        parts.extend(self.params.iter().map(|(k, v)| format!("{k}-{v}")));
        let joined: String = parts
            .join("-")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let trimmed: String = joined.trim_start_matches('.').chars().take(56).collect();
        if trimmed.is_empty() {
            "side".into()
        } else {
            trimmed
        }
    }
}

/// One benchmark of one result, as `profile-compare RESULT#BENCH` names it:
/// `latest#insert/raw/100`, `before#criterion/insert/raw/100`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchmarkRef {
    /// The result, addressed as any result is (name, label, pin, `latest`).
    pub result: String,
    /// criterion's id of the benchmark, without the `criterion/` prefix.
    pub benchmark: String,
}

impl BenchmarkRef {
    /// Whether an argument names a benchmark (holds a `#`) rather than a result.
    pub fn is_benchmark(text: &str) -> bool {
        text.contains('#')
    }

    /// Parses `RESULT#BENCH`: the result before the first `#`, the
    /// benchmark id after it (criterion's ids may hold `/`, spaces and `#`).
    pub fn parse(text: &str) -> anyhow::Result<BenchmarkRef> {
        let Some((result, benchmark)) = text.split_once('#') else {
            bail!("`{text}` names no benchmark: write RESULT#BENCH, e.g. `latest#insert/raw/100`");
        };
        let benchmark = benchmark.strip_prefix("criterion/").unwrap_or(benchmark);
        if result.trim().is_empty() {
            bail!("`{text}` names no result before `#`: write RESULT#BENCH, e.g. `latest{text}`");
        }
        if benchmark.trim().is_empty() {
            bail!("`{text}` names no benchmark after `#`: write RESULT#BENCH, e.g. `{result}#insert/raw/100`");
        }
        Ok(BenchmarkRef {
            result: result.to_string(),
            benchmark: benchmark.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config() -> Config {
        Config::parse(
            Path::new("/p/profiling.toml"),
            "[params.subs]\ndefault = 100\n\n[params.mode]\ndefault = \"fast\"\n\n\
             [workloads.raw]\ncommand = \"true\"\n\n[workloads.wrapper]\ncommand = \"true\"\n",
        )
        .unwrap()
    }

    #[test]
    fn specs_name_revisions_workloads_and_parameters() {
        let config = config();
        let side = SideSpec::parse("rev=v1.2,subs=31500", &config).unwrap();
        assert_eq!(side.rev.as_deref(), Some("v1.2"));
        assert_eq!(side.params["subs"], "31500");
        assert_eq!(side.label(Some("abc1234")), "rev-abc1234-subs-31500");
        let side = SideSpec::parse("workload=wrapper, mode=a/b", &config).unwrap();
        assert_eq!(side.workload.as_deref(), Some("wrapper"));
        assert_eq!(side.label(None), "wrapper-mode-a_b");
        assert_eq!(
            SideSpec::revision("HEAD"),
            SideSpec::parse("rev=HEAD", &config).unwrap()
        );
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let config = config();
        let error = |text: &str| SideSpec::parse(text, &config).unwrap_err().to_string();
        assert!(
            error("sub=3").contains("did you mean `subs`?"),
            "{}",
            error("sub=3")
        );
        assert!(error("subs=many").contains("`subs` takes an integer, not `many`"));
        assert!(error("workload=raww").contains("did you mean `raw`?"));
        assert!(error("subs=1,subs=2").contains("given twice"));
        assert!(error("subs").contains("not KEY=VALUE"));
        assert!(error("rev=").contains("has no value"));
        assert!(error("").contains("KEY=VALUE"));
    }

    #[test]
    fn benchmarks_are_named_result_hash_id() {
        let named = BenchmarkRef::parse("latest#insert/raw_sled/100").unwrap();
        assert_eq!(named.result, "latest");
        assert_eq!(named.benchmark, "insert/raw_sled/100");
        let prefixed = BenchmarkRef::parse("before#criterion/group/f #2").unwrap();
        assert_eq!(
            (prefixed.result.as_str(), prefixed.benchmark.as_str()),
            ("before", "group/f #2")
        );
        assert!(BenchmarkRef::is_benchmark("latest#x") && !BenchmarkRef::is_benchmark("latest"));
        let error = |text: &str| BenchmarkRef::parse(text).unwrap_err().to_string();
        assert!(
            error("#insert/raw").contains("names no result before `#`"),
            "{}",
            error("#insert/raw")
        );
        assert!(error("latest#").contains("names no benchmark after `#`"));
        assert!(error("latest#criterion/").contains("names no benchmark after `#`"));
        assert!(error("latest").contains("write RESULT#BENCH"));
    }
}
