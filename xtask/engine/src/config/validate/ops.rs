//! The check of a load's `ops`: one way of counting, on a load only, naming
//! a metric the load declares.

use super::workload::under;
use super::{Checks, ConfigError};
use crate::config::locate::{Key, Step};
use crate::config::schema::Workload;

impl Checks<'_> {
    pub(super) fn ops<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
        nested: bool,
    ) -> Result<(), ConfigError> {
        let Some(ops) = &workload.ops else {
            return Ok(());
        };
        let at = |rest: &[Step<'w>]| under(path, rest);
        if !nested {
            return Err(self.at_key(
                &at(&[Key("ops")]),
                format!("workload `{name}` has `ops`, which only a server's load can have"),
                Some(format!(
                    "move it to [workloads.{name}.load] (or a scenario): the load counts the operations"
                )),
            ));
        }
        let set = ops.keys_set();
        if set.len() != 1 {
            return Err(self.at_key(
                &at(&[Key("ops")]),
                format!(
                    "`ops` of `{name}` must set exactly one of `metric`, `count` or `rate` (it sets {})",
                    if set.is_empty() { "none".to_string() } else { set.join(" and ") }
                ),
                Some("`ops = { metric = \"requests\" }`, `ops = { count = \"{requests}\" }` or `ops = { rate = \"ops_per_sec\" }`".into()),
            ));
        }
        for (key, metric) in [("metric", &ops.metric), ("rate", &ops.rate)] {
            let Some(metric) = metric else { continue };
            if !workload.metrics.iter().any(|m| &m.name == metric) {
                let declared: Vec<&str> =
                    workload.metrics.iter().map(|m| m.name.as_str()).collect();
                return Err(self.at_value(
                    &at(&[Key("ops"), Key(key)]),
                    format!(
                        "`ops.{key}` of `{name}` names `{metric}`, which the load does not declare"
                    ),
                    Some(if declared.is_empty() {
                        format!("declare it under [[workloads.{name}.metrics]]")
                    } else {
                        format!("declared metrics: {}", declared.join(", "))
                    }),
                ));
            }
        }
        Ok(())
    }
}
