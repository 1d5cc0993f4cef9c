//! AY/AZ error detection (PROTOCOL.md §2.2): the 16-bit two's complement of the byte sum.
//!
//! Owns: computing, formatting and verifying checksums. Must not import anything from the crate
//! outside `sip2`.

/// Checksum of `through_az`: every byte from the command code up to and including `AZ`.
pub fn compute(through_az: &[u8]) -> u16 {
    sum(through_az).wrapping_neg()
}

/// Whether `value` is the checksum of `through_az` (sum plus value is 0 modulo 2^16).
pub(crate) fn verify(through_az: &[u8], value: u16) -> bool {
    sum(through_az).wrapping_add(value) == 0
}

fn sum(bytes: &[u8]) -> u16 {
    bytes
        .iter()
        .fold(0u16, |acc, b| acc.wrapping_add(u16::from(*b)))
}

/// Appends `value` as exactly four upper-case hex digits.
pub(crate) fn push_hex(value: u16, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for shift in [12u16, 8, 4, 0] {
        out.push(HEX[usize::from((value >> shift) & 0xF)]);
    }
}

/// Parses 1 to 4 hex digits of either case.
pub(crate) fn parse_hex(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 4 {
        return None;
    }
    digits.iter().try_fold(0u16, |acc, b| {
        let d = char::from(*b).to_digit(16)?;
        // At most 4 digits, so the value fits in 16 bits.
        Some((acc << 4) | d as u16)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples_of_the_protocol_reference_match() {
        let cases: [(&[u8], u16); 7] = [
            (b"97AZ", 0xFEF5),
            (b"96AZ", 0xFEF6),
            (b"941AY0AZ", 0xFDFD),
            (b"990 402.00AY1AZ", 0xFCB4),
            (
                b"9300CNLoginUserID|COLoginPassword|CPLocationCode|AY5AZ",
                0xEC7B,
            ),
            (b"9300CNuser_id|COpassw0rd|AY1AZ", 0xF594),
            (b"9900302.00AY2AZ", 0xFCA4),
        ];
        for (msg, want) in cases {
            assert_eq!(compute(msg), want);
            assert!(verify(msg, want));
        }
    }

    #[test]
    fn guide_erratum_does_not_verify() {
        assert!(!verify(
            b"9300CNLoginUserID|COLoginPassword|CPLocationCode|AY5AZ",
            0xEC78
        ));
    }

    #[test]
    fn hex_is_zero_padded_upper_case() {
        let mut out = Vec::new();
        push_hex(0x0FA, &mut out);
        assert_eq!(out, b"00FA");
    }

    #[test]
    fn hex_of_either_case_parses() {
        assert_eq!(parse_hex(b"f594"), Some(0xF594));
        assert_eq!(parse_hex(b"FCA"), Some(0xFCA));
        assert_eq!(parse_hex(b"12345"), None);
        assert_eq!(parse_hex(b"G1"), None);
    }
}
