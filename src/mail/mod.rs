//! mail: how a mail leaves the server. The transports ([`Mailer`]: SMTP with STARTTLS,
//! implicit TLS or none, through lettre; or one `.eml` file per mail in a folder) and the
//! templates ([`template`]). The outbox itself (what to send, retries, claims across instances)
//! is in `store`, and what a mail says is decided in `accounts`, which sends from a background
//! task, never from a request.
//!
//! Uses `config` only. Nothing here logs a message body (it may carry a reset link or a
//! temporary password); errors carry the transport's reason, never the body.

pub(crate) mod template;

use std::path::PathBuf;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::mail::{ENV_SMTP_PASSWORD, ENV_SMTP_USERNAME};
use crate::config::{MailConfig, MailTransport, SmtpSecurity};

pub use template::TemplateError;
pub(crate) use template::{Rendered, TemplateName, Templates};

/// Why the mailer could not be set up (at start).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("mail.from: {0}")]
    From(String),
    #[error("mail.smtp: {0}")]
    Smtp(String),
    #[error("cannot read the SMTP credentials file {path}: {source}")]
    Credentials {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the mail folder {path}: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// Why one mail was not sent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    /// Worth trying again later (server down, timeout, 4xx).
    #[error("{0}")]
    Transient(String),
    /// Will not work however often tried (bad address, 5xx).
    #[error("{0}")]
    Permanent(String),
}

/// One mail to send.
#[derive(Clone)]
pub(crate) struct Outgoing {
    pub to: String,
    pub to_name: String,
    pub rendered: Rendered,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("rendered", &self.rendered)
            .finish_non_exhaustive()
    }
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

/// The configured transport, the sender and the templates.
pub(crate) struct Mailer {
    transport: Transport,
    from: Mailbox,
    templates: Templates,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer `mail` describes, or `None` when `transport = "none"`. Reads the templates
    /// folder and the SMTP credentials (environment, else the credentials file) now, at start.
    pub(crate) fn from_config(mail: &MailConfig) -> Result<Option<Mailer>, SetupError> {
        let transport = match mail.transport {
            MailTransport::None => return Ok(None),
            MailTransport::File => {
                std::fs::create_dir_all(&mail.folder).map_err(|source| SetupError::Folder {
                    path: mail.folder.clone(),
                    source,
                })?;
                Transport::File(AsyncFileTransport::new(&mail.folder))
            }
            MailTransport::Smtp => Transport::Smtp(smtp(mail)?),
        };
        let from = mail
            .from
            .parse::<Mailbox>()
            .map_err(|err| SetupError::From(err.to_string()))?;
        let templates = Templates::load(&mail.templates_dir)?;
        Ok(Some(Mailer {
            transport,
            from,
            templates,
        }))
    }

    pub(crate) fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Sends one mail (plain text and HTML).
    pub(crate) async fn send(&self, mail: &Outgoing) -> Result<(), SendError> {
        let to = Mailbox::new(
            Some(mail.to_name.clone()).filter(|n| !n.is_empty()),
            mail.to
                .parse()
                .map_err(|_| SendError::Permanent("the address on file is not valid".into()))?,
        );
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.rendered.subject.clone())
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.rendered.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.rendered.html.clone()),
                    ),
            )
            .map_err(|err| SendError::Permanent(err.to_string()))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|err| {
                if err.is_permanent() {
                    SendError::Permanent(err.to_string())
                } else {
                    SendError::Transient(err.to_string())
                }
            }),
            Transport::File(file) => file
                .send(message)
                .await
                .map(|_| ())
                .map_err(|err| SendError::Transient(err.to_string())),
        }
    }
}

/// The SMTP transport of `[mail.smtp]`, with credentials from the environment or the file.
fn smtp(mail: &MailConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, SetupError> {
    let settings = &mail.smtp;
    let host = settings.host.trim();
    let port = match settings.port {
        0 => settings.security.default_port(),
        port => port,
    };
    let tls =
        || TlsParameters::new(host.to_owned()).map_err(|err| SetupError::Smtp(err.to_string()));
    let tls = match settings.security {
        SmtpSecurity::Starttls => Tls::Required(tls()?),
        SmtpSecurity::Tls => Tls::Wrapper(tls()?),
        SmtpSecurity::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(settings.timeout));
    if let Some(credentials) = credentials(settings)? {
        builder = builder.credentials(credentials);
    }
    Ok(builder.build())
}

fn credentials(
    settings: &crate::config::mail::SmtpConfig,
) -> Result<Option<Credentials>, SetupError> {
    if let (Ok(user), Ok(password)) = (
        std::env::var(ENV_SMTP_USERNAME),
        std::env::var(ENV_SMTP_PASSWORD),
    ) {
        return Ok(Some(Credentials::new(user, password)));
    }
    let path = &settings.credentials_file;
    if path.as_os_str().is_empty() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|source| SetupError::Credentials {
        path: path.clone(),
        source,
    })?;
    let mut lines = text.lines();
    match (lines.next(), lines.next()) {
        (Some(user), Some(password)) if !user.trim().is_empty() => Ok(Some(Credentials::new(
            user.trim().to_owned(),
            password.to_owned(),
        ))),
        _ => Err(SetupError::Smtp(format!(
            "{} must hold the user name on its first line and the password on its second",
            path.display()
        ))),
    }
}
