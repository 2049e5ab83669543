//! `cargo xtask`: everything lives in the library (src/lib.rs), which other
//! programs can mount as a subcommand of their own.

fn main() {
    xtask::main()
}
