//! Golden files for the renderers' tests: a rendering compared byte for
//! byte with the copy kept in `src/reports/golden/`, so that restructuring a
//! renderer cannot change a byte of what it writes unnoticed. When a change
//! of output is meant, `XTASK_BLESS=1` rewrites the copies; review the diff.

use std::path::PathBuf;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/reports/golden")
        .join(name)
}

/// Fails, naming the first line that differs, unless `actual` is the
/// golden file `name` byte for byte.
pub fn assert_golden(name: &str, actual: &str) {
    let path = path(name);
    if std::env::var_os("XTASK_BLESS").is_some_and(|v| !v.is_empty()) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e} (XTASK_BLESS=1 writes it)",
            path.display()
        )
    });
    if expected == actual {
        return;
    }
    let line = expected
        .split('\n')
        .zip(actual.split('\n'))
        .position(|(e, a)| e != a)
        .unwrap_or_else(|| expected.split('\n').count().min(actual.split('\n').count()));
    panic!(
        "{name} differs from {} at line {}:\nexpected: {:?}\nactual:   {:?}",
        path.display(),
        line + 1,
        expected.split('\n').nth(line),
        actual.split('\n').nth(line)
    );
}
