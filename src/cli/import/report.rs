//! The end of an import: rejected rows (console and `--reject-report`), the summary (said once,
//! whatever the number of batches), and the exit code. Never shows a PIN.

use std::process::ExitCode;
use std::time::Duration;

use super::ImportArgs;
use crate::accounts::import::{Rejection, Summary, SyncMode};
use crate::accounts::Accounts;
use crate::cli::output::Exit;

/// Prints the rejections and the summary, writes the reject report; returns the exit code.
pub(super) async fn finish(
    summary: &Summary,
    args: &ImportArgs,
    accounts: &Accounts,
    elapsed: Duration,
) -> ExitCode {
    for rejection in &summary.rejected {
        eprintln!("rejected: {rejection}");
    }
    let report_written = match &args.reject_report {
        Some(path) => reject_report(path, &summary.rejected).await,
        None => true,
    };
    if summary.refused {
        eprintln!(
            "error: --strict: {} row(s) rejected, nothing was written; fix them or run without --strict",
            summary.rejected.len()
        );
        return Exit::Refused.into();
    }
    if summary.interrupted {
        eprintln!(
            "interrupted (Ctrl-C): {} of {} valid row(s) written in committed batches ({} created, \
             {} updated, {} unchanged); the rest were not written{}. Run the same import again to \
             finish: it resumes where this one stopped.",
            summary.written_rows,
            summary.valid_rows,
            summary.created,
            summary.updated,
            summary.unchanged,
            if args.sync.is_some() {
                " and --sync was not applied"
            } else {
                ""
            }
        );
        return Exit::Refused.into();
    }
    counts(summary, args.dry_run, elapsed);
    pins(summary, args.dry_run, accounts);
    if let Some(mode) = args.sync {
        sync(summary, mode, args.dry_run);
    }
    if !report_written {
        Exit::Refused
    } else if summary.rejected.is_empty() {
        Exit::Ok
    } else {
        Exit::Partial
    }
    .into()
}

fn counts(summary: &Summary, dry_run: bool, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    let written = summary.created + summary.updated + summary.unchanged;
    println!(
        "{}{} rows: {} created, {} updated, {} unchanged, {} rejected ({:.1}s, {:.0} rows/s)",
        if dry_run {
            "dry run, nothing written: "
        } else {
            ""
        },
        summary.rows,
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.rejected.len(),
        secs,
        written as f64 / secs.max(0.001)
    );
}

/// What happened to the PINs: default PINs, weak PINs, PINs kept. Each line once per run.
fn pins(summary: &Summary, dry_run: bool, accounts: &Accounts) {
    let (got, were, are) = if dry_run {
        ("would get", "would be", "would be")
    } else {
        ("got", "were", "are")
    };
    if let Some(policy) = accounts.default_pin_policy() {
        println!(
            "default PINs: {} new patron(s) {got} a default PIN from the last {} digits of the \
             phone (not shown; must be changed within {})",
            summary.default_pins,
            policy.digits,
            crate::cli::patron::output::lifetime(policy.lifetime)
        );
        if summary.created_without_pin > 0 {
            println!(
                "{} new patron(s) {got} no PIN: no pin in the file and no phone with at least {} \
                 digits (use patron reset-pin)",
                summary.created_without_pin, policy.digits
            );
        }
    }
    if summary.weak_pins_flagged > 0 {
        println!(
            "{} PIN(s) break the PIN rules: they {were} stored flagged must-change, so the \
             patron is asked for a new one (--weak-pins skip|reject-row to choose otherwise)",
            summary.weak_pins_flagged
        );
    }
    if summary.weak_pins_skipped > 0 {
        println!(
            "{} patron(s) {were} loaded without their PIN, which breaks the PIN rules: they must \
             set a new one (patron reset-pin, or the web reset); their cards {are} known",
            summary.weak_pins_skipped
        );
    }
    if summary.pins_kept > 0 {
        println!(
            "{} existing patron(s) already had a PIN: the file's PIN was not applied (use patron \
             reset-pin)",
            summary.pins_kept
        );
    }
}

fn sync(summary: &Summary, mode: SyncMode, dry_run: bool) {
    let (count, done) = match mode {
        SyncMode::Expire => (summary.sync_expired, "expired (last valid day: yesterday)"),
        SyncMode::Remove => (summary.sync_removed, "removed with their cards"),
    };
    let verb = if dry_run { "would be" } else { "were" };
    println!("sync: {count} patron(s) missing from the file {verb} {done}");
}

/// Writes the reject report off the reactor; false (and said) when it cannot be written.
async fn reject_report(path: &std::path::Path, rejected: &[Rejection]) -> bool {
    let (target, rows) = (path.to_owned(), rejected.to_vec());
    let written = tokio::task::spawn_blocking(move || write_report(&target, &rows))
        .await
        .map_err(std::io::Error::other)
        .and_then(|result| result);
    match written {
        Ok(()) => true,
        Err(err) => {
            eprintln!(
                "error: cannot write the reject report {}: {err} (choose a writable \
                 --reject-report path)",
                path.display()
            );
            false
        }
    }
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
