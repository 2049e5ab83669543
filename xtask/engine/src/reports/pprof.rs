//! The CPU profile of a result (`cpu.folded`) as a pprof profile: a gzipped
//! `perftools.profiles.Profile` protobuf (google/pprof's profile.proto), as
//! read by `go tool pprof`, Grafana Pyroscope and Parca.
//!
//! The protobuf encoding is written by hand (a few dozen lines; prost would
//! bring a code generator for five messages). The gzip container is written
//! by hand too, with "stored" (uncompressed) deflate blocks: a valid gzip
//! stream every reader accepts, without a compression crate. pprof files of
//! folded stacks are small (each function name is stored once), so
//! compressing them would save little.
//!
//! What the profile holds: sample types `samples/count` and, when the
//! sampling frequency is known, `cpu/nanoseconds` (samples × period); one
//! function and one location per distinct frame name; one sample per folded
//! stack, leaf first as pprof wants.

use anyhow::{bail, Context};
use std::collections::HashMap;
use std::io::BufRead;

/// Field numbers of profile.proto.
mod field {
    pub mod profile {
        pub const SAMPLE_TYPE: u32 = 1;
        pub const SAMPLE: u32 = 2;
        pub const MAPPING: u32 = 3;
        pub const LOCATION: u32 = 4;
        pub const FUNCTION: u32 = 5;
        pub const STRING_TABLE: u32 = 6;
        pub const TIME_NANOS: u32 = 9;
        pub const PERIOD_TYPE: u32 = 11;
        pub const PERIOD: u32 = 12;
        pub const COMMENT: u32 = 13;
        pub const DEFAULT_SAMPLE_TYPE: u32 = 14;
    }
    pub mod value_type {
        pub const TYPE: u32 = 1;
        pub const UNIT: u32 = 2;
    }
    pub mod sample {
        pub const LOCATION_ID: u32 = 1;
        pub const VALUE: u32 = 2;
    }
    pub mod mapping {
        pub const ID: u32 = 1;
        pub const FILENAME: u32 = 5;
        pub const HAS_FUNCTIONS: u32 = 7;
    }
    pub mod location {
        pub const ID: u32 = 1;
        pub const MAPPING_ID: u32 = 2;
        pub const LINE: u32 = 4;
    }
    pub mod line {
        pub const FUNCTION_ID: u32 = 1;
    }
    pub mod function {
        pub const ID: u32 = 1;
        pub const NAME: u32 = 2;
        pub const SYSTEM_NAME: u32 = 3;
    }
}

const VARINT: u8 = 0;
const LENGTH_DELIMITED: u8 = 2;

/// A protobuf message being encoded.
#[derive(Default)]
struct Message(Vec<u8>);

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

impl Message {
    fn key(&mut self, field: u32, wire: u8) {
        put_varint(&mut self.0, (u64::from(field) << 3) | u64::from(wire));
    }

