//! Open sessions follow their terminal: every [`CHECK_INTERVAL`] the server reads the terminal
//! generation (one cheap query, raised by the store on every change to a terminal), and when it
//! moved, reads the enabled terminals once and publishes them to its sessions. A session whose
//! terminal was disabled, removed, or no longer admits its connection ends at once, without
//! answering what it had not answered yet; any other change (deny mode, detail…) applies to its
//! next request. Every instance sharing the database does the same, so a change reaches every
//! open session within about one interval.
//!
//! Owns: the poll task, the published [`LiveTerminals`] and the rule [`follow`]. Asks the
//! database through `answer` only; must not import `store`, parse or write bytes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::answer::Answerer;
use crate::auth::TerminalProfile;
use crate::net::Peer;

/// How often the terminal generation is read: a disabled or removed terminal's sessions end
/// within about this long (plus one query) on every instance.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The enabled terminals by login id, as last read.
pub(crate) type LiveTerminals = HashMap<String, TerminalProfile>;

/// What sessions are told: nothing until the first read.
pub(crate) type Published = Option<Arc<LiveTerminals>>;

/// The publishing end, shared by the server and its sessions.
#[derive(Debug)]
pub(crate) struct TerminalWatch {
    sender: watch::Sender<Published>,
}

impl TerminalWatch {
    pub(crate) fn new() -> Self {
        TerminalWatch {
            sender: watch::Sender::new(None),
        }
    }

    /// A session's view of the published terminals.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Published> {
        self.sender.subscribe()
    }

    /// Reads the generation every [`CHECK_INTERVAL`] until `shutdown`, and publishes the
    /// enabled terminals whenever it moved. A failed read is tried again at the next tick.
    pub(crate) async fn run(&self, answerer: &Answerer, shutdown: &CancellationToken) {
        let mut seen = None;
        let mut tick = tokio::time::interval(CHECK_INTERVAL);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let Some(generation) = answerer.terminal_generation().await else {
                continue;
            };
            if seen == Some(generation) {
                continue;
            }
            // Read after the generation: a change in between moves it again, and is read at
            // the next tick.
            if let Some(terminals) = answerer.enabled_terminals().await {
                let live = terminals
                    .into_iter()
                    .map(|t| (t.login_id.clone(), t))
                    .collect::<LiveTerminals>();
                self.sender.send_replace(Some(Arc::new(live)));
                seen = Some(generation);
            }
        }
    }
}

/// How a session's terminal stands in what was published.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Followed {
    /// Still admitted: served with its current settings.
    Current(TerminalProfile),
    /// Disabled, removed (or replaced by another terminal of the same login id), or no longer
    /// admitting this connection: the session ends.
    Withdrawn,
}

/// What `profile`, serving `peer` (`by_address`: as a login-free terminal), has become in
/// `live`.
pub(crate) fn follow(
    live: &LiveTerminals,
    profile: &TerminalProfile,
    peer: &Peer,
    by_address: bool,
) -> Followed {
    let Some(current) = live.get(&profile.login_id).filter(|t| t.id == profile.id) else {
        return Followed::Withdrawn;
    };
    let settings = &current.settings;
    let admitted = if by_address {
        settings.admits_without_login(peer)
    } else {
        settings.admits_connection(peer)
    };
    if admitted {
        Followed::Current(current.clone())
    } else {
        Followed::Withdrawn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TerminalSettings;
    use crate::store::TerminalId;

    fn profile(id: i64, cidr: &str, login_free: bool) -> TerminalProfile {
        let mut settings = TerminalSettings::new("MAIN");
        settings.allowed_cidrs = vec![cidr.parse().expect("net")];
        settings.login_optional = login_free;
        TerminalProfile {
            id: TerminalId(id),
            login_id: "sc".into(),
            settings: settings.into(),
        }
    }

    fn live(terminals: &[TerminalProfile]) -> LiveTerminals {
        terminals
            .iter()
            .map(|t| (t.login_id.clone(), t.clone()))
            .collect()
    }

    #[test]
    fn a_session_follows_its_terminal_or_is_withdrawn() {
        let peer = &Peer::direct((std::net::IpAddr::from([10, 0, 0, 7]), 4000).into());
        let open = profile(1, "10.0.0.0/8", false);
        let mut changed = open.clone();
        std::sync::Arc::make_mut(&mut changed.settings).patron_detail =
            crate::auth::PatronDetail::Minimal;
        assert_eq!(
            follow(&live(&[changed.clone()]), &open, peer, false),
            Followed::Current(changed)
        );
        assert_eq!(follow(&live(&[]), &open, peer, false), Followed::Withdrawn);
        let readded = profile(2, "10.0.0.0/8", false);
        assert_eq!(
            follow(&live(&[readded]), &open, peer, false),
            Followed::Withdrawn
        );
        let moved = profile(1, "192.0.2.0/24", false);
        assert_eq!(
            follow(&live(&[moved]), &open, peer, false),
            Followed::Withdrawn
        );
        let login_free = profile(1, "10.0.0.0/8", true);
        let no_longer = profile(1, "10.0.0.0/8", false);
        assert_eq!(
            follow(&live(&[no_longer]), &login_free, peer, true),
            Followed::Withdrawn
        );
    }
}
