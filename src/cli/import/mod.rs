//! `sip2auth import FILE.csv`: load an ILS export. Reports each rejected row with its line and
//! reason (never a PIN), draws a progress bar on a terminal (plain progress lines otherwise), and
//! ends with a summary ([`report`]). Reads our format or another system's (`--profile`,
//! `--map`), with `--sync` expires or removes the patrons missing from the file, and on Ctrl-C
//! stops after the batch being written and says how far it got. The format is documented in
//! `accounts::import::column` and `row`.

mod progress;
mod report;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::admin::{open, OperatorArg};
use super::output::{report as report_error, Exit};
use crate::accounts::import::{
    parse_csv, Delimiter, FileFormat, ImportOptions, Mapping, ParsedFile, SyncMode, SyncOptions,
    WeakPins, PROFILES,
};
use crate::config::Config;
use crate::store::Currency;
pub(crate) use progress::ProgressMode;
use progress::Reporter;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  sip2auth import patrons.csv --dry-run\n  \
    sip2auth import /exports/patrons-nightly.csv --operator ils-nightly --reject-report rejects.csv\n  \
    sip2auth import koha-borrowers.csv --profile koha --institution MAIN\n  \
    sip2auth import export.csv --map columns.toml --delimiter ';'\n  \
    sip2auth import nightly.csv --profile folio --sync --operator ils-nightly\n\n\
    Columns (header row, any order, case-insensitive; card and family_name required):\n  \
    card,institution,family_name,given_names,email,phone,birth_date,class,home_library,expires,\n  \
    status,block_reason,fines,fine_limit,currency,pin,pin_must_change\n\
    Exit codes: 0 all rows imported, 5 done but some rows rejected, 1 refused (--strict, --sync\n  \
    above its share), interrupted (Ctrl-C) or the reject report could not be written,\n  \
    2 bad file, mapping or option, 3 database unavailable.")]
pub struct ImportArgs {
    /// The CSV file (UTF-8, header row).
    pub file: PathBuf,
    /// Field delimiter: "," ";" or tab [default: detected from the header row, and said]
    #[arg(long, value_name = "CHAR", value_parser = |s: &str| s.parse::<Delimiter>())]
    pub delimiter: Option<Delimiter>,
    /// Read another system's patron export: its column names and status values (columns it
    /// does not map are skipped, and listed).
    #[arg(long, value_name = "ILS", value_parser = clap::builder::PossibleValuesParser::new(
        PROFILES.iter().map(|p| p.name)))]
    pub profile: Option<String>,
    /// A mapping file (TOML): `[columns]` our column = their column, `[status]` their value =
    /// active|blocked|lost, and optionally `profile = "koha"` to start from; it overrides
    /// --profile.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// Institution id (AO) of rows when the file has no institution column [default:
    /// server.institution_id]
    #[arg(long, value_name = "AO")]
    pub institution: Option<String>,
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
    /// A PIN that breaks the PIN rules: skip (load the patron without it; they set a new one),
    /// must-change (store it flagged must-change) or reject-row (reject the whole row)
    #[arg(long, value_name = "POLICY", default_value = "must-change",
        value_parser = |s: &str| s.parse::<WeakPins>())]
    pub weak_pins: WeakPins,
    /// Expire (the default mode) or remove the patrons of the file's institutions that the file
    /// does not hold: --sync, --sync=expire or --sync=remove
    #[arg(long, value_name = "MODE", num_args = 0..=1, require_equals = true,
        default_missing_value = "expire", value_parser = |s: &str| s.parse::<SyncMode>())]
    pub sync: Option<SyncMode>,
    /// With --sync: the largest share of an institution's patrons it may change, as 10% or 0.1
    /// [default: import.sync_max_share, 10%]
    #[arg(long, value_name = "SHARE", requires = "sync", value_parser = share)]
    pub sync_max_share: Option<f64>,
    /// With --sync: apply it even when more than the allowed share would change.
    #[arg(long, requires = "sync")]
    pub force: bool,
    /// Also write rejected rows (line, card, reason) to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub reject_report: Option<PathBuf>,
    /// Progress on stderr: a bar on a terminal and lines otherwise (auto), or as chosen.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    #[command(flatten)]
    pub operator: OperatorArg,
}

