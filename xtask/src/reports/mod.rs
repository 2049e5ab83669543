//! What people read: flamegraphs, function tables, Markdown summaries.

pub mod flamegraph;
pub mod functions;
pub mod markdown;
