//! What people read: flamegraphs, function tables, Markdown summaries.

pub mod compare;
pub mod flamegraph;
pub mod functions;
pub mod markdown;
