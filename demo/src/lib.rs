//! The demo workload's code, as a library so that its criterion bench
//! (`benches/generate.rs`) can call it; `src/main.rs` is the `cdr-demo` CLI.

pub mod generate;
pub mod rng;
pub mod service;
pub mod store;

/// Parses `--name value` pairs; every mode shares this tiny flag reader.
pub fn flag_pairs(args: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut iter = args.iter();
    while let Some(flag) = iter.next() {
        let Some(name) = flag.strip_prefix("--") else {
            return Err(format!("unexpected argument `{flag}`"));
        };
        if let Some((name, value)) = name.split_once('=') {
            pairs.push((name.to_string(), value.to_string()));
            continue;
        }
        let value = iter
            .next()
            .ok_or_else(|| format!("flag `--{name}` needs a value"))?;
        pairs.push((name.to_string(), value.clone()));
    }
    Ok(pairs)
}

pub fn parse_number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("`--{name} {value}`: not a valid number"))
}
