use super::*;
use crate::results::synthetic;
use crate::tools::git::parse_ls_tree;

fn identity() -> Identity {
    let mut identity = Identity::default();
    identity.add_path("/home/alice/proj", "$PROJECT");
    identity.add_path("/home/alice", "$HOME");
    identity.add_word("alice", "$USER");
    identity.add_word("build-7f3a", "$HOST");
    identity
}

#[test]
fn paths_and_names_are_replaced_only_where_they_stand_whole() {
    let identity = identity();
    assert_eq!(
        identity.redact("/home/alice/proj/target/x and /home/alice/.cargo"),
        "$PROJECT/target/x and $HOME/.cargo"
    );
    assert_eq!(identity.redact("/home/alicex/y"), "/home/alicex/y");
    assert_eq!(
        identity.redact("alice@build-7f3a: alice/feature, malice, alice_b"),
        "$USER@$HOST: $USER/feature, malice, alice_b"
    );
    assert_eq!(
        identity.redact("build-7f3a.example.com"),
        "$HOST.example.com"
    );
    // Short names would replace what is not them.
    let mut short = Identity::default();
    short.add_word("al", "$USER");
    short.add_path("/", "$HOME");
    assert_eq!(short.redact("/al/alpha"), "/al/alpha");
}

/// What leaves the machine holds no path of the project or the home, no
/// user or host name and no environment value.
#[test]
fn a_shared_result_is_redacted() {
    let results = synthetic::temp_dir("history-redact");
    let mut record = synthetic::record("base", "2026-01-01T00:00:00Z", &[("wall_s", "s", &[1.0])]);
    record.git.branch = Some("alice/feature".into());
    let scale = &mut record.scales[0];
    scale.argv = vec![
        "/home/alice/proj/target/profiling/demo".into(),
        "--user=alice".into(),
    ];
    scale.cwd = "/home/alice/proj".into();
    scale.env.insert("API_TOKEN".into(), "s3cret-value".into());
    let dir = synthetic::write(&results, "20260101-000000-aaaaaa-base", &record);
    let system = SystemInfo {
        hostname: "build-7f3a".into(),
        cpu_model: "Test CPU".into(),
        ..SystemInfo::default()
    };
    std::fs::write(dir.join(SYSTEM_FILE), serde_json::to_vec(&system).unwrap()).unwrap();
    std::fs::write(
        dir.join(TOP_FUNCTIONS),
        "12.0 %  demo::run  /home/alice/proj/src/main.rs:3\n",
    )
    .unwrap();
    let entry = Entry {
        dir: dir.clone(),
        name: "20260101-000000-aaaaaa-base".into(),
        record,
    };
    let files = shared_files(&entry, &identity()).unwrap();
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        [
            "20260101-000000-aaaaaa-base/run.json",
            "20260101-000000-aaaaaa-base/system_info.json",
            "20260101-000000-aaaaaa-base/top-functions.txt"
        ]
    );
    for (path, bytes) in &files {
        let text = String::from_utf8(bytes.clone()).unwrap();
        for secret in ["alice", "/home", "build-7f3a", "s3cret"] {
            assert!(!text.contains(secret), "{path} holds {secret}: {text}");
        }
    }
    let run = String::from_utf8(files[0].1.clone()).unwrap();
    assert!(run.contains("$PROJECT/target/profiling/demo"), "{run}");
    assert!(run.contains("\"API_TOKEN\": \"[redacted]\""), "{run}");
    assert!(run.starts_with("{\n  \"schema_version\""), "{run}");
    // What is pushed reads back as a result.
    crate::results::parse_record(&run).unwrap();
    std::fs::remove_dir_all(results).unwrap();
}

