//! Captures a program's output stream in bounded memory: the first `head_cap` bytes, the last
//! `tail_cap` bytes (the two overlap when the output is short) and the total count, however
//! much the program prints. Pure.

use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct OutputCapture {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    head_cap: usize,
    tail_cap: usize,
    total: u64,
}

impl OutputCapture {
    pub fn new(head_cap: usize, tail_cap: usize) -> Self {
        Self {
            head: Vec::new(),
            tail: VecDeque::new(),
            head_cap,
            tail_cap,
            total: 0,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        let room = self.head_cap - self.head.len();
        self.head.extend_from_slice(&data[..room.min(data.len())]);
        if data.len() >= self.tail_cap {
            self.tail.clear();
            self.tail.extend(&data[data.len() - self.tail_cap..]);
        } else {
            let overflow = (self.tail.len() + data.len()).saturating_sub(self.tail_cap);
            self.tail.drain(..overflow);
            self.tail.extend(data);
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The head, the tail and the total byte count.
    pub fn into_parts(self) -> (Vec<u8>, Vec<u8>, u64) {
        (self.head, self.tail.into_iter().collect(), self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(chunks: &[&[u8]], head: usize, tail: usize) -> (String, String, u64) {
        let mut c = OutputCapture::new(head, tail);
        for ch in chunks {
            c.push(ch);
        }
        let (h, t, n) = c.into_parts();
        (
            String::from_utf8(h).unwrap(),
            String::from_utf8(t).unwrap(),
            n,
        )
    }

    #[test]
    fn keeps_head_and_tail_within_caps() {
        type Case<'a> = (&'a [&'a [u8]], usize, usize, (&'a str, &'a str, u64));
        let cases: &[Case] = &[
            (&[b"abc"], 5, 3, ("abc", "abc", 3)),
            (&[b"abcdefgh"], 3, 2, ("abc", "gh", 8)),
            (
                &[b"ab", b"cd", b"ef", b"gh", b"ij"],
                3,
                4,
                ("abc", "ghij", 10),
            ),
            (&[b"abcd", b"e"], 2, 10, ("ab", "abcde", 5)),
            (&[&[b'a'; 1000]], 0, 1, ("", "a", 1000)),
        ];
        for (chunks, head, tail, (h, t, n)) in cases {
            let got = capture(chunks, *head, *tail);
            assert_eq!(got, (h.to_string(), t.to_string(), *n), "{chunks:?}");
        }
    }
}
