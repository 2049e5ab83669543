//! `-v`: every external command printed exactly as run.

static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-v`: print every external command exactly as run, so that any step can
/// be repeated by hand.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, std::sync::atomic::Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(std::sync::atomic::Ordering::Relaxed)
}

/// Prints a command line under `-v`.
pub fn echo(display: &str) {
    if verbose() {
        eprintln!("$ {display}");
    }
}