fn fixture(name: &str) -> Vec<TreeEntry> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/git")
        .join(name);
    parse_ls_tree(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_tree_with_unsafe_paths_or_links_is_refused_whole() {
    let mut skipped = Vec::new();
    let plan = plan_pull(&fixture("ls-tree.bin"), &mut skipped).unwrap();
    let names: Vec<&str> = plan.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "20261122-040506-fe3k9q-baseline",
            "20261122-040507-0a1b2c-baseline"
        ]
    );
    assert_eq!(plan[1].files[0].0, "large/top-functions.txt");
    assert!(skipped.is_empty());

    let err = plan_pull(&fixture("ls-tree-dotdot.bin"), &mut skipped)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`../x`") && err.contains("never `..`"),
        "{err}"
    );
    let err = plan_pull(&fixture("ls-tree-symlink.bin"), &mut skipped)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a plain file (mode 120000"), "{err}");

    let entry = |path: &[u8], size: u64| TreeEntry {
        mode: "100644".into(),
        kind: "blob".into(),
        id: "0123456789abcdef0123456789abcdef01234567".into(),
        size: Some(size),
        path: path.to_vec(),
    };
    for bad in [
        &b"/etc/x/run.json"[..],
        b"r/.hidden",
        b"r/a\\b",
        b"r/\x1b[2J",
        b"r//run.json",
        b"r/\xff",
    ] {
        assert!(
            plan_pull(&[entry(bad, 1)], &mut skipped).is_err(),
            "{bad:?}"
        );
    }
    assert!(plan_pull(&[entry(b"r/run.json", MAX_FILE_BYTES + 1)], &mut skipped).is_err());
    // Files of names this version does not share are left out, said so.
    let plan = plan_pull(
        &[
            entry(b"r/run.json", 1),
            entry(b"r/flamegraph.svg", 1),
            entry(b"README", 1),
        ],
        &mut skipped,
    )
    .unwrap();
    assert_eq!(plan[0].files.len(), 1);
    assert_eq!(skipped, ["r/flamegraph.svg", "README"]);
}

#[test]
fn pulled_files_are_read_strictly() {
    let record = synthetic::record("base", "2026-01-01T00:00:00Z", &[("wall_s", "s", &[1.0])]);
    let run = serde_json::to_vec(&record).unwrap();
    let ok = check_pulled("r", vec![("run.json".into(), run.clone())]).unwrap();
    assert_eq!(ok.record, record);
    let mut hostile = record.clone();
    hostile.workload = "demo\u{1b}[2J".into();
    let err = check_pulled(
        "r",
        vec![("run.json".into(), serde_json::to_vec(&hostile).unwrap())],
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("control character"), "{err:#}");
    for (path, bytes) in [
        ("run.json", b"{\"schema_version\": 2}".to_vec()),
        ("run.json", b"\xff".to_vec()),
    ] {
        assert!(check_pulled("r", vec![(path.into(), bytes)]).is_err());
    }
    let err = check_pulled(
        "r",
        vec![
            ("run.json".into(), run.clone()),
            ("other/top-functions.txt".into(), b"x".to_vec()),
        ],
    )
    .unwrap_err();
    assert!(err.to_string().contains("no file of this result"), "{err}");
    let mut newer = serde_json::to_value(&record).unwrap();
    newer["schema_version"] = 99.into();
    assert!(check_pulled(
        "r",
        vec![("run.json".into(), serde_json::to_vec(&newer).unwrap())]
    )
    .is_err());
}

#[test]
fn pulled_results_are_written_once_and_listed_apart() {
    let results = synthetic::temp_dir("history-write");
    let record = synthetic::record("base", "2026-01-01T00:00:00Z", &[("wall_s", "s", &[1.0])]);
    let run = serde_json::to_vec(&record).unwrap();
    let pulled = check_pulled(
        "20260101-000000-aaaaaa-base",
        vec![("run.json".into(), run)],
    )
    .unwrap();
    let dir = write_pulled(&results, &pulled, "# base\n")
        .unwrap()
        .unwrap();
    assert_eq!(dir, results.join("history/20260101-000000-aaaaaa-base"));
    assert_eq!(
        std::fs::read_to_string(dir.join("README.md")).unwrap(),
        "# base\n"
    );
    assert_eq!(write_pulled(&results, &pulled, "# again\n").unwrap(), None);
    assert_eq!(
        std::fs::read_to_string(dir.join("README.md")).unwrap(),
        "# base\n"
    );
    let listed = entries(&results).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "history/20260101-000000-aaaaaa-base");
    assert_eq!(pulled_names(&results), ["20260101-000000-aaaaaa-base"]);
    // The machine's own results are not pulled ones.
    assert!(crate::results::Store::new(&results)
        .list()
        .unwrap()
        .is_empty());
    std::fs::remove_dir_all(results).unwrap();
}
