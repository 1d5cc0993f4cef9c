//! The wait for a session's next frame, and what ends it first: shutdown (then the drain of
//! what was already read), eviction, the login deadline, a change to the published terminals,
//! the idle timeout, or the client. Part of `session`; the same rules as its parent (no frame,
//! field or value is logged here).

use std::io;

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::watch;
use tokio_util::codec::{Decoder, FramedRead};
use tokio_util::sync::CancellationToken;

use super::outcome::End;
use super::Session;
use crate::server::framing::{ReadError, SessionCodec};
use crate::server::terminal_watch::Published;
use crate::sip2::Frame;

/// The frames read from one half of a connection's stream (plain TCP or TLS).
pub(super) type Frames<S> = FramedRead<ReadHalf<S>, SessionCodec>;

/// What the wait for the next frame produced.
pub(super) enum Next {
    Frame(Vec<u8>),
    End(End),
    /// The published terminals changed: check this session's.
    TerminalsChanged,
    /// Shutdown: answer what was read, then close.
    Drain,
}

impl Session {
    /// Waits for the next frame, or for what ends the wait first.
    pub(super) async fn next<S: AsyncRead>(
        &self,
        frames: &mut Frames<S>,
        terminals: &mut watch::Receiver<Published>,
        login_by: tokio::time::Instant,
        shutdown: &CancellationToken,
    ) -> io::Result<Next> {
        let logged_in = self.profile().is_some();
        // Checked first: a connection that keeps sending must not outrun its deadline.
        if shutdown.is_cancelled() {
            return Ok(Next::Drain);
        }
        if self.permit.evicted().is_cancelled() {
            return Ok(Next::End(End::Evicted));
        }
        if !logged_in && tokio::time::Instant::now() >= login_by {
            return Ok(Next::End(End::LoginDeadline));
        }
        let idle = self.shared.settings.idle_timeout;
        let next = tokio::select! {
            biased;
            () = shutdown.cancelled() => return Ok(Next::Drain),
            () = self.permit.evicted().cancelled() => return Ok(Next::End(End::Evicted)),
            () = tokio::time::sleep_until(login_by), if !logged_in => {
                return Ok(Next::End(End::LoginDeadline))
            }
            Ok(()) = terminals.changed(), if logged_in => return Ok(Next::TerminalsChanged),
            next = tokio::time::timeout(idle, frames.next()) => next,
        };
        Ok(match next {
            Err(_) => Next::End(End::IdleTimeout),
            Ok(None) => Next::End(End::ClientClosed),
            Ok(Some(Err(ReadError::NotSip2))) => Next::End(End::NotSip2),
            Ok(Some(Err(ReadError::Io(error)))) => return Err(error),
            Ok(Some(Ok(Frame::Oversized))) => Next::End(End::Oversized),
            Ok(Some(Ok(Frame::Message(frame)))) => Next::Frame(frame.to_vec()),
        })
    }

    /// Shutdown: answers every complete request already read from the socket (pipelined
    /// behind the one answered last), reads nothing more, then closes.
    pub(super) async fn drain<S: AsyncRead + AsyncWrite>(
        &mut self,
        frames: &mut Frames<S>,
        writer: &mut WriteHalf<S>,
    ) -> io::Result<End> {
        let mut read = std::mem::take(frames.read_buffer_mut());
        while let Ok(Some(Frame::Message(frame))) = frames.decoder_mut().decode(&mut read) {
            if let Some(end) = self.respond(&frame, writer).await? {
                return Ok(end);
            }
        }
        // Best effort: the peer may already be gone.
        let _ = writer.shutdown().await;
        Ok(End::Shutdown)
    }
}