pub(crate) async fn run(args: ImportArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let operator = match args.operator.operator() {
        Ok(op) => op,
        Err(err) => return Ok(report_error(&err)),
    };
    let parsed = match read(&args, config).await {
        Ok(parsed) => parsed,
        Err(code) => return Ok(code),
    };
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
        weak_pins: args.weak_pins,
        sync: args.sync.map(|mode| SyncOptions {
            mode,
            max_share: args.sync_max_share.unwrap_or(config.import.sync_max_share),
            force: args.force,
        }),
        row_outcomes: false,
    };
    let mode = match args.progress {
        ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bar,
        ProgressMode::Auto => ProgressMode::Lines,
        other => other,
    };
    let mut progress = Reporter::new(mode, accounts.credentials().parallelism());
    // Ctrl-C (SIGINT) stops the import after the batch being written, instead of killing it.
    let stop = CancellationToken::new();
    let watcher = tokio::spawn({
        let stop = stop.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.cancel();
            }
        }
    });
    let started = Instant::now();
    let result = accounts
        .import(&operator, parsed, &options, &mut progress, &stop)
        .await;
    watcher.abort();
    progress.done();
    match result {
        Ok(summary) => Ok(report::finish(&summary, &args, &accounts, started.elapsed()).await),
        Err(err) => Ok(report_error(&err)),
    }
}

/// Reads and parses the file (with the mapping of `--profile` and `--map`), saying which
/// delimiter was detected and which columns were skipped; `Err` is the exit code.
async fn read(args: &ImportArgs, config: &Config) -> Result<ParsedFile, ExitCode> {
    let mapping = mapping_of(args).await.map_err(|message| {
        eprintln!("error: {message}");
        ExitCode::from(Exit::Usage)
    })?;
    let bytes = tokio::fs::read(&args.file).await.map_err(|err| {
        eprintln!("error: cannot read {}: {err}", args.file.display());
        ExitCode::from(Exit::Usage)
    })?;
    let format = FileFormat {
        delimiter: args.delimiter,
        mapping,
        institution: args
            .institution
            .clone()
            .unwrap_or_else(|| config.server.institution_id.clone()),
    };
    let parsed = parse_csv(&bytes, &format).map_err(|err| {
        eprintln!("error: {}: {err}", args.file.display());
        ExitCode::from(super::output::exit_for(&err))
    })?;
    if let (Some(mapping), false) = (&format.mapping, parsed.ignored_columns.is_empty()) {
        eprintln!(
            "import: {}: skipped {} column(s) it does not map: {}",
            mapping.source,
            parsed.ignored_columns.len(),
            parsed.ignored_columns.join(", ")
        );
    }
    if parsed.delimiter_detected {
        eprintln!(
            "import: fields separated by {} (detected from the header row; --delimiter to choose)",
            parsed.delimiter
        );
    }
    Ok(parsed)
}

/// `--sync-max-share`: `10%` or `0.1`, between 0 and 1.
fn share(text: &str) -> Result<f64, String> {
    let value = match text.trim().strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => text.trim().parse::<f64>(),
    }
    .map_err(|_| format!("{text:?} is not a share such as 10% or 0.1"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{text:?} is not between 0% and 100%"))
    }
}

/// The mapping of `--profile` and `--map`, if any; `Err` is the message for the user.
async fn mapping_of(args: &ImportArgs) -> Result<Option<Mapping>, String> {
    let profile = args
        .profile
        .as_deref()
        .map(Mapping::of_profile)
        .transpose()?;
    let Some(path) = &args.map else {
        return Ok(profile);
    };
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|err| format!("cannot read the map file {}: {err}", path.display()))?;
    Mapping::from_toml(&text, &path.display().to_string(), profile)
        .map(Some)
        .map_err(|err| format!("map file {}: {err}", path.display()))
}
