//! What people read: flamegraphs, function tables, Markdown summaries.

pub mod allocation_sources;
pub mod bmf;
pub mod chart;
pub mod ci_workflow;
pub mod compare;
pub mod csv;
pub mod export;
pub mod flamegraph;
pub mod functions;
#[cfg(test)]
mod golden;
pub mod html;
pub mod html_scales;
pub mod html_verdicts;
pub mod markdown;
pub mod markdown_text;
pub mod memory_tables;
pub mod pprof;
pub mod speedscope;
pub mod stdout;
pub mod table;
pub mod units;
pub mod viewer;
