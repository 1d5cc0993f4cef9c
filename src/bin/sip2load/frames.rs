//! The requests the load generator sends and the checks every response must pass: the command
//! code of the answer, the CR terminator, and (with error detection on) AY echoed and AZ right.

use sip2auth::sip2::checksum;

/// Which request a run sends after the optional 93.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Path {
    /// 99 SC status.
    Status,
    /// 23 patron status, card only or with AD from the cards file.
    Lookup,
    /// 63 patron information, with AD from the cards file.
    Information,
}

impl Path {
    pub(crate) fn answer_code(self) -> &'static [u8; 2] {
        match self {
            Path::Status => b"98",
            Path::Lookup => b"24",
            Path::Information => b"64",
        }
    }
}

/// A card from the cards file, with the PIN to present (None: no AD at all).
#[derive(Debug, Clone)]
pub(crate) struct Card {
    pub(crate) number: String,
    pub(crate) pin: Option<String>,
}

/// Reads `card[,pin]` lines (blank lines and `#` comments skipped).
pub(crate) fn read_cards(path: &std::path::Path) -> std::io::Result<Vec<Card>> {
    let text = std::fs::read_to_string(path)?;
    let cards: Vec<Card> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| match line.split_once(',') {
            Some((number, pin)) => Card {
                number: number.trim().to_owned(),
                pin: Some(pin.trim().to_owned()).filter(|p| !p.is_empty()),
            },
            None => Card {
                number: line.to_owned(),
                pin: None,
            },
        })
        .collect();
    if cards.is_empty() {
        return Err(std::io::Error::other(format!(
            "{}: no cards in the file",
            path.display()
        )));
    }
    Ok(cards)
}

const DATE: &str = "20250314    093005";

/// One request frame with its terminator; `seq` adds AY/AZ.
pub(crate) fn frame(body: &str, seq: Option<u8>) -> Vec<u8> {
    let mut out = body.as_bytes().to_vec();
    if let Some(seq) = seq {
        out.extend_from_slice(format!("AY{seq}AZ").as_bytes());
        let value = checksum::compute(&out);
        out.extend_from_slice(format!("{value:04X}").as_bytes());
    }
    out.push(b'\r');
    out
}

pub(crate) fn login(user: &str, password: &str) -> String {
    format!("9300CN{user}|CO{password}|CPLOAD|")
}

pub(crate) fn request(path: Path, institution: &str, card: &Card, pin: bool) -> String {
    let ad = match (&card.pin, pin) {
        (Some(p), true) => format!("AD{p}|"),
        _ => String::new(),
    };
    match path {
        Path::Status => "9900302.00".to_owned(),
        Path::Lookup => format!("23001{DATE}AO{institution}|AA{}|AC|{ad}", card.number),
        Path::Information => {
            format!(
                "63001{DATE}          AO{institution}|AA{}|AC|{ad}",
                card.number
            )
        }
    }
}

/// Why a response failed its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Failure {
    /// The connection closed, or the read or write failed.
    Closed,
    /// No response within the per-request timeout.
    Timeout,
    /// Not terminated by CR.
    NoTerminator,
    /// Another command code than the answer of the request.
    WrongCode,
    /// AY missing or not the one sent.
    WrongSequence,
    /// AZ missing or wrong.
    BadChecksum,
    /// The expected field (`--expect`) is missing.
    Unexpected,
    /// A 93 not answered 941.
    LoginRefused,
}

/// Checks one response (with its CR) against what was sent.
pub(crate) fn check(
    response: &[u8],
    code: &[u8; 2],
    seq: Option<u8>,
    expect: Option<&[u8]>,
) -> Result<(), Failure> {
    let Some(body) = response.strip_suffix(b"\r") else {
        return Err(Failure::NoTerminator);
    };
    if body.get(..2) != Some(&code[..]) {
        return Err(Failure::WrongCode);
    }
    if let Some(seq) = seq {
        check_trailer(body, seq)?;
    }
    if let Some(field) = expect {
        if !body.windows(field.len()).any(|w| w == field) {
            return Err(Failure::Unexpected);
        }
    }
    Ok(())
}

/// `...AY<seq>AZ<4 hex>` at the end, with the checksum over everything through `AZ`.
fn check_trailer(body: &[u8], seq: u8) -> Result<(), Failure> {
    let n = body.len();
    if n < 9 || &body[n - 9..n - 7] != b"AY" || body[n - 7] != b'0' + seq {
        return Err(Failure::WrongSequence);
    }
    if &body[n - 6..n - 4] != b"AZ" {
        return Err(Failure::BadChecksum);
    }
    let hex = std::str::from_utf8(&body[n - 4..]).map_err(|_| Failure::BadChecksum)?;
    let value = u16::from_str_radix(hex, 16).map_err(|_| Failure::BadChecksum)?;
    if checksum::compute(&body[..n - 4]) != value {
        return Err(Failure::BadChecksum);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_with_error_detection_passes_its_own_check() {
        let sent = frame("98YYYYNN10000320250314    0930052.00AOMAIN|BX|", Some(3));
        assert_eq!(check(&sent, b"98", Some(3), None), Ok(()));
        assert_eq!(
            check(&sent, b"98", Some(4), None),
            Err(Failure::WrongSequence)
        );
        let mut broken = sent.clone();
        broken[3] = b'N';
        assert_eq!(
            check(&broken, b"98", Some(3), None),
            Err(Failure::BadChecksum)
        );
        assert_eq!(check(&sent, b"24", Some(3), None), Err(Failure::WrongCode));
        assert_eq!(
            check(&sent[..sent.len() - 1], b"98", Some(3), None),
            Err(Failure::NoTerminator)
        );
        assert_eq!(
            check(&sent, b"98", Some(3), Some(b"CQY")),
            Err(Failure::Unexpected)
        );
    }
}
