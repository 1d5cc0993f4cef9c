//! `sip2auth import FILE.csv`: load an ILS export. Reports each rejected row with its line and
//! reason (never a PIN), draws a progress bar on a terminal (plain progress lines otherwise), and
//! ends with a summary (with the default PINs issued, when `security.default_credential` is on;
//! never their digits). The format is documented in `accounts::import::column` and `row`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::admin::{open, OperatorArg};
use super::output::{report, Exit};
use crate::accounts::import::{parse_csv, ImportOptions, Progress, Rejection, Summary};
use crate::accounts::Error;
use crate::config::Config;
use crate::store::Currency;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// A bar on a terminal, plain lines otherwise.
    Auto,
    Bar,
    Lines,
    None,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  sip2auth import patrons.csv --dry-run\n  \
    sip2auth import /exports/patrons-nightly.csv --operator ils-nightly --reject-report rejects.csv\n\n\
    Columns (header row, any order, case-insensitive; card, institution, family_name required):\n  \
    card,institution,family_name,given_names,email,phone,birth_date,class,home_library,expires,\n  \
    status,block_reason,fines,fine_limit,currency,pin\n\
    Exit codes: 0 all rows imported, 5 done but some rows rejected, 1 refused (--strict) or the\n  \
    reject report could not be written,\n  \
    2 bad file or option, 3 database unavailable.")]
pub struct ImportArgs {
    /// The CSV file (UTF-8, header row).
    pub file: PathBuf,
    /// Check every row and report what would happen, without writing.
    #[arg(long)]
    pub dry_run: bool,
    /// Refuse the whole file, before any write, if any row is rejected.
    #[arg(long)]
    pub strict: bool,
    /// PINs hashed at once [default: one per CPU core]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Rows written per transaction.
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub batch_size: usize,
    /// Currency of rows without one.
    #[arg(long, default_value = "USD", value_parser = |s: &str| s.parse::<Currency>().map_err(|e| e.to_string()))]
    pub currency: Currency,
    /// Accept argon2id PHC strings in the pin column as made by sip2auth with this pepper key id.
    #[arg(long, value_name = "ID")]
    pub phc_key_id: Option<u32>,
    /// Also write rejected rows (line, card, reason) to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub reject_report: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    #[command(flatten)]
    pub operator: OperatorArg,
}

pub async fn run(args: ImportArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let operator = match args.operator.operator() {
        Ok(op) => op,
        Err(err) => return Ok(report(&err)),
    };
    let bytes = match tokio::fs::read(&args.file).await {
        Ok(bytes) => bytes,
        Err(err) => {
            eprintln!("error: cannot read {}: {err}", args.file.display());
            return Ok(Exit::Usage.into());
        }
    };
    let parsed = match parse_csv(&bytes) {
        Ok(parsed) => parsed,
        Err(err) => {
            eprintln!("error: {}: {err}", args.file.display());
            return Ok(exit_of(&err));
        }
    };
    drop(bytes);
    let mut config = config.clone();
    if let Some(jobs) = args.jobs {
        config.security.hashing.max_concurrent = jobs.max(1);
    }
    let accounts = match open(&config).await {
        Ok(accounts) => accounts,
        Err(code) => return Ok(code),
    };
    let options = ImportOptions {
        batch_size: args.batch_size,
        strict: args.strict,
        dry_run: args.dry_run,
        default_currency: args.currency,
        phc_key_id: args.phc_key_id,
    };
    let mode = match args.progress {
        ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bar,
        ProgressMode::Auto => ProgressMode::Lines,
        other => other,
    };
    let mut progress = Reporter::new(mode, accounts.credentials().parallelism());
    let started = Instant::now();
    let result = accounts
        .import(&operator, parsed, &options, &mut progress)
        .await;
    progress.done();
    let summary = match result {
        Ok(summary) => summary,
        Err(err) => return Ok(report(&err)),
    };
    for rejection in &summary.rejected {
        eprintln!("rejected: {rejection}");
    }
    let mut report_written = true;
    if let Some(path) = &args.reject_report {
        let (target, rejected) = (path.clone(), summary.rejected.clone());
        let written = tokio::task::spawn_blocking(move || write_report(&target, &rejected))
            .await
            .map_err(std::io::Error::other)
            .and_then(|result| result);
        if let Err(err) = written {
            report_written = false;
            eprintln!(
                "error: cannot write the reject report {}: {err} (choose a writable --reject-report path)",
                path.display()
            );
        }
    }
    if summary.refused {
        eprintln!(
            "error: --strict: {} row(s) rejected, nothing was written; fix them or run without --strict",
            summary.rejected.len()
        );
        return Ok(Exit::Refused.into());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let written = summary.created + summary.updated + summary.unchanged;
    println!(
        "{}{} rows: {} created, {} updated, {} unchanged, {} rejected ({:.1}s, {:.0} rows/s)",
        if args.dry_run {
            "dry run, nothing written: "
        } else {
            ""
        },
        summary.rows,
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.rejected.len(),
        elapsed,
        written as f64 / elapsed.max(0.001)
    );
    if let Some(policy) = accounts.default_pin_policy() {
        let verb = if args.dry_run { "would get" } else { "got" };
        println!(
            "default PINs: {} new patron(s) {verb} a default PIN from the last {} digits of the \
             phone (not shown; must be changed within {})",
            summary.default_pins,
            policy.digits,
            super::patron::output::lifetime(policy.lifetime)
        );
        if summary.created_without_pin > 0 {
            println!(
                "{} new patron(s) {verb} no PIN: no pin in the file and no phone with at least {} \
                 digits (use patron reset-pin)",
                summary.created_without_pin, policy.digits
            );
        }
    }
    if summary.pins_kept > 0 {
        println!(
            "{} existing patron(s) already had a PIN: the file's PIN was not applied (use patron reset-pin)",
            summary.pins_kept
        );
    }
    Ok(if !report_written {
        Exit::Refused
    } else if summary.rejected.is_empty() {
        Exit::Ok
    } else {
        Exit::Partial
    }
    .into())
}

fn exit_of(err: &Error) -> ExitCode {
    super::output::exit_for(err).into()
}

/// Writes the rejected rows (line, card, reason; never a PIN) as CSV. Blocking: run it off the
/// reactor.
fn write_report(path: &std::path::Path, rejected: &[Rejection]) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_path(path)?;
    writer.write_record(["line", "card", "reason"])?;
    for r in rejected {
        writer.write_record([
            r.line.to_string(),
            r.card.clone().unwrap_or_default(),
            r.reason.clone(),
        ])?;
    }
    writer.flush()
}

/// Progress on stderr: an indicatif bar, or a line per batch (at most one a second).
struct Reporter {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Option<Instant>,
    total: u64,
    jobs: usize,
}

impl Reporter {
    fn new(mode: ProgressMode, jobs: usize) -> Reporter {
        Reporter {
            mode,
            bar: None,
            started: Instant::now(),
            last_line: None,
            total: 0,
            jobs,
        }
    }

    fn done(&mut self) {
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
