//! Flamegraph SVGs from folded stacks, rendered in-process by inferno.

use anyhow::Context;
use inferno::flamegraph::{self, color, Options};
use std::path::Path;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// CPU samples, in inferno's Rust palette.
    Cpu,
    /// Bytes: inferno's memory palette.
    Memory,
    /// Blocked time, folded in µs and shown in ms: inferno's blue I/O
    /// palette, so it is never mistaken for the CPU flamegraph beside it.
    OffCpu,
}

/// Title, subtitle, deterministic output and the unit of the counts.
fn base_options(title: &str, subtitle: &str, kind: Kind) -> Options<'static> {
    let mut options = Options::default();
    options.title = title.to_string();
    if !subtitle.is_empty() {
        options.subtitle = Some(subtitle.to_string());
    }
    options.deterministic = true;
    options.count_name = match kind {
        Kind::Cpu => "samples",
        Kind::Memory => "bytes",
        Kind::OffCpu => "ms",
    }
    .into();
    if let Kind::OffCpu = kind {
        options.factor = 0.001;
    }
    options
}

/// The flamegraph and top functions of each extra profile (a benchmark's,
/// an event's), in its own directory, titled with its name.
pub fn write_extra_files(
    dir: &Path,
    extras: &crate::runs::cpu_profile::Extras,
    title: &str,
    subtitle: &str,
) -> anyhow::Result<()> {
    for extra in &extras.profiles {
        let title = format!("{title} · {}", extra.name);
        write_cpu_files(&dir.join(&extra.dir), &title, subtitle)?;
    }
    Ok(())
}

/// flamegraph.svg and top-functions.txt from a CPU profile's cpu.folded in `dir`.
pub fn write_cpu_files(dir: &Path, title: &str, subtitle: &str) -> anyhow::Result<()> {
    use crate::runs::cpu_profile::{FOLDED, SVG, TOP};
    use crate::runs::process::check_interrupted;
    // No child runs in these steps to die of an interrupt: they ask.
    check_interrupted()?;
    let folded = dir.join(FOLDED);
    let text = std::fs::read_to_string(&folded)
        .with_context(|| format!("cannot read {}", folded.display()))?;
    render_text(&text, &dir.join(SVG), title, subtitle, Kind::Cpu)?;
    check_interrupted()?;
    let stats = crate::reports::functions::from_folded(&text);
    let top = dir.join(TOP);
    std::fs::write(&top, crate::reports::functions::render_top(&stats, 30))
        .with_context(|| format!("cannot write {}", top.display()))
}

/// memory-flamegraph.svg from a memory profile's memory.folded in `dir`, if
/// the tool gave stacks (Instruments does not).
pub fn write_memory_svg(dir: &Path, title: &str, tool: &str) -> anyhow::Result<()> {
    use crate::runs::memory_profile::{FOLDED, SVG};
    let title = format!("{title} — heap at peak");
    render_if_recorded(dir, FOLDED, SVG, &title, tool, Kind::Memory)
}

/// offcpu-flamegraph.svg from an off-CPU profile's offcpu.folded in `dir`,
/// if one was recorded.
pub fn write_offcpu_svg(dir: &Path, title: &str, subtitle: &str) -> anyhow::Result<()> {
    use crate::runs::cpu_profile::offcpu::{FOLDED, SVG};
    let title = format!("{title} — off-CPU time (ms blocked)");
    render_if_recorded(dir, FOLDED, SVG, &title, subtitle, Kind::OffCpu)
}

/// `dir/svg` from `dir/folded`, when the profile wrote that file.
fn render_if_recorded(
    dir: &Path,
    folded: &str,
    svg: &str,
    title: &str,
    subtitle: &str,
    kind: Kind,
) -> anyhow::Result<()> {
    crate::runs::process::check_interrupted()?;
    if !dir.join(folded).is_file() {
        return Ok(());
    }
    render(&dir.join(folded), &dir.join(svg), title, subtitle, kind)
}

/// Renders the folded stacks in file `folded` to an SVG.
pub fn render(
    folded: &Path,
    svg: &Path,
    title: &str,
    subtitle: &str,
    kind: Kind,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(folded)
        .with_context(|| format!("cannot read {}", folded.display()))?;
    render_text(&text, svg, title, subtitle, kind)
}

/// Renders folded stacks to an SVG. An empty profile still gives a valid
/// SVG that says so, rather than an error that would lose the rest of a result.
pub fn render_text(
    text: &str,
    svg: &Path,
    title: &str,
    subtitle: &str,
    kind: Kind,
) -> anyhow::Result<()> {
    let mut options = base_options(title, subtitle, kind);
    options.colors = match kind {
        Kind::Cpu => color::Palette::Multi(color::MultiPalette::Rust),
        Kind::Memory => color::Palette::Basic(color::BasicPalette::Mem),
        Kind::OffCpu => color::Palette::Basic(color::BasicPalette::Io),
    };
    let out = std::io::BufWriter::new(
        std::fs::File::create(svg).with_context(|| format!("cannot write {}", svg.display()))?,
    );
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        // inferno refuses empty input; draw a placeholder frame instead.
        return flamegraph::from_lines(&mut options, ["(no samples) 1"], out)
            .with_context(|| format!("cannot render {}", svg.display()));
    }
    flamegraph::from_lines(&mut options, lines, out)
        .with_context(|| format!("cannot render {}", svg.display()))
}

