//! The checks of `[defaults]`, `[thresholds]` and `[[scales]]`, and of
//! the durations every table may set.

use super::values::{check_event, check_frequency, is_label_form, EVENT_FORM};
use super::{line_column, undeclared, Checks, ConfigError};
use crate::config::bounds::{self, Bound};
use crate::config::locate::{Index, Key, Locator, Step};
use crate::config::schema::{Defaults, Scale, Thresholds};
use std::collections::BTreeMap;
use std::ops::Range;

impl Checks<'_> {
    pub(super) fn defaults(&self, defaults: &Defaults) -> Result<(), ConfigError> {
        let at = |key| [Key("defaults"), Key(key)];
        for (key, value) in [
            ("runs", u64::from(defaults.runs)),
            ("warmup", u64::from(defaults.warmup)),
            ("keep", defaults.keep as u64),
            ("annotate", defaults.annotate as u64),
        ] {
            let (_, bound, usual) = bounded_default(key).expect("a bounded key");
            if !bound.contains(value) {
                let (message, help) = out_of_bound(key, bound, usual, &value.to_string());
                return Err(self.at_key(&at(key), message, Some(help)));
            }
        }
        let count = defaults.events.len() as u64;
        if !bounds::EVENTS.contains(count) {
            return Err(self.at_key(
                &at("events"),
                format!(
                    "`defaults.events` lists {count} events: at most {} are allowed",
                    bounds::EVENTS.max
                ),
                Some("each event is one more profiled run: keep the ones to look at".into()),
            ));
        }
        for (i, event) in defaults.events.iter().enumerate() {
            if let Err(message) = check_event(event) {
                return Err(self.at_value(
                    &[Key("defaults"), Key("events"), Index(i)],
                    format!("`defaults.events`: {message}"),
                    Some(EVENT_FORM.into()),
                ));
            }
        }
        check_frequency(defaults.frequency).map_err(|(message, help)| {
            self.at_key(
                &at("frequency"),
                format!("`defaults.frequency`: {message}"),
                Some(help),
            )
        })?;
        self.seconds(&at("timeout"), "`defaults.timeout`", Some(defaults.timeout))?;
        for (key, value) in [
            ("results_dir", &defaults.results_dir),
            ("build_profile", &defaults.build_profile),
        ] {
            if value.trim().is_empty() {
                return Err(self.at_key(
                    &at(key),
                    format!("`defaults.{key}` must not be empty"),
                    Some(format!(
                        "remove the line to use the default ({})",
                        if key == "results_dir" {
                            "results"
                        } else {
                            "profiling"
                        }
                    )),
                ));
            }
        }
        Ok(())
    }

    pub(super) fn thresholds(&self, t: &Thresholds) -> Result<(), ConfigError> {
        for (key, value) in [
            ("noise", t.noise),
            ("time", t.time),
            ("throughput", t.throughput),
            ("latency", t.latency),
            ("memory", t.memory),
            ("instructions", t.instructions),
            ("heap_growth", t.heap_growth),
        ] {
            if !(value.is_finite() && (0.0..=1e6).contains(&value)) {
                return Err(self.at_key(
                    &[Key("thresholds"), Key(key)],
                    format!("`thresholds.{key}` must be a percentage of 0 or more, not {value}"),
                    Some(
                        "allowed: a finite number from 0 to 1e6, in percent (5.0 means 5 %)".into(),
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(super) fn scales(&self, scales: &[Scale]) -> Result<(), ConfigError> {
        if !bounds::SCALES.contains(scales.len() as u64) {
            return Err(self.at_key(
                &[Key("scales"), Index(bounds::SCALES.max as usize)],
                format!(
                    "{} [[scales]] are declared: at most {} are allowed",
                    scales.len(),
                    bounds::SCALES.max
                ),
                Some("`--scale all` runs every one: keep the sizes worth comparing".into()),
            ));
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, scale) in scales.iter().enumerate() {
            let at = |key| [Key("scales"), Index(i), Key(key)];
            if !is_label_form(&scale.name) {
                return Err(self.at_key(
                    &at("name"),
                    format!("scale name `{}` cannot name a directory", scale.name),
                    Some("use 1-64 letters, digits, `-`, `_` or `.`, not starting with `.`".into()),
                ));
            }
            if let Some(first) = seen.insert(&scale.name, i) {
                let first_line = self
                    .locator
                    .key(&[Key("scales"), Index(first), Key("name")])
                    .map(|s| line_column(self.text, s.start).0);
                return Err(self.at_key(
                    &at("name"),
                    format!("scale `{}` is declared twice", scale.name),
                    Some(match first_line {
                        Some(line) => format!("the first is on line {line}: rename one of them"),
                        None => "rename one of them".into(),
                    }),
                ));
            }
            for (key, value) in &scale.params {
                let Some(param) = self.params.get(key.get_ref()) else {
                    let (span, message, help) =
                        undeclared(key.get_ref(), key.span(), self.params, "scale");
                    return Err(self.error(Some(span), message, help));
                };
                if !param.default.accepts(&value.to_string()) {
                    return Err(self.error(
                        Some(key.span()),
                        format!(
                            "scale `{}` sets `{}` to `{value}`, but the parameter is {} (its default is {})",
                            scale.name,
                            key.get_ref(),
                            param.default.kind(),
                            param.default
                        ),
                        Some(format!("give {} value, like the default", an(param.default.kind()))),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Timeouts and durations: finite, positive, and small enough for a Duration.
    pub(super) fn seconds(
        &self,
        path: &[Step],
        what: &str,
        value: Option<f64>,
    ) -> Result<(), ConfigError> {
        match value {
            Some(v) if !(v.is_finite() && v > 0.0 && v <= bounds::MAX_SECONDS) => Err(self.at_key(
                path,
                format!("{what} must be a positive number of seconds, not {v}"),
                Some(format!(
                    "allowed: more than 0 and at most {:e}",
                    bounds::MAX_SECONDS
                )),
            )),
            _ => Ok(()),
        }
    }
}

/// The counts of `[defaults]`: key, bound, and what is usual (for the hint).
const BOUNDED_DEFAULTS: [(&str, Bound, &str); 4] = [
    ("runs", bounds::RUNS, "5 is usual"),
    ("warmup", bounds::WARMUP, "1 is usual"),
    ("keep", bounds::KEEP, "0 keeps only pinned results"),
    ("annotate", bounds::ANNOTATE, "0 turns it off"),
];

fn bounded_default(key: &str) -> Option<(&'static str, Bound, &'static str)> {
    BOUNDED_DEFAULTS.into_iter().find(|(k, _, _)| *k == key)
}

/// The error of the bounded count of `[defaults]` whose value stands at
/// `span`, if one does.
pub(super) fn bounded_default_at(text: &str, span: Range<usize>) -> Option<(String, String)> {
    let locator = Locator::new(text);
    let (key, bound, usual) = BOUNDED_DEFAULTS
        .into_iter()
        .find(|(key, _, _)| locator.value(&[Key("defaults"), Key(key)]) == Some(span.clone()))?;
    Some(out_of_bound(key, bound, usual, text.get(span)?.trim()))
}

/// The message and help of `defaults.KEY = value`, out of its bound.
fn out_of_bound(key: &str, bound: Bound, usual: &str, value: &str) -> (String, String) {
    (
        format!("`defaults.{key}` must be {bound}, not {value}"),
        format!(
            "allowed: a whole number of {} {bound} ({usual})",
            bound.what
        ),
    )
}

/// "a" or "an" before a kind's name.
fn an(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}
