//! What kind of text an import file is: its field [`Delimiter`] (given with `--delimiter`, or
//! detected from the header row) and the refusal of a file that is not text at all (a binary
//! file, a UTF-16 export), before any of its bytes could be shown as a column name.
//!
//! Plain functions over bytes; uses nothing else in the crate.

use std::fmt;
use std::str::FromStr;

/// The character between the fields of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    Comma,
    Semicolon,
    Tab,
}

/// The delimiters detection chooses from, in order of preference on a tie.
const CANDIDATES: [Delimiter; 3] = [Delimiter::Comma, Delimiter::Semicolon, Delimiter::Tab];

impl Delimiter {
    pub(crate) fn byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Semicolon => b';',
            Delimiter::Tab => b'\t',
        }
    }

    /// Detects the delimiter from the header row: the candidate found most often outside
    /// quotes; a comma when none is found (a one-column header) or on a tie.
    pub(crate) fn detect(bytes: &[u8]) -> Delimiter {
        let mut counts = [0usize; CANDIDATES.len()];
        let mut quoted = false;
        for &byte in bytes {
            match byte {
                b'"' => quoted = !quoted,
                b'\n' | b'\r' if !quoted => break,
                _ if !quoted => {
                    if let Some(i) = CANDIDATES.iter().position(|d| d.byte() == byte) {
                        counts[i] += 1;
                    }
                }
                _ => {}
            }
        }
        let mut best = Delimiter::Comma;
        let mut best_count = 0;
        for (delimiter, count) in CANDIDATES.iter().zip(counts) {
            if count > best_count {
                (best, best_count) = (*delimiter, count);
            }
        }
        best
    }
}

impl fmt::Display for Delimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Delimiter::Comma => "comma (,)",
            Delimiter::Semicolon => "semicolon (;)",
            Delimiter::Tab => "tab",
        })
    }
}

impl FromStr for Delimiter {
    type Err = String;

    fn from_str(text: &str) -> Result<Delimiter, String> {
        match text {
            "," | "comma" => Ok(Delimiter::Comma),
            ";" | "semicolon" => Ok(Delimiter::Semicolon),
            "tab" | "\t" | "\\t" => Ok(Delimiter::Tab),
            _ => Err(format!(
                "unknown delimiter {text:?}: use \",\", \";\" or tab"
            )),
        }
    }
}

/// Why the bytes are not a text file, if they are not: a NUL byte (binary data, or UTF-16) in
/// the first 8 KiB, or a header row that is not UTF-8.
pub(crate) fn not_text(bytes: &[u8]) -> Option<&'static str> {
    const SNIFF_BYTES: usize = 8192;
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) {
        return Some("it is UTF-16 text; export the patrons as UTF-8 CSV");
    }
    if head.contains(&0) {
        return Some("it holds binary data, not CSV text; export the patrons as UTF-8 CSV");
    }
    let first_line = head
        .split(|&b| b == b'\n' || b == b'\r')
        .next()
        .unwrap_or_default();
    // A header cut at the sniffing limit may end inside a character: only a complete line counts.
    let complete = first_line.len() < head.len() || head.len() == bytes.len();
    if complete && std::str::from_utf8(first_line).is_err() {
        return Some("its header row is not UTF-8 text; export the patrons as UTF-8 CSV");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_frequent_delimiter_outside_quotes_wins() {
        assert_eq!(Delimiter::detect(b"a,b,c\n1;2;3;4;5\n"), Delimiter::Comma);
        assert_eq!(Delimiter::detect(b"a;b;\"c,d,e\"\n"), Delimiter::Semicolon);
        assert_eq!(Delimiter::detect(b"a\tb\tc\r\n"), Delimiter::Tab);
        assert_eq!(Delimiter::detect(b"card\n"), Delimiter::Comma);
    }

    #[test]
    fn binary_and_utf16_files_are_not_text() {
        assert!(not_text(b"card,institution\n1,MAIN\n").is_none());
        assert!(not_text(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").is_some());
        assert!(not_text(b"\xff\xfec\0a\0r\0d\0").is_some());
        assert!(not_text(b"\xc3\x28card,institution\n").is_some());
    }
}
