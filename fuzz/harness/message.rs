//! The message parsers. The first byte picks the options (charset, checksum policy, strictness);
//! the rest is one frame. Invariants: the owned message equals the view made owned; an error's
//! text never repeats a credential of the frame; a request or response that parses encodes to
//! bytes that parse back to the same message.

use sip2auth::sip2::{
    encode, parse, Charset, ChecksumPolicy, EncodeOptions, ParseError, ParseOptions, TrailerMode,
};

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&choice, frame)) = data.split_first() else {
        return;
    };
    let opts = options(choice);
    let request = parse::request(frame, &opts);
    let view = parse::request_view(frame, &opts).map(|parsed| parsed.into_owned());
    assert_eq!(request, view, "request: owned and view differ");
    match &request {
        Ok(parsed) => {
            let sealed = encode_options(&opts, parsed.trailer.and_then(|t| t.sequence));
            let bytes = encode::request(&parsed.message, &sealed);
            let again =
                parse::request(&bytes, &reparse(&opts)).expect("a re-encoded request parses");
            assert_eq!(
                again.message, parsed.message,
                "request changed through encoding"
            );
        }
        Err(error) => check_error(error, frame),
    }
    let response = parse::response(frame, &opts);
    let view = parse::response_view(frame, &opts).map(|parsed| parsed.into_owned());
    assert_eq!(response, view, "response: owned and view differ");
    match &response {
        Ok(parsed) => {
            let sealed = encode_options(&opts, parsed.trailer.and_then(|t| t.sequence));
            let bytes = encode::response(&parsed.message, &sealed);
            let again =
                parse::response(&bytes, &reparse(&opts)).expect("a re-encoded response parses");
            assert_eq!(
                again.message, parsed.message,
                "response changed through encoding"
            );
        }
        Err(error) => check_error(error, frame),
    }
}

fn options(choice: u8) -> ParseOptions {
    ParseOptions {
        charset: match choice % 3 {
            0 => Charset::Utf8,
            1 => Charset::Latin1,
            _ => Charset::Cp850,
        },
        checksum: if choice & 4 == 0 {
            ChecksumPolicy::Strict
        } else {
            ChecksumPolicy::Lenient
        },
        strict_ascii: choice & 8 != 0,
        strict_fixed: choice & 16 != 0,
        strict_resend: choice & 32 != 0,
    }
}

/// What the encoder is told: the same charset, a trailer with the same sequence.
fn encode_options(opts: &ParseOptions, sequence: Option<u8>) -> EncodeOptions {
    EncodeOptions {
        charset: opts.charset,
        trailer: TrailerMode::Checksum { sequence },
    }
}

/// The encoder writes what the parser reads by default; strict ASCII refuses text the charset
/// encodes above 0x7F, which is not what is checked here.
fn reparse(opts: &ParseOptions) -> ParseOptions {
    ParseOptions {
        strict_ascii: false,
        ..*opts
    }
}

/// An error may name a credential identifier but never repeats what follows it in the frame
/// (`shown_value` cuts a bad value right after a swallowed `AD`, `AC` or `CO`).
fn check_error(error: &ParseError, frame: &[u8]) {
    let shown = format!("{error} {error:?}");
    for at in 0..frame.len().saturating_sub(1) {
        let id = &frame[at..at + 2];
        if !matches!(id, b"AD" | b"AC" | b"CO") {
            continue;
        }
        let value: Vec<u8> = frame[at..]
            .iter()
            .copied()
            .take_while(|&b| b != b'|')
            .take(10)
            .collect();
        if value.len() >= 4 {
            let needle = String::from_utf8_lossy(&value);
            assert!(
                !shown.contains(&*needle),
                "an error repeats a credential: {shown}"
            );
        }
    }
}
