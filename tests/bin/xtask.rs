//! The xtask as the end-to-end tests run it: the library's own entry point,
//! exactly as xtask/src/main.rs calls it.

fn main() {
    xtask_profiling::main()
}