/// A differential flamegraph: the shape of `after`, coloured by the change
/// from `before` (red grew, blue shrank), with counts normalised.
pub fn render_diff(
    before: &Path,
    after: &Path,
    svg: &Path,
    title: &str,
    subtitle: &str,
    kind: Kind,
) -> anyhow::Result<()> {
    let mut folded = Vec::new();
    let options = inferno::differential::Options {
        normalize: true,
        ..Default::default()
    };
    inferno::differential::from_files(options, before, after, &mut folded)
        .with_context(|| format!("cannot diff {} and {}", before.display(), after.display()))?;
    let mut flame = base_options(title, subtitle, kind);
    let text = String::from_utf8_lossy(&folded).into_owned();
    let out = std::io::BufWriter::new(std::fs::File::create(svg)?);
    flamegraph::from_lines(&mut flame, text.lines().filter(|l| !l.is_empty()), out)
        .with_context(|| format!("cannot render {}", svg.display()))
}

/// A flamegraph of `folded` (the merged runs of B) in which only the
/// functions of `changed` are coloured, red for a share that grew and blue
/// for one that shrank, deeper for a larger change; every other frame is
/// grey. (A frame's label is its tooltip in inferno, so the shares before
/// and after go to compare.md, not into the frames.)
pub fn render_significance(
    folded: &str,
    svg: &Path,
    (title, subtitle): (&str, &str),
    changed: &[(String, f64, f64)],
) -> anyhow::Result<()> {
    let mut palette = color::PaletteMap::default();
    let grey = color::Color {
        r: 221,
        g: 221,
        b: 221,
    };
    for line in folded.lines() {
        if let Some((stack, _)) = line.rsplit_once(' ') {
            for frame in stack.split(';') {
                palette.insert(frame, grey);
            }
        }
    }
    let largest = changed
        .iter()
        .map(|(_, a, b)| (b - a).abs())
        .fold(0.0f64, f64::max);
    for (function, before, after) in changed {
        let depth = 0.35 + 0.65 * ((after - before).abs() / largest.max(f64::MIN_POSITIVE));
        let light = (215.0 * (1.0 - depth)) as u8 + 20;
        let colour = if after > before {
            color::Color {
                r: 230,
                g: light,
                b: light,
            }
        } else {
            color::Color {
                r: light,
                g: light,
                b: 230,
            }
        };
        palette.insert(function, colour);
    }
    let mut options = base_options(title, subtitle, Kind::Cpu);
    options.palette_map = Some(&mut palette);
    let out = std::io::BufWriter::new(
        std::fs::File::create(svg).with_context(|| format!("cannot write {}", svg.display()))?,
    );
    let lines: Vec<&str> = folded.lines().filter(|l| !l.trim().is_empty()).collect();
    let lines = if lines.is_empty() {
        vec!["(no samples) 1"]
    } else {
        lines
    };
    flamegraph::from_lines(&mut options, lines, out)
        .with_context(|| format!("cannot render {}", svg.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_svg_with_title_and_functions() {
        let dir = std::env::temp_dir().join(format!("xtask-fg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let folded = dir.join("a.folded");
        std::fs::write(
            &folded,
            "main;cdr_demo::generate::tariff 30\nmain;cdr_demo::generate::format_rows 10\n",
        )
        .unwrap();
        let svg = dir.join("a.svg");
        render(&folded, &svg, "demo subs=5", "commit abc", Kind::Cpu).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<?xml"));
        assert!(text.contains("demo subs=5"));
        assert!(text.contains("cdr_demo::generate::tariff"));

        let empty = dir.join("empty.folded");
        std::fs::write(&empty, "").unwrap();
        render(&empty, &svg, "t", "", Kind::Memory).unwrap();
        assert!(std::fs::read_to_string(&svg)
            .unwrap()
            .contains("(no samples)"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Off-CPU stacks are folded in µs and shown in ms, in blue.
    #[test]
    fn renders_off_cpu_time_in_ms() {
        let dir = std::env::temp_dir().join(format!("xtask-fg-off-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("offcpu.folded"),
            "demo;main;std::sync::Mutex::lock;syscall 250000\ndemo;main;fdatasync 50000\n",
        )
        .unwrap();
        write_offcpu_svg(&dir, "service", "commit abc").unwrap();
        let text = std::fs::read_to_string(dir.join("offcpu-flamegraph.svg")).unwrap();
        assert!(text.contains("service — off-CPU time (ms blocked)"));
        assert!(text.contains("fdatasync (50 ms, 16.67%)"), "{text}");
        assert!(text.contains("syscall (250 ms, 83.33%)"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
