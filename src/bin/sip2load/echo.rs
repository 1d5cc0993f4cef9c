//! The baseline: a minimal tokio server that answers every CR-terminated frame with a fixed,
//! valid frame, without parsing. The answers are built once at start: one per answered command
//! code (98, 24, 64, 94) and AY digit, so the generator checks the echo exactly as it checks the
//! server. Only the request's first two bytes and its AY digit are looked at.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::frames;

const DATE: &str = "20250314    093005";

/// The fixed answer bodies, close in size to the server's own.
fn bodies() -> [(&'static [u8; 2], String); 4] {
    [
        (
            b"99",
            format!("98YNNNYN1000032{DATE}2.00AOMAIN|AMMain Library|BXYYYYYYNNNNNNNNNN|"),
        ),
        (
            b"23",
            format!(
                "24              001{DATE}AOMAIN|AA21234000012345|AEDoe, Jane|BLY|CQY|AFPatron OK|"
            ),
        ),
        (
            b"63",
            format!(
                "64              001{DATE}000000000000000000000000AOMAIN|AA21234000012345|\
                 AEDoe, Jane|BLY|CQY|BHUSD|BV0.00|CC5.00|PA20261231|PB19900115|PCADULT|\
                 AFPatron OK|"
            ),
        ),
        (b"93", "941".to_owned()),
    ]
}

/// Answers: `[code][ay digit, or 10 for no AY]`.
struct Answers {
    by_code: Vec<(&'static [u8; 2], Vec<Vec<u8>>)>,
}

impl Answers {
    fn new() -> Answers {
        let by_code = bodies()
            .into_iter()
            .map(|(code, body)| {
                let mut frames: Vec<Vec<u8>> =
                    (0..10).map(|seq| frames::frame(&body, Some(seq))).collect();
                frames.push(frames::frame(&body, None));
                (code, frames)
            })
            .collect();
        Answers { by_code }
    }

    /// The answer to `request` (with its CR): by its code and the digit after `AY` when the
    /// request ends in `AY<d>AZ<4 hex>`. Unknown codes get the 98.
    fn to(&self, request: &[u8]) -> &[u8] {
        let code = request.get(..2).unwrap_or_default();
        let frames = self
            .by_code
            .iter()
            .find(|(c, _)| &c[..] == code)
            .map_or(&self.by_code[0].1, |(_, f)| f);
        let n = request.len();
        let seq = (n >= 10 && &request[n - 10..n - 8] == b"AY")
            .then(|| request[n - 8].wrapping_sub(b'0'))
            .filter(|d| *d < 10);
        &frames[usize::from(seq.unwrap_or(10))]
    }
}

/// Serves until the process ends.
pub(crate) async fn serve(listen: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    println!("echo listening on {}", listener.local_addr()?);
    let answers = Arc::new(Answers::new());
    loop {
        let (stream, _) = listener.accept().await?;
        let answers = answers.clone();
        tokio::spawn(async move { connection(stream, &answers).await });
    }
}

async fn connection(stream: TcpStream, answers: &Answers) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    let mut request = Vec::with_capacity(256);
    loop {
        request.clear();
        match reader.read_until(b'\r', &mut request).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let start = usize::from(request.first() == Some(&b'\n'));
        let answer = answers.to(&request[start..]);
        if reader.get_mut().write_all(answer).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_passes_the_generators_checks() {
        let answers = Answers::new();
        for seq in 0..10u8 {
            let request = frames::frame("9900302.00", Some(seq));
            assert_eq!(
                frames::check(answers.to(&request), b"98", Some(seq), None),
                Ok(())
            );
            let request = frames::frame("63001x", Some(seq));
            let got = answers.to(&request);
            assert_eq!(frames::check(got, b"64", Some(seq), Some(b"CQY")), Ok(()));
        }
        let plain = frames::frame("9900302.00", None);
        assert_eq!(frames::check(answers.to(&plain), b"98", None, None), Ok(()));
    }
}
