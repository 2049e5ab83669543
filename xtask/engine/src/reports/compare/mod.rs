//! The report of `cargo xtask profile-compare`: which measures changed
//! between two results (A, the baseline, and B, the new one), whether that is
//! beyond noise and beyond the configured limits, and where in the code.
//!
//! The model apart from its renderers:
//! - `model`: every measure of every scale compared, with its verdict and
//!   limit, and the report that holds them;
//! - `gate`: the regression gate over the report, and its typed outcome;
//! - `comparability`: which scales of A and B pair up, and why the two may
//!   not be comparable;
//! - `cells`, `terminal`, `markdown`: the renderers (the JSON is the model
//!   serialised). They import the model; the model never imports them;
//! - `benchmarks`: which criterion measures compare run by run, and the
//!   ratio of two benchmarks' times (`RESULT#BENCH`), with its renderings;
//! - `engine`: two stored results compared, the comparison's directory
//!   written (the only part that reads and writes files).
//!
//! All but the engine is pure (no I/O), so every verdict and every rendering
//! is unit-tested here.

mod allocations;
mod benchmarks;
mod cells;
mod comparability;
mod decides;
mod engine;
#[cfg(test)]
mod fixtures;
mod frames;
mod gate;
mod markdown;
mod model;
mod sequential;
mod terminal;

pub use benchmarks::benchmark_ratio;
pub use comparability::{comparability_warnings, pair_scales, sample_size_warning};
pub use engine::compare_results;
pub use gate::{GateFailure, GateOutcome};
pub use markdown::render_markdown;
pub use model::{
    compare_scale, decide_scale, CompareReport, Counter, Settings, Side, DIFF_SVG, INSTRUCTIONS,
    JSON_FILE, MARKDOWN_FILE, MEMORY_DIFF_SVG,
};
pub use sequential::{all_decided, standings as sequential_standings};
pub use terminal::render_terminal;
