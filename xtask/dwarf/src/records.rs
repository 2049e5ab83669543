//! perf's recordings read record by record (the `linux-perf-data` crate):
//! `perf record -o -`'s stream, or a perf.data file. Here rather than in the
//! engine because the reader is generic over its input, and so compiled in
//! the crate that names the input: this crate is built optimised, and the
//! reader copies every record (a 16 KiB stack with each sample).

use linux_perf_data::{AttributeDescription, PerfFileReader, PerfFileRecord};
use std::io::{Read, Seek};
use std::path::Path;

/// A recording, record by record, in time order.
pub struct Records {
    reader: PerfFileReader<Input>,
}

/// What a recording is read from: a file, or a stream (which never seeks).
type Input = Box<dyn ReadSeek + Send>;

trait ReadSeek: Read + Seek {}

impl<T: Read + Seek> ReadSeek for T {}

/// A stream, as an input that refuses to seek (a stream's reader never
/// asks to).
struct NoSeek<R>(R);

impl<R: Read> Read for NoSeek<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buffer)
    }
}

impl<R> Seek for NoSeek<R> {
    fn seek(&mut self, _: std::io::SeekFrom) -> std::io::Result<u64> {
        Err(std::io::Error::other("perf's stream cannot seek"))
    }
}

impl Records {
    /// `perf record -o -`'s stream.
    pub fn stream(input: Box<dyn Read + Send>) -> Result<Records, linux_perf_data::Error> {
        let input: Input = Box::new(NoSeek(std::io::BufReader::with_capacity(
            1 << 20,
            WithoutTracingData::new(input),
        )));
        Ok(Records {
            reader: PerfFileReader::parse_pipe(input)?,
        })
    }

    /// A perf.data file: written by `perf record -o FILE`, or by `-o -` and
    /// kept (a stream in a file, whose header is 16 bytes long).
    pub fn file(path: &Path) -> Result<Records, linux_perf_data::Error> {
        let mut head = [0u8; 16];
        std::fs::File::open(path)?.read_exact(&mut head)?;
        if u64::from_ne_bytes(head[8..16].try_into().expect("8 bytes")) == 16 {
            return Records::stream(Box::new(std::fs::File::open(path)?));
        }
        let input: Input = Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(path)?,
        ));
        Ok(Records {
            reader: PerfFileReader::parse_file(input)?,
        })
    }

    /// The recording's events.
    pub fn attributes(&self) -> &[AttributeDescription] {
        self.reader.perf_file.event_attributes()
    }

    /// The next record: the kernel's, with the index of its event, or
    /// perf's own.
    pub fn next_record(&mut self) -> Result<Option<PerfFileRecord<'_>>, linux_perf_data::Error> {
        self.reader
            .record_iter
            .next_record(&mut self.reader.perf_file)
    }
}

/// perf's stream without the tracepoints' formats (`--off-cpu`): their
/// record's size covers only its own header and a length, and that many
/// bytes follow it, which a reader of records would take for records.
pub struct WithoutTracingData<R> {
    inner: R,
    /// The file header, then each record's opening 12 bytes, as they pass.
    head: Vec<u8>,
    started: bool,
    /// Bytes of the current record still to pass on.
    pass: u64,
    /// Bytes of tracing data still to drop.
    drop: u64,
    input: Vec<u8>,
    output: Vec<u8>,
    position: usize,
}

/// `PERF_RECORD_HEADER_TRACING_DATA`.
const TRACING_DATA: u32 = 66;

impl<R: Read> WithoutTracingData<R> {
    pub fn new(inner: R) -> WithoutTracingData<R> {
        WithoutTracingData {
            inner,
            head: Vec::new(),
            started: false,
            pass: 0,
            drop: 0,
            input: vec![0; 1 << 16],
            output: Vec::new(),
            position: 0,
        }
    }

    /// Takes `data` in, appending to `out` what passes.
    fn filter(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        while !data.is_empty() {
            if self.drop > 0 || self.pass > 0 {
                let n = self.drop.max(self.pass).min(data.len() as u64) as usize;
                if self.drop > 0 {
                    self.drop -= n as u64;
                } else {
                    out.extend_from_slice(&data[..n]);
                    self.pass -= n as u64;
                }
                data = &data[n..];
                continue;
            }
            let wanted = if self.started { 12 } else { 16 };
            let n = (wanted - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.head.len() == wanted {
                self.close_head(out);
            }
        }
    }

    fn close_head(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            out.extend_from_slice(&self.head);
        } else {
            let kind = u32::from_ne_bytes(self.head[..4].try_into().expect("4 bytes"));
            let size = u64::from(u16::from_ne_bytes([self.head[6], self.head[7]]));
            if kind == TRACING_DATA {
                let length = u32::from_ne_bytes(self.head[8..12].try_into().expect("4 bytes"));
                self.drop = size.saturating_sub(12) + u64::from(length);
            } else {
                // A record shorter than 12 bytes (8 at least) passes whole.
                out.extend_from_slice(&self.head);
                self.pass = size.max(8).saturating_sub(12);
                if size < 12 {
                    // Its last bytes were the next record's opening ones.
                    let extra = (12 - size.max(8)) as usize;
                    let next = out.split_off(out.len() - extra);
                    self.head = next;
                    return;
                }
            }
        }
        self.head.clear();
    }
}

impl<R: Read> Read for WithoutTracingData<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        while self.position == self.output.len() {
            self.output.clear();
            self.position = 0;
            let n = self.inner.read(&mut self.input)?;
            if n == 0 && self.head.is_empty() {
                return Ok(0);
            }
            if n == 0 {
                // The stream ended within 12 bytes of a record's start: a
                // last short record (or a cut one) passes as it is.
                self.output = std::mem::take(&mut self.head);
                continue;
            }
            let input = std::mem::take(&mut self.input);
            let mut output = std::mem::take(&mut self.output);
            self.filter(&input[..n], &mut output);
            self.input = input;
            self.output = output;
        }
        let n = buffer.len().min(self.output.len() - self.position);
        buffer[..n].copy_from_slice(&self.output[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The filter drops exactly the tracing data, however the stream is cut
    /// into reads.
    #[test]
    fn the_tracing_data_goes_whatever_the_reads() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"PERFILE2");
        stream.extend_from_slice(&16u64.to_ne_bytes());
        // A record of 16 bytes, the tracing data's (12 bytes and 5 of data,
        // padded to 16 by perf's size), and a record of 8.
        let record = |kind: u32, size: u16, body: &[u8]| {
            let mut r = kind.to_ne_bytes().to_vec();
            r.extend_from_slice(&0u16.to_ne_bytes());
            r.extend_from_slice(&size.to_ne_bytes());
            r.extend_from_slice(body);
            r
        };
        let first = record(9, 16, &[1; 8]);
        let tracing = record(66, 16, &[5, 0, 0, 0, 0, 0, 0, 0]);
        let last = record(68, 8, &[]);
        stream.extend_from_slice(&first);
        stream.extend_from_slice(&tracing);
        stream.extend_from_slice(&[7; 5]);
        stream.extend_from_slice(&last);
        let mut expected = stream[..16].to_vec();
        expected.extend_from_slice(&first);
        expected.extend_from_slice(&last);
        for chunk in [1, 3, 7, 64] {
            let reader = Chunks(&stream, chunk);
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut WithoutTracingData::new(reader), &mut out).unwrap();
            assert_eq!(out, expected, "reads of {chunk}");
        }
    }

    struct Chunks<'a>(&'a [u8], usize);

    impl std::io::Read for Chunks<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buffer.len()).min(self.0.len());
            buffer[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
}
