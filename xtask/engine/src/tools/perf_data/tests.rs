use super::*;

/// Folds `XT_DATA` both ways and writes both to `XT_OUT`.{new,old}.
#[test]
#[ignore]
fn compare_by_hand() {
    let data = std::env::var("XT_DATA").unwrap();
    let out = std::env::var("XT_OUT").unwrap();
    let inline = std::env::var_os("XT_NO_INLINE").is_none();
    let options = FoldOptions {
        inline_frames: inline,
        without_tracepoints: true,
    };
    let started = std::time::Instant::now();
    let mut new = Vec::new();
    let folded = fold_file(std::path::Path::new(&data), options, &mut new).unwrap();
    eprintln!(
        "new: {} samples in {:?}, leaves {}",
        folded.samples,
        started.elapsed(),
        folded.leaves.total
    );
    std::fs::write(format!("{out}.new"), new).unwrap();
    let started = std::time::Instant::now();
    let script = std::process::Command::new("perf")
        .args([
            "script",
            "-i",
            &data,
            "--no-inline",
            "-F",
            "comm,pid,tid,time,event,ip,sym,symoff,dso",
        ])
        .output()
        .unwrap();
    let mut old = Vec::new();
    let folded = crate::tools::perf::fold_symbolized(
        &crate::tools::perf::Settings {
            frequency: 999,
            call_graph: crate::config::CallGraph::Dwarf,
            inline_frames: inline,
            kernel_frames: false,
            mmap_pages: None,
            dso_offsets: false,
        },
        &script.stdout[..],
        &mut old,
    )
    .unwrap();
    eprintln!("old: {} samples in {:?}", folded.samples, started.elapsed());
    std::fs::write(format!("{out}.old"), old).unwrap();
}
