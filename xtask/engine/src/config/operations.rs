//! How a server's load counts the operations it made (`ops` in a load
//! table): per-operation measures divide the server's costs by it, so that a
//! server that served more requests in the same time is not called slower
//! for spending more in all.

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// `ops = { metric = "requests" }`, `{ count = "{requests}" }` or
/// `{ rate = "ops_per_sec" }`: exactly one of the three.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ops {
    /// A metric of the load that counts its operations.
    pub metric: Option<String>,
    /// A fixed count, as a load like `redis-benchmark -n N` makes: a number
    /// or a `{placeholder}`, as a string.
    pub count: Option<Spanned<String>>,
    /// A metric of the load in operations per second, times the load's own
    /// wall time.
    pub rate: Option<String>,
}

/// Where a load's operation count comes from, once its placeholders are
/// expanded.
#[derive(Debug, Clone, PartialEq)]
pub enum OpsSource {
    Metric(String),
    Count(f64),
    Rate(String),
}

impl OpsSource {
    /// The operations of one load run, from its metrics and wall time; None
    /// when the metric is missing or the count is not positive.
    pub fn operations(
        &self,
        metrics: &std::collections::BTreeMap<String, f64>,
        wall_s: f64,
    ) -> Option<f64> {
        let ops = match self {
            OpsSource::Metric(name) => *metrics.get(name)?,
            OpsSource::Count(count) => *count,
            OpsSource::Rate(name) => metrics.get(name)? * wall_s,
        };
        (ops.is_finite() && ops > 0.0).then_some(ops)
    }

    /// How the count was made, for a result's notes.
    pub fn describe(&self) -> String {
        match self {
            OpsSource::Metric(name) => format!("the load's metric `{name}`"),
            OpsSource::Count(count) => format!("a fixed {count} per load run"),
            OpsSource::Rate(name) => format!("the load's `{name}` times its wall time"),
        }
    }
}

impl Ops {
    /// The keys that are set, in the order of the docs.
    pub fn keys_set(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        if self.metric.is_some() {
            set.push("metric");
        }
        if self.count.is_some() {
            set.push("count");
        }
        if self.rate.is_some() {
            set.push("rate");
        }
        set
    }

    /// The source with `values` expanded into a count.
    pub fn source(
        &self,
        values: &std::collections::BTreeMap<String, String>,
    ) -> Result<OpsSource, String> {
        if let Some(name) = &self.metric {
            return Ok(OpsSource::Metric(name.clone()));
        }
        if let Some(name) = &self.rate {
            return Ok(OpsSource::Rate(name.clone()));
        }
        let Some(count) = &self.count else {
            return Err("`ops` needs one of `metric`, `count` or `rate`".into());
        };
        let text = super::expand(count.get_ref(), values)?;
        match text.trim().parse::<f64>() {
            Ok(n) if n.is_finite() && n > 0.0 => Ok(OpsSource::Count(n)),
            _ => Err(format!(
                "`ops.count` is `{text}`: a positive number of operations is expected"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn counts_operations_from_a_metric_a_count_or_a_rate() {
        let metrics = BTreeMap::from([("ops".to_string(), 500.0), ("rate".to_string(), 100.0)]);
        assert_eq!(
            OpsSource::Metric("ops".into()).operations(&metrics, 2.0),
            Some(500.0)
        );
        assert_eq!(
            OpsSource::Rate("rate".into()).operations(&metrics, 2.5),
            Some(250.0)
        );
        assert_eq!(OpsSource::Count(7.0).operations(&metrics, 9.0), Some(7.0));
        assert_eq!(
            OpsSource::Metric("gone".into()).operations(&metrics, 1.0),
            None
        );
        let zero = BTreeMap::from([("ops".to_string(), 0.0)]);
        assert_eq!(OpsSource::Metric("ops".into()).operations(&zero, 1.0), None);
    }

    #[test]
    fn expands_a_fixed_count() {
        let ops: Ops = toml::from_str("count = \"{n}\"").unwrap();
        let values = BTreeMap::from([("n".to_string(), "2000".to_string())]);
        assert_eq!(ops.source(&values), Ok(OpsSource::Count(2000.0)));
        let bad = BTreeMap::from([("n".to_string(), "many".to_string())]);
        assert!(ops.source(&bad).unwrap_err().contains("positive number"));
    }
}