    /// A scalar; zero is the default and, as proto3 does, not written.
    fn uint(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.key(field, VARINT);
            put_varint(&mut self.0, value);
        }
    }

    /// int64 fields: negative values as ten-byte two's complement varints.
    fn int(&mut self, field: u32, value: i64) {
        self.uint(field, value as u64);
    }

    /// Bytes, strings and embedded messages (always written: the string
    /// table's first entry is the empty string, and it must be there).
    fn bytes(&mut self, field: u32, bytes: &[u8]) {
        self.key(field, LENGTH_DELIMITED);
        put_varint(&mut self.0, bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    fn message(&mut self, field: u32, message: &Message) {
        self.bytes(field, &message.0);
    }

    /// A packed repeated scalar field.
    fn packed(&mut self, field: u32, values: impl IntoIterator<Item = u64>) {
        let mut payload = Vec::new();
        for value in values {
            put_varint(&mut payload, value);
        }
        if !payload.is_empty() {
            self.bytes(field, &payload);
        }
    }
}

/// Interns strings into the profile's string table (index 0 is "").
struct Strings {
    table: Vec<String>,
    index: HashMap<String, u64>,
}

impl Strings {
    fn new() -> Strings {
        Strings {
            table: vec![String::new()],
            index: HashMap::from([(String::new(), 0)]),
        }
    }

    fn id(&mut self, text: &str) -> u64 {
        if let Some(id) = self.index.get(text) {
            return *id;
        }
        let id = self.table.len() as u64;
        self.table.push(text.to_string());
        self.index.insert(text.to_string(), id);
        id
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Sampling frequency (Hz): adds a `cpu/nanoseconds` value per sample.
    pub frequency: Option<u32>,
    /// When the profile was taken (ns since the Unix epoch).
    pub time_nanos: Option<i64>,
    pub comments: Vec<String>,
    /// The profiled program: named by the profile's one mapping, which says
    /// its functions are already symbolized (so pprof does not look for
    /// the binary).
    pub program: Option<String>,
}

/// Inferno's frame annotations (`_[k]` kernel, `_[i]` inlined, `_[j]` JIT,
/// `_[w]` waker) are not part of a function's name.
fn function_name(frame: &str) -> &str {
    for suffix in ["_[k]", "_[i]", "_[j]", "_[w]"] {
        if let Some(name) = frame.strip_suffix(suffix) {
            return name;
        }
    }
    frame
}

/// Folded stacks (`root;caller;leaf COUNT` per line, streamed) → the
/// uncompressed protobuf bytes of a pprof profile.
pub fn encode_folded(folded: impl BufRead, options: &Options) -> anyhow::Result<Vec<u8>> {
    let mut strings = Strings::new();
    let period = options
        .frequency
        .filter(|f| *f > 0)
        .map(|f| 1_000_000_000 / i64::from(f));
    let Stacks {
        function_names,
        samples,
        skipped,
    } = read_stacks(folded, period, &mut strings)?;
    if function_names.is_empty() {
        bail!(
            "the folded stacks hold no samples{}",
            if skipped > 0 {
                format!(" ({skipped} unreadable lines)")
            } else {
                String::new()
            }
        );
    }
    let mut profile = Message::default();
    let samples_type = value_type(&mut strings, "samples", "count");
    profile.message(field::profile::SAMPLE_TYPE, &samples_type);
    if period.is_some() {
        let cpu = value_type(&mut strings, "cpu", "nanoseconds");
        profile.message(field::profile::SAMPLE_TYPE, &cpu);
    }
    profile.0.extend_from_slice(&samples.0);
    let mut mapping = Message::default();
    mapping.uint(field::mapping::ID, 1);
    mapping.int(
        field::mapping::FILENAME,
        strings.id(options.program.as_deref().unwrap_or("")) as i64,
    );
    mapping.uint(field::mapping::HAS_FUNCTIONS, 1);
    profile.message(field::profile::MAPPING, &mapping);
    locations_and_functions(&mut profile, &function_names);
    let comments: Vec<u64> = options.comments.iter().map(|c| strings.id(c)).collect();
    let period_type = period.map(|_| value_type(&mut strings, "cpu", "nanoseconds"));
    let default_type = period.map(|_| strings.id("cpu"));
    for text in &strings.table {
        profile.bytes(field::profile::STRING_TABLE, text.as_bytes());
    }
    if let Some(t) = options.time_nanos {
        profile.int(field::profile::TIME_NANOS, t);
    }
    if let (Some(period), Some(period_type)) = (period, period_type) {
        profile.message(field::profile::PERIOD_TYPE, &period_type);
        profile.int(field::profile::PERIOD, period);
    }
    // comment is `repeated int64`: written packed, as proto3 does.
    profile.packed(field::profile::COMMENT, comments);
    if let Some(id) = default_type {
        profile.int(field::profile::DEFAULT_SAMPLE_TYPE, id as i64);
    }
    if skipped > 0 {
        eprintln!("warning: {skipped} line(s) of the folded stacks were not `STACK COUNT` and were skipped");
    }
    Ok(profile.0)
}

/// The samples of the folded stacks, encoded, and the functions they name.
struct Stacks {
    /// The name id of each function; function (and location) ids are
    /// 1-based indexes into this list.
    function_names: Vec<u64>,
    /// The profile's `sample` fields.
    samples: Message,
    /// Lines that were not `STACK COUNT`.
    skipped: usize,
}

/// Reads the folded stacks into samples, naming each frame once.
fn read_stacks(
    folded: impl BufRead,
    period: Option<i64>,
    strings: &mut Strings,
) -> anyhow::Result<Stacks> {
    // Function id (1-based) by name id; a location per function, same id.
    let mut functions: HashMap<u64, u64> = HashMap::new();
    let mut function_names: Vec<u64> = Vec::new();
    let mut samples = Message::default();
    let mut skipped = 0usize;
    for line in folded.lines() {
        let line = line.context("cannot read the folded stacks")?;
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let Some((stack, count)) = line.rsplit_once(' ') else {
            skipped += 1;
            continue;
        };
        let Ok(count) = count.parse::<u64>() else {
            skipped += 1;
            continue;
        };
        let mut locations = Vec::new();
        // pprof lists a sample's locations leaf first.
        for frame in stack.split(';').rev() {
            let name = strings.id(function_name(frame));
            let id = *functions.entry(name).or_insert_with(|| {
                function_names.push(name);
                function_names.len() as u64
            });
            locations.push(id);
        }
        let mut sample = Message::default();
        sample.packed(field::sample::LOCATION_ID, locations);
        let mut values = vec![count];
        if let Some(period) = period {
            values.push(count.saturating_mul(period as u64));
        }
        sample.packed(field::sample::VALUE, values);
        samples.message(field::profile::SAMPLE, &sample);
    }
    Ok(Stacks {
        function_names,
        samples,
        skipped,
    })
}

fn value_type(strings: &mut Strings, kind: &str, unit: &str) -> Message {
    let mut m = Message::default();
    m.int(field::value_type::TYPE, strings.id(kind) as i64);
    m.int(field::value_type::UNIT, strings.id(unit) as i64);
    m
}

/// A location per function (same id, in the one mapping), then the
/// functions themselves.
fn locations_and_functions(profile: &mut Message, function_names: &[u64]) {
    for (i, _) in function_names.iter().enumerate() {
        let id = i as u64 + 1;
        let mut line = Message::default();
        line.uint(field::line::FUNCTION_ID, id);
        let mut location = Message::default();
        location.uint(field::location::ID, id);
        location.uint(field::location::MAPPING_ID, 1);
        location.message(field::location::LINE, &line);
        profile.message(field::profile::LOCATION, &location);
    }
    for (i, name) in function_names.iter().enumerate() {
        let mut function = Message::default();
        function.uint(field::function::ID, i as u64 + 1);
        function.int(field::function::NAME, *name as i64);
        function.int(field::function::SYSTEM_NAME, *name as i64);
        profile.message(field::profile::FUNCTION, &function);
    }
}

/// CRC-32 (IEEE 802.3, reflected), as gzip's trailer needs.
pub fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = [0u32; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *entry = c;
        }
        table
    });
    let mut crc = !0u32;
    for byte in data {
        crc = table[((crc ^ u32::from(*byte)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// A gzip stream (RFC 1952) of `data` in stored deflate blocks (RFC 1951 §3.2.4).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    const MAX_BLOCK: usize = 65_535;
    let mut out = Vec::with_capacity(data.len() + data.len() / MAX_BLOCK * 5 + 32);
    // Magic, deflate, no flags, no mtime, no extra flags, OS unknown.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    let mut chunks = data.chunks(MAX_BLOCK).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        let len = chunk.len() as u16;
        out.push(u8::from(last));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

#[cfg(test)]
pub mod tests {
    //! The bytes are checked by an independent decoder: a generic protobuf
    //! wire-format reader, interpreted with profile.proto's field numbers,
    //! and a stored-block gunzip with a bitwise (table-free) CRC. With
    //! protoc installed, `protoc --decode` checks them against the schema too.
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    pub enum Wire {
        Varint(u64),
        Bytes(Vec<u8>),
    }

    fn read_varint(bytes: &[u8], at: &mut usize) -> u64 {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let b = bytes[*at];
            *at += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return value;
            }
            shift += 7;
            assert!(shift < 64, "varint too long");
        }
    }

    /// Every field of a message, in order.
    pub fn fields(bytes: &[u8]) -> Vec<(u32, Wire)> {
        let mut at = 0;
        let mut out = Vec::new();
        while at < bytes.len() {
            let key = read_varint(bytes, &mut at);
            let (field, wire) = ((key >> 3) as u32, key & 7);
            let value = match wire {
                0 => Wire::Varint(read_varint(bytes, &mut at)),
                2 => {
                    let len = read_varint(bytes, &mut at) as usize;
                    let v = bytes[at..at + len].to_vec();
                    at += len;
                    Wire::Bytes(v)
                }
                other => panic!("unexpected wire type {other} for field {field}"),
            };
            out.push((field, value));
        }
        out
    }

    fn varints(wire: &Wire) -> Vec<u64> {
        match wire {
            Wire::Varint(v) => vec![*v],
            Wire::Bytes(b) => {
                let mut at = 0;
                let mut out = Vec::new();
                while at < b.len() {
                    out.push(read_varint(b, &mut at));
                }
                out
            }
        }
    }

    fn bytes_of(wire: &Wire) -> &[u8] {
        match wire {
            Wire::Bytes(b) => b,
            Wire::Varint(_) => panic!("expected a length-delimited field"),
        }
    }

    fn scalar(message: &[u8], number: u32) -> u64 {
        fields(message)
            .iter()
            .filter(|(f, _)| *f == number)
            .map(|(_, w)| varints(w)[0])
            .next_back()
            .unwrap_or(0)
    }

    /// A decoded profile: its string table, sample types, and the samples
    /// turned back into folded stacks (root first) with their values.
    #[derive(Debug)]
    pub struct Decoded {
        pub strings: Vec<String>,
        pub sample_types: Vec<(String, String)>,
        pub stacks: BTreeMap<String, Vec<u64>>,
        pub period: u64,
        pub comments: Vec<String>,
    }

    pub fn decode(profile: &[u8]) -> Decoded {
        let top = fields(profile);
        let strings: Vec<String> = top
            .iter()
            .filter(|(f, _)| *f == 6)
            .map(|(_, w)| String::from_utf8(bytes_of(w).to_vec()).expect("strings are UTF-8"))
            .collect();
        assert_eq!(
            strings.first().map(String::as_str),
            Some(""),
            "string_table[0] must be empty"
        );
        let s = |i: u64| strings[i as usize].clone();
        let sample_types = top
            .iter()
            .filter(|(f, _)| *f == 1)
            .map(|(_, w)| (s(scalar(bytes_of(w), 1)), s(scalar(bytes_of(w), 2))))
            .collect();
        let functions: HashMap<u64, String> = top
            .iter()
            .filter(|(f, _)| *f == 5)
            .map(|(_, w)| (scalar(bytes_of(w), 1), s(scalar(bytes_of(w), 2))))
            .collect();
        let locations: HashMap<u64, String> = top
            .iter()
            .filter(|(f, _)| *f == 4)
            .map(|(_, w)| {
                let location = bytes_of(w);
                let line = fields(location)
                    .into_iter()
                    .find(|(f, _)| *f == 4)
                    .expect("a location has a line")
                    .1;
                (
                    scalar(location, 1),
                    functions[&scalar(bytes_of(&line), 1)].clone(),
                )
            })
            .collect();
        let mut stacks = BTreeMap::new();
        for (_, w) in top.iter().filter(|(f, _)| *f == 2) {
            let sample = fields(bytes_of(w));
            let ids: Vec<u64> = sample
                .iter()
                .filter(|(f, _)| *f == 1)
                .flat_map(|(_, w)| varints(w))
                .collect();
            let values: Vec<u64> = sample
                .iter()
                .filter(|(f, _)| *f == 2)
                .flat_map(|(_, w)| varints(w))
                .collect();
            let stack: Vec<String> = ids.iter().rev().map(|id| locations[id].clone()).collect();
            let entry: &mut Vec<u64> = stacks
                .entry(stack.join(";"))
                .or_insert_with(|| vec![0; values.len()]);
            for (sum, v) in entry.iter_mut().zip(values) {
                *sum += v;
            }
        }
        let comments = top
            .iter()
            .filter(|(f, _)| *f == 13)
            .flat_map(|(_, w)| varints(w))
            .map(s)
            .collect();
        Decoded {
            strings,
            sample_types,
            stacks,
            period: scalar(profile, 12),
            comments,
        }
    }

    fn crc32_bitwise(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                let mask = (crc & 1).wrapping_neg();
                crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
            }
        }
        !crc
    }

    /// Unpacks a gzip stream of stored blocks, checking CRC and length.
    pub fn gunzip_stored(gz: &[u8]) -> Vec<u8> {
        assert_eq!(&gz[..3], &[0x1f, 0x8b, 8], "gzip magic and deflate");
        assert_eq!(gz[3], 0, "no optional header fields");
        let mut at = 10;
        let mut out = Vec::new();
        loop {
            let header = gz[at];
            assert_eq!(header & 0b110, 0, "stored block");
            let len = u16::from_le_bytes([gz[at + 1], gz[at + 2]]);
            let nlen = u16::from_le_bytes([gz[at + 3], gz[at + 4]]);
            assert_eq!(len, !nlen);
            at += 5;
            out.extend_from_slice(&gz[at..at + len as usize]);
            at += len as usize;
            if header & 1 == 1 {
                break;
            }
        }
        let crc = u32::from_le_bytes(gz[at..at + 4].try_into().unwrap());
        let size = u32::from_le_bytes(gz[at + 4..at + 8].try_into().unwrap());
        assert_eq!(at + 8, gz.len(), "nothing after the trailer");
        assert_eq!(crc, crc32_bitwise(&out));
        assert_eq!(size as usize, out.len());
        out
    }

    const FOLDED: &str = "cdr-demo;main;cdr_demo::generate::run;cdr_demo::generate::tariff 120\n\
        cdr-demo;main;cdr_demo::generate::run;std::io::Write::write_all 30\n\
        cdr-demo;main;cdr_demo::generate::run 5\n\
        cdr-demo;[unknown];memcpy_[k] 2\n";

    #[test]
    fn folded_stacks_survive_the_round_trip_through_profile_proto() {
        let options = Options {
            frequency: Some(997),
            time_nanos: Some(1_795_320_306_000_000_000),
            comments: vec!["from cpu.folded".into()],
            program: Some("cdr-demo".into()),
        };
        let bytes = encode_folded(FOLDED.as_bytes(), &options).unwrap();
        let decoded = decode(&bytes);
        assert_eq!(
            decoded.sample_types,
            vec![
                ("samples".to_string(), "count".to_string()),
                ("cpu".to_string(), "nanoseconds".to_string())
            ]
        );
        assert_eq!(decoded.period, 1_000_000_000 / 997);
        assert_eq!(decoded.comments, vec!["from cpu.folded"]);
        let period = 1_000_000_000 / 997;
        let expected: BTreeMap<String, Vec<u64>> = FOLDED
            .lines()
            .map(|l| {
                let (stack, n) = l.rsplit_once(' ').unwrap();
                let n: u64 = n.parse().unwrap();
                (stack.replace("_[k]", ""), vec![n, n * period])
            })
            .collect();
        assert_eq!(decoded.stacks, expected);
        // Each function name is stored once.
        let tariff = decoded
            .strings
            .iter()
            .filter(|s| s.as_str() == "cdr_demo::generate::tariff")
            .count();
        assert_eq!(tariff, 1);
        assert_eq!(scalar(&bytes, 9), 1_795_320_306_000_000_000);
        let mappings: Vec<Vec<u8>> = fields(&bytes)
            .into_iter()
            .filter(|(f, _)| *f == 3)
            .map(|(_, w)| bytes_of(&w).to_vec())
            .collect();
        assert_eq!(mappings.len(), 1);
        assert_eq!(
            decoded.strings[scalar(&mappings[0], 5) as usize],
            "cdr-demo"
        );
        assert_eq!(scalar(&mappings[0], 7), 1, "has_functions");
    }

    #[test]
    fn without_a_frequency_only_sample_counts_are_recorded() {
        let bytes = encode_folded("a;b 3\nnot a line\n".as_bytes(), &Options::default()).unwrap();
        let decoded = decode(&bytes);
        assert_eq!(
            decoded.sample_types,
            vec![("samples".to_string(), "count".to_string())]
        );
        assert_eq!(
            decoded.stacks,
            BTreeMap::from([("a;b".to_string(), vec![3])])
        );
        assert!(encode_folded("".as_bytes(), &Options::default()).is_err());
    }

    /// The profile's bytes, pinned (as hex, 32 bytes a line): with every
    /// option, and with none over a line that is skipped.
    #[test]
    fn encoded_profiles_are_their_golden_copy() {
        let full = Options {
            frequency: Some(997),
            time_nanos: Some(1_795_320_306_000_000_000),
            comments: vec!["from cpu.folded".into(), "second".into()],
            program: Some("cdr-demo".into()),
        };
        let hex = |bytes: Vec<u8>| -> String {
            bytes
                .chunks(32)
                .map(|line| line.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
                .collect()
        };
        let text = [
            hex(encode_folded(FOLDED.as_bytes(), &full).unwrap()),
            hex(encode_folded(
                "a;b 3\nnot a line\n\na;c x\n".as_bytes(),
                &Options::default(),
            )
            .unwrap()),
            format!(
                "{:#}\n",
                encode_folded("x\n".as_bytes(), &Options::default()).unwrap_err()
            ),
        ]
        .join("----\n");
        crate::reports::golden::assert_golden("pprof.hex", &text);
    }

    #[test]
    fn gzip_streams_unpack_to_the_original_bytes() {
        for size in [0usize, 1, 65_535, 65_536, 200_000] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            assert_eq!(gunzip_stored(&gzip(&data)), data, "size {size}");
        }
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926, "the CRC-32 check value");
    }

    #[test]
    fn system_gzip_reads_the_stream() {
        let Ok(gz) = which::which("gzip") else {
            eprintln!("note: gzip is not installed; skipping the check with the system gzip");
            return;
        };
        let data = encode_folded(FOLDED.as_bytes(), &Options::default()).unwrap();
        let path = std::env::temp_dir().join(format!("xtask-pprof-{}.pb.gz", std::process::id()));
        std::fs::write(&path, gzip(&data)).unwrap();
        let out = std::process::Command::new(gz)
            .arg("-dc")
            .arg(&path)
            .output()
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, data);
    }

    /// profile.proto's messages as far as this encoder writes them (field
    /// numbers and types as in google/pprof's proto/profile.proto).
    const PROFILE_PROTO: &str = r#"syntax = "proto3";
