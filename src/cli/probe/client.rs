//! The probe's connection: one TCP stream framed by the SIP2 codec, and one request/answer
//! exchange at a time with its timeouts, optional AY/AZ trailer and the answer's code printed.
//!
//! Uses `sip2` (encoder, parser, framing) only; must not import the store or the server.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use super::{ProbeArgs, TerminatorArg};
use crate::sip2::{
    encode, parse, EncodeOptions, Frame, FrameCodec, ParseOptions, Request, Response, TrailerMode,
};

pub(super) struct Client {
    framed: Framed<TcpStream, FrameCodec>,
    encode: EncodeOptions,
    parse: ParseOptions,
    terminator: &'static [u8],
    timeout: Duration,
    sequence: u8,
    checksums: bool,
}

impl Client {
    pub(super) async fn connect(args: &ProbeArgs) -> Result<Client, String> {
        let stream = tokio::time::timeout(args.timeout, TcpStream::connect(&args.address))
            .await
            .map_err(|_| {
                format!(
                    "no connection to {} within {:?}",
                    args.address, args.timeout
                )
            })?
            .map_err(|e| format!("cannot connect to {}: {e}", args.address))?;
        Ok(Client {
            framed: Framed::new(stream, FrameCodec::default()),
            encode: EncodeOptions {
                charset: args.charset,
                trailer: TrailerMode::None,
            },
            parse: ParseOptions {
                charset: args.charset,
                ..ParseOptions::default()
            },
            terminator: match args.terminator {
                TerminatorArg::Cr => b"\r",
                TerminatorArg::Crlf => b"\r\n",
            },
            timeout: args.timeout,
            sequence: 0,
            checksums: args.checksums,
        })
    }

    pub(super) async fn exchange(
        &mut self,
        request: &Request,
        what: &str,
    ) -> Result<Response, String> {
        let mut options = self.encode;
        if self.checksums {
            options.trailer = TrailerMode::Checksum {
                sequence: Some(self.sequence),
            };
            self.sequence = (self.sequence + 1) % 10;
        }
        let mut bytes = encode::request(request, &options);
        bytes.extend_from_slice(self.terminator);
        let stream = self.framed.get_mut();
        tokio::time::timeout(
            self.timeout,
            tokio::io::AsyncWriteExt::write_all(stream, &bytes),
        )
        .await
        .map_err(|_| format!("{what}: could not send within {:?}", self.timeout))?
        .map_err(|e| format!("{what}: send failed: {e}"))?;
        let frame = tokio::time::timeout(self.timeout, self.framed.next())
            .await
            .map_err(|_| format!("{what}: no answer within {:?}", self.timeout))?;
        let frame = match frame {
            Some(Ok(Frame::Message(frame))) => frame,
            Some(Ok(Frame::Oversized)) => return Err(format!("{what}: answer too long")),
            Some(Err(e)) => return Err(format!("{what}: read failed: {e}")),
            None => return Err(format!("{what}: the server closed the connection")),
        };
        let parsed = parse::response(&frame, &self.parse)
            .map_err(|e| format!("{what}: unreadable answer: {e}"))?;
        if self.checksums
            && parsed.trailer.is_none()
            && !matches!(parsed.message, Response::RequestScResend(_))
        {
            return Err(format!(
                "{what}: answer has no checksum although --checksums was given"
            ));
        }
        println!(
            "{} {}",
            String::from_utf8_lossy(&parsed.message.code()),
            Response::name_of(parsed.message.code()).unwrap_or("")
        );
        Ok(parsed.message)
    }
}
