//! `cargo xtask view [RESULT]`: writes (or refreshes) the result's
//! `viewer.html` from its folded profiles, prints its path, and opens it in a
//! browser when someone can see one. Never waits for the browser.

use crate::reports::stdout::outln;
use crate::reports::viewer;
use crate::results::Store;
use crate::tasks::invocation::Invocation;
use anyhow::bail;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The result: a pin, directory name or path, label, `latest` or `previous`.
    #[arg(default_value = "latest")]
    pub run: String,
    /// Write the page and print its path, but open no browser.
    #[arg(long)]
    pub no_open: bool,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let config = invocation.config()?;
    let store = Store::new(config.results_dir());
    let entry = store.resolve(&args.run)?;
    let Some(page) = viewer::write(&entry.dir, &entry.name)? else {
        bail!(
            "{} has no folded profile to view (cpu.folded, offcpu.folded or memory.folded): it was made with --no-profile or without a profiler; run `cargo xtask flamegraph` or `cargo xtask memory` (see `cargo xtask doctor`)",
            entry.name
        );
    };
    outln!("{}", page.display());
    if args.no_open {
        return Ok(0);
    }
    let seen = Seen {
        display: std::env::var_os("DISPLAY").is_some_and(|v| !v.is_empty())
            || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
            || cfg!(target_os = "macos"),
        terminal: std::io::stdout().is_terminal(),
    };
    if let Some(argv) = opener(std::env::var("BROWSER").ok().as_deref(), seen, &page) {
        if let Err(e) = crate::runs::process::open_detached(&argv) {
            eprintln!(
                "note: cannot start {} ({e}); open the path above in a browser",
                argv[0].to_string_lossy()
            );
        }
    }
    Ok(0)
}

/// Whether anyone can see a browser we start.
#[derive(Debug, Clone, Copy)]
struct Seen {
    display: bool,
    terminal: bool,
}

/// The command that opens `page`, or None when there is no display or no
/// terminal (a script or CI reads the path instead). `$BROWSER` first, as
/// its convention has it: a `:`-separated list whose first entry is used,
/// split into words (no shell), `%s` standing for the page, else the page
/// appended.
fn opener(browser: Option<&str>, seen: Seen, page: &Path) -> Option<Vec<OsString>> {
    if !seen.display || !seen.terminal {
        return None;
    }
    let chosen = browser.and_then(|b| b.split(':').map(str::trim).find(|c| !c.is_empty()));
    let Some(browser) = chosen else {
        let program = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        return Some(vec![program.into(), page.into()]);
    };
    let mut argv: Vec<OsString> = Vec::new();
    let mut placed = false;
    for word in browser.split_whitespace() {
        if word.contains("%s") {
            let (before, after) = word.split_once("%s").unwrap_or((word, ""));
            let mut arg = OsString::from(before);
            arg.push(page);
            arg.push(after);
            argv.push(arg);
            placed = true;
        } else {
            argv.push(word.into());
        }
    }
    if !placed {
        argv.push(page.into());
    }
    Some(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEEN: Seen = Seen {
        display: true,
        terminal: true,
    };

    fn words(argv: Option<Vec<OsString>>) -> Option<Vec<String>> {
        argv.map(|a| a.iter().map(|w| w.to_string_lossy().to_string()).collect())
    }

    #[test]
    fn browser_is_honoured_as_words_with_the_page_in_place_of_percent_s() {
        let page = Path::new("/r/viewer.html");
        assert_eq!(
            words(opener(Some("firefox --new-window"), SEEN, page)),
            Some(vec![
                "firefox".into(),
                "--new-window".into(),
                "/r/viewer.html".into()
            ])
        );
        assert_eq!(
            words(opener(Some(":chromium --app=%s:lynx"), SEEN, page)),
            Some(vec!["chromium".into(), "--app=/r/viewer.html".into()])
        );
        let default = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        assert_eq!(
            words(opener(None, SEEN, page)),
            Some(vec![default.into(), "/r/viewer.html".into()])
        );
    }

    #[test]
    fn nothing_opens_without_a_display_or_a_terminal() {
        let page = Path::new("/r/viewer.html");
        for seen in [
            Seen {
                display: false,
                terminal: true,
            },
            Seen {
                display: true,
                terminal: false,
            },
        ] {
            assert_eq!(opener(Some("firefox"), seen, page), None);
        }
    }
}
