//! The import's progress on stderr: an indicatif bar on a terminal, a plain line per batch (at
//! most one a second) otherwise, or nothing.

use std::time::{Duration, Instant};

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::accounts::import::{Progress, Summary};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// A bar on a terminal, plain lines otherwise.
    Auto,
    Bar,
    Lines,
    None,
}

/// Progress on stderr: an indicatif bar, or a line per batch (at most one a second).
pub(super) struct Reporter {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Option<Instant>,
    total: u64,
    jobs: usize,
}

impl Reporter {
    pub(super) fn new(mode: ProgressMode, jobs: usize) -> Reporter {
        Reporter {
            mode,
            bar: None,
            started: Instant::now(),
            last_line: None,
            total: 0,
            jobs,
        }
    }

    pub(super) fn done(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Reporter {
    fn start(&mut self, total_rows: u64) {
        self.total = total_rows;
        self.started = Instant::now();
        match self.mode {
            ProgressMode::Bar => {
                let bar =
                    ProgressBar::with_draw_target(Some(total_rows), ProgressDrawTarget::stderr());
                let style = ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} rows  {per_sec}  ETA {eta}  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
                bar.set_message(format!("{} hashing jobs", self.jobs));
                bar.enable_steady_tick(Duration::from_millis(250));
                self.bar = Some(bar);
            }
            ProgressMode::Lines => eprintln!(
                "import: {total_rows} valid rows, {} hashing jobs",
                self.jobs
            ),
            _ => {}
        }
    }

    fn advance(&mut self, done: u64, summary: &Summary) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            return;
        }
        if self.mode != ProgressMode::Lines {
            return;
        }
        let now = Instant::now();
        let due = self
            .last_line
            .is_none_or(|t| now - t >= Duration::from_secs(1))
            || done == self.total;
        if !due {
            return;
        }
        self.last_line = Some(now);
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / secs;
        let eta = if rate > 0.0 {
            (self.total - done) as f64 / rate
        } else {
            0.0
        };
        eprintln!(
            "progress: {done}/{} rows ({:.0}%), {rate:.0} rows/s, ETA {eta:.0}s; created {}, updated {}, unchanged {}",
            self.total,
            100.0 * done as f64 / self.total.max(1) as f64,
            summary.created,
            summary.updated,
            summary.unchanged
        );
    }
}
