//! `cargo profile <task> ...`: the engine (xtask-profiling) as a cargo
//! subcommand, for any project, with or without a Cargo.toml.

fn main() {
    xtask_profiling::cargo_profile_main()
}
