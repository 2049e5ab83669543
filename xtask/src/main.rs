//! `cargo xtask`: everything lives in the engine library (xtask-profiling,
//! in engine/), which other programs can mount as a subcommand of their own.

fn main() {
    xtask_profiling::main()
}
