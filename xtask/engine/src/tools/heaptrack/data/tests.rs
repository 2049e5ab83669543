//! The data reader against a real capture (the demo's `generate` under
//! heaptrack 1.4, decompressed) and heaptrack_print's report of the same file.

use super::*;

const DATA: &str = include_str!("../../../../tests/fixtures/heaptrack/cdr-demo-small.data.txt");
const PRINT: &str = include_str!("../../../../tests/fixtures/heaptrack/cdr-demo-small.print.txt");

fn fixture() -> HeaptrackData {
    read_data(DATA.as_bytes()).unwrap()
}

/// Every total is heaptrack_print's own, read from its report of the same
/// file: calls and temporary allocations exactly, the peak and the leaks to
/// the precision it prints them.
#[test]
fn totals_are_heaptrack_prints() {
    let data = fixture();
    let printed = crate::tools::heaptrack::parse_print(PRINT, 10)
        .unwrap()
        .summary;
    assert_eq!(data.total.calls, printed.allocation_calls);
    assert_eq!(data.total.temporary, printed.temporary_allocations);
    assert!(
        printed.peak_heap.matches(data.peak_bytes as f64),
        "{}",
        data.peak_bytes
    );
    assert!(
        printed.leaked.matches(data.leaked_bytes as f64),
        "{}",
        data.leaked_bytes
    );
    assert!(!data.attached);
}

/// Summed by function, nothing is lost: the rows add up to the totals, the
/// demo's own functions name their sites, demangled, and the largest stack
/// keeps the frames inlined into them.
#[test]
fn allocations_by_function_add_up() {
    let data = fixture();
    let functions = data.by_function();
    let calls: u64 = functions.iter().map(|f| f.tally.calls).sum();
    let bytes: u64 = functions.iter().map(|f| f.tally.bytes).sum();
    let temporary: u64 = functions.iter().map(|f| f.tally.temporary).sum();
    assert_eq!(
        (calls, bytes, temporary),
        (data.total.calls, data.total.bytes, data.total.temporary)
    );
    assert!(functions
        .windows(2)
        .all(|w| w[0].tally.bytes >= w[1].tally.bytes));
    let names: Vec<&str> = functions.iter().map(|f| f.function.as_str()).collect();
    assert!(
        names.iter().any(|n| n.starts_with("cdr_demo::generate::")),
        "{names:#?}"
    );
    assert!(
        names
            .iter()
            .all(|n| !n.contains("_RN") && !n.contains("::h")),
        "{names:#?}"
    );
    let inlined = functions
        .iter()
        .flat_map(|f| &f.stack)
        .filter(|frame| frame.inlined)
        .count();
    assert!(
        inlined > 0,
        "the profiling build inlines, and the data says so"
    );
    let top = &functions[0];
    let site = site_frame(&top.stack).unwrap();
    assert_eq!(top.stack[site].frame.function, top.function);
}

/// An unresolved address is named after its module only: two runs whose
/// addresses differ (ASLR) give the same name, and an unresolved frame of
/// the program's own code names a site, not the C runtime's.
#[test]
fn unresolved_addresses_have_one_name_per_module() {
    let run = |ip: &str| {
        format!(
            "v 10400 3\ns 8 /bin/app\ns 1f /lib/x86_64-linux-gnu/libc.so.6\n\
             i 7f0000001000 2\ni {ip} 1\nt 1 0\nt 2 1\na 40 2\n+ 0\n+ 0\n- 0\n"
        )
    };
    let (one, two) = (
        read_data(run("55d3a0001234").as_bytes()).unwrap(),
        read_data(run("5611bbbb0042").as_bytes()).unwrap(),
    );
    let (a, b) = (one.by_function(), two.by_function());
    assert_eq!(a[0].function, "<unresolved in app>");
    assert_eq!(a[0].function, b[0].function);
    assert_eq!(
        a[0].tally,
        Tally {
            calls: 2,
            bytes: 128,
            temporary: 1
        }
    );
    assert_eq!(one.leaked_bytes, 64);
    assert_eq!(one.peak_bytes, 128);
    assert_eq!(unresolved_name(None), "<unresolved>");
}

