//! Newline framing of the CLI's stdout.
//!
//! One stream-json record per `\n`-terminated line, and a single record can be many MB (the
//! predecessor split records at 64 KiB and silently lost them). The framer grows its buffer as
//! needed up to a cap; a record over the cap is skipped to its end and reported as
//! [`Frame::Oversize`] — never a crash, never silent loss. Memory held is at most one record.

/// What the framer hands out.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// One complete line, without its `\n` (a trailing `\r` is kept; JSON parsing ignores it).
    Line(&'a [u8]),
    /// A record longer than the cap was dropped; `len` is its length in bytes.
    Oversize { len: usize },
}

/// Incremental newline framer with a per-record cap.
#[derive(Debug)]
pub struct LineFramer {
    buf: Vec<u8>,
    cap: usize,
    /// `Some(n)` while skipping an oversize record of which `n` bytes were seen so far.
    discarding: Option<usize>,
}

/// Buffers that grew past this are released after use, so one huge record does not pin memory.
const KEEP_CAPACITY: usize = 1024 * 1024;

impl LineFramer {
    pub fn new(cap: usize) -> Self {
        LineFramer {
            buf: Vec::new(),
            cap,
            discarding: None,
        }
    }

    /// Feeds a chunk; calls `emit` for every frame it completes, in order.
    pub fn push(&mut self, mut chunk: &[u8], emit: &mut impl FnMut(Frame<'_>)) {
        while let Some(i) = memchr::memchr(b'\n', chunk) {
            let head = &chunk[..i];
            chunk = &chunk[i + 1..];
            if let Some(seen) = self.discarding.take() {
                emit(Frame::Oversize {
                    len: seen + head.len(),
                });
            } else if self.buf.is_empty() {
                if head.len() > self.cap {
                    emit(Frame::Oversize { len: head.len() });
                } else {
                    emit(Frame::Line(head));
                }
            } else if self.buf.len() + head.len() > self.cap {
                emit(Frame::Oversize {
                    len: self.buf.len() + head.len(),
                });
                self.reset_buf();
            } else {
                self.buf.extend_from_slice(head);
                emit(Frame::Line(&self.buf));
                self.reset_buf();
            }
        }
        if chunk.is_empty() {
            return;
        }
        match self.discarding.as_mut() {
            Some(seen) => *seen += chunk.len(),
            None if self.buf.len() + chunk.len() > self.cap => {
                self.discarding = Some(self.buf.len() + chunk.len());
                self.reset_buf();
            }
            None => self.buf.extend_from_slice(chunk),
        }
    }

    /// End of stream: a last line without `\n` still counts.
    pub fn finish(&mut self, emit: &mut impl FnMut(Frame<'_>)) {
        if let Some(seen) = self.discarding.take() {
            emit(Frame::Oversize { len: seen });
        } else if !self.buf.is_empty() {
            emit(Frame::Line(&self.buf));
            self.reset_buf();
        }
    }

    fn reset_buf(&mut self) {
        if self.buf.capacity() > KEEP_CAPACITY {
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Owned {
        Line(Vec<u8>),
        Oversize(usize),
    }

    fn frames(cap: usize, chunks: &[&[u8]]) -> Vec<Owned> {
        let mut f = LineFramer::new(cap);
        let mut out = Vec::new();
        let mut emit = |fr: Frame<'_>| {
            out.push(match fr {
                Frame::Line(l) => Owned::Line(l.to_vec()),
                Frame::Oversize { len } => Owned::Oversize(len),
            })
        };
        for c in chunks {
            f.push(c, &mut emit);
        }
        f.finish(&mut emit);
        out
    }

    #[test]
    fn lines_split_across_chunks_are_reassembled() {
        let out = frames(100, &[b"{\"a\"", b":1}\n{\"b\":2}\n{\"c", b"\":3}"]);
        assert_eq!(
            out,
            vec![
                Owned::Line(b"{\"a\":1}".to_vec()),
                Owned::Line(b"{\"b\":2}".to_vec()),
                Owned::Line(b"{\"c\":3}".to_vec()),
            ]
        );
    }

    #[test]
    fn a_record_far_over_64_kib_is_kept_whole() {
        let big = vec![b'x'; 5 * 1024 * 1024];
        let mut input = big.clone();
        input.push(b'\n');
        let chunks: Vec<&[u8]> = input.chunks(8192).collect();
        let out = frames(64 * 1024 * 1024, &chunks);
        assert_eq!(out, vec![Owned::Line(big)]);
    }

    #[test]
    fn an_oversize_record_is_reported_and_the_next_one_survives() {
        let out = frames(10, &[b"short\n", b"0123456789abc", b"def\nafter\n"]);
        assert_eq!(
            out,
            vec![
                Owned::Line(b"short".to_vec()),
                Owned::Oversize(16),
                Owned::Line(b"after".to_vec()),
            ]
        );
        // Over the cap inside one chunk, and an unterminated oversize tail at EOF.
        let out = frames(3, &[b"abcdef\nok\nxyzw"]);
        assert_eq!(
            out,
            vec![
                Owned::Oversize(6),
                Owned::Line(b"ok".to_vec()),
                Owned::Oversize(4)
            ]
        );
    }

    #[test]
    fn blank_lines_are_frames_too() {
        assert_eq!(
            frames(10, &[b"\n\na\n"]),
            vec![
                Owned::Line(vec![]),
                Owned::Line(vec![]),
                Owned::Line(b"a".to_vec())
            ]
        );
    }
}