package perftools.profiles;
message Profile {
  repeated ValueType sample_type = 1;
  repeated Sample sample = 2;
  repeated Mapping mapping = 3;
  repeated Location location = 4;
  repeated Function function = 5;
  repeated string string_table = 6;
  int64 drop_frames = 7;
  int64 keep_frames = 8;
  int64 time_nanos = 9;
  int64 duration_nanos = 10;
  ValueType period_type = 11;
  int64 period = 12;
  repeated int64 comment = 13;
  int64 default_sample_type = 14;
}
message ValueType { int64 type = 1; int64 unit = 2; }
message Sample { repeated uint64 location_id = 1; repeated int64 value = 2; repeated Label label = 3; }
message Label { int64 key = 1; int64 str = 2; int64 num = 3; int64 num_unit = 4; }
message Mapping {
  uint64 id = 1; uint64 memory_start = 2; uint64 memory_limit = 3; uint64 file_offset = 4;
  int64 filename = 5; int64 build_id = 6; bool has_functions = 7; bool has_filenames = 8;
  bool has_line_numbers = 9; bool has_inline_frames = 10;
}
message Location { uint64 id = 1; uint64 mapping_id = 2; uint64 address = 3; repeated Line line = 4; bool is_folded = 5; }
message Line { uint64 function_id = 1; int64 line = 2; int64 column = 3; }
message Function { uint64 id = 1; int64 name = 2; int64 system_name = 3; int64 filename = 4; int64 start_line = 5; }
"#;

    #[test]
    fn protoc_decodes_the_profile_with_the_schema() {
        let Ok(protoc) = which::which("protoc") else {
            eprintln!("note: protoc is not installed (apt-get install protobuf-compiler); skipping the schema check");
            return;
        };
        let dir = std::env::temp_dir().join(format!("xtask-protoc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("profile.proto"), PROFILE_PROTO).unwrap();
        let bytes = encode_folded(
            FOLDED.as_bytes(),
            &Options {
                frequency: Some(997),
                ..Options::default()
            },
        )
        .unwrap();
        let mut child = std::process::Command::new(protoc)
            .arg(format!("--proto_path={}", dir.display()))
            .args(["--decode=perftools.profiles.Profile", "profile.proto"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Unknown fields would be printed by number: there must be none.
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit())),
            "{text}"
        );
        assert!(
            text.contains("string_table: \"cdr_demo::generate::tariff\""),
            "{text}"
        );
        assert_eq!(
            text.matches("\nsample {").count() + usize::from(text.starts_with("sample {")),
            4,
            "{text}"
        );
        assert!(text.contains("period: 1003009"), "{text}");
    }
}