/// A string record keeps its spaces; an attached recording says so.
#[test]
fn strings_with_spaces_and_attached_recordings() {
    let text = "v 10400 3\nA\ns 1b operator new(unsigned long)\ni 1000 0 1\nt 1 0\na 10 1\n+ 0\n";
    let data = read_data(text.as_bytes()).unwrap();
    assert!(data.attached);
    let functions = data.by_function();
    assert_eq!(functions[0].function, "operator new(unsigned long)");
    assert_eq!(functions[0].tally.bytes, 16);
}

/// Read as it streams, in buffers that cut its lines anywhere, or with
/// CRLF line ends, the data reads the same as in one piece.
#[test]
fn reads_the_same_whatever_cuts_its_lines() {
    let whole = fixture();
    for capacity in [1, 2, 3, 5, 64, 4096] {
        let read = read_data(std::io::BufReader::with_capacity(capacity, DATA.as_bytes()));
        assert_eq!(read.unwrap(), whole, "buffers of {capacity} bytes");
    }
    let crlf = DATA.replace('\n', "\r\n");
    let read = read_data(std::io::BufReader::with_capacity(7, crlf.as_bytes()));
    assert_eq!(read.unwrap(), whole);
    // A bad record between good ones is still found at its line.
    let bad = "v 10400 3\na 10 0\n+ 0\n- 0\n+ 1\n+ 0\n";
    let err = read_data(std::io::BufReader::with_capacity(3, bad.as_bytes())).unwrap_err();
    assert_eq!(err.line, Some(5), "{err}");
}

/// Bad input is an error that says where and what, never a panic.
#[test]
fn bad_input_is_an_error() {
    let err = read_data("v 10400 3\na 10 1\n+ 5\n".as_bytes()).unwrap_err();
    assert_eq!(err.line, Some(3));
    assert!(err.to_string().contains("'+ KIND'"), "{err}");
    let err = read_data("v 10400 3\nt zz\n".as_bytes()).unwrap_err();
    assert!(err.to_string().contains("'t IP PARENT'"), "{err}");
    let err = read_data("reading file - please wait\n".as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("not a heaptrack data file"),
        "{err}"
    );
    let err = read_data("v 10100 1\n".as_bytes()).unwrap_err();
    assert!(err.to_string().contains("file format 2 or later"), "{err}");
    // A truncated file (cut in a record) still reads up to where it ends.
    let cut = &DATA[..DATA.len() / 2];
    let cut = &cut[..cut.rfind('\n').unwrap()];
    assert!(read_data(cut.as_bytes()).is_ok());
}

/// The report's table: the rows and totals of the data, stacks for the top
/// sources only, and past the rows kept, one row for the rest.
#[test]
fn the_table_keeps_stacks_for_the_top_sources() {
    let data = fixture();
    let table = data.to_table(2);
    assert_eq!(table.calls, data.total.calls);
    assert_eq!(table.functions.len(), data.by_function().len());
    assert!(table.functions[0].stack.iter().any(|f| f.inlined));
    let with_stacks = table
        .functions
        .iter()
        .filter(|f| !f.stack.is_empty())
        .count();
    assert!((2..=4).contains(&with_stacks), "{with_stacks}");
    let mut many = String::from("v 10400 3\n");
    for n in 1..=KEPT_FUNCTIONS + 3 {
        let name = format!("f{n}");
        many.push_str(&format!(
            "s {:x} {name}\ni {n:x} 0 {n:x}\nt {n:x} 0\na 8 {n:x}\n+ {:x}\n",
            name.len(),
            n - 1
        ));
    }
    let table = read_data(many.as_bytes()).unwrap().to_table(1);
    assert_eq!(table.functions.len(), KEPT_FUNCTIONS + 1);
    let other = table.functions.last().unwrap();
    assert_eq!(
        (other.function.as_str(), other.calls, other.bytes),
        (OTHER_FUNCTIONS, 3, 24.0)
    );
}
