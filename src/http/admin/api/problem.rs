//! RFC 9457 problem details (`application/problem+json`) for every refusal of the admin API: a
//! stable `type` per kind of problem, the field at fault when there is one, never a secret or a
//! stack trace. Owns the mapping from `accounts::Error` and from body-parsing rejections.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::{Error, ErrorKind};
use crate::auth::Rejections;

/// The kinds of problem, each with its stable type and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProblemKind {
    BadJson,
    BadRequest,
    UnsupportedMediaType,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    BodyTooLarge,
    Invalid,
    TooManyRequests,
    DatabaseUnavailable,
    Internal,
}

impl ProblemKind {
    fn slug(self) -> &'static str {
        match self {
            ProblemKind::BadJson => "bad-json",
            ProblemKind::BadRequest => "bad-request",
            ProblemKind::UnsupportedMediaType => "unsupported-media-type",
            ProblemKind::Unauthorized => "unauthorized",
            ProblemKind::Forbidden => "forbidden",
            ProblemKind::NotFound => "not-found",
            ProblemKind::Conflict => "conflict",
            ProblemKind::BodyTooLarge => "body-too-large",
            ProblemKind::Invalid => "invalid",
            ProblemKind::TooManyRequests => "too-many-requests",
            ProblemKind::DatabaseUnavailable => "database-unavailable",
            ProblemKind::Internal => "internal",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            ProblemKind::BadJson | ProblemKind::BadRequest => StatusCode::BAD_REQUEST,
            ProblemKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ProblemKind::Forbidden => StatusCode::FORBIDDEN,
            ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::Conflict => StatusCode::CONFLICT,
            ProblemKind::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(self) -> &'static str {
        match self {
            ProblemKind::BadJson => "The body is not the JSON this endpoint takes",
            ProblemKind::BadRequest => "The path or query is not what this endpoint takes",
            ProblemKind::UnsupportedMediaType => "Send the body as application/json",
            ProblemKind::Unauthorized => "An API key is needed (Authorization: Bearer KEY)",
            ProblemKind::Forbidden => "This API key's scope does not allow this",
            ProblemKind::NotFound => "Not found",
            ProblemKind::Conflict => "This conflicts with what is stored",
            ProblemKind::BodyTooLarge => "The body is too large",
            ProblemKind::Invalid => "A value was refused",
            ProblemKind::TooManyRequests => "Too many requests; wait and try again",
            ProblemKind::DatabaseUnavailable => "The database is unavailable; try again later",
            ProblemKind::Internal => "The request could not be completed",
        }
    }
}

/// One problem, ready to answer.
#[derive(Debug)]
pub(crate) struct Problem {
    kind: ProblemKind,
    detail: Option<String>,
    field: Option<String>,
    reasons: Vec<BrokenRule>,
    retry_after_secs: Option<u64>,
}

/// One PIN or password rule a refused value breaks.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BrokenRule {
    /// Stable name of the rule, e.g. `pin_sequence`, `password_missing_digit`.
    rule: &'static str,
    /// The sentence for the patron.
    message: String,
}

impl Problem {
    pub(crate) fn new(kind: ProblemKind) -> Problem {
        Problem {
            kind,
            detail: None,
            field: None,
            reasons: Vec::new(),
            retry_after_secs: None,
        }
    }

    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Problem {
        self.detail = Some(detail.into());
        self
    }

    pub(crate) fn field(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }

    /// A 429's `Retry-After`.
    pub(crate) fn retry_after(mut self, seconds: u64) -> Problem {
        self.retry_after_secs = Some(seconds);
        self
    }

    /// Every rule a refused PIN or password breaks, as data.
    fn rules(mut self, rejections: &Rejections) -> Problem {
        self.reasons = rejections
            .iter()
            .map(|r| BrokenRule {
                rule: r.rule(),
                message: r.to_string(),
            })
            .collect();
        self
    }
}

/// An RFC 9457 problem details document, as sent.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProblemDocument {
    /// Stable per kind of problem: `urn:sip2auth:problem:KIND`.
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// For a refused PIN or password: every rule it breaks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reasons: Vec<BrokenRule>,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.kind.status();
        let body = ProblemDocument {
            kind: format!("urn:sip2auth:problem:{}", self.kind.slug()),
            title: self.kind.title(),
            status: status.as_u16(),
            detail: self.detail,
            field: self.field,
            reasons: self.reasons,
        };
        let text = serde_json::to_string(&body).unwrap_or_default();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            text,
        )
            .into_response();
        if self.kind == ProblemKind::Unauthorized {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

impl From<Error> for Problem {
    fn from(err: Error) -> Problem {
        // Account errors carry no secret; internal ones are not detailed all the same.
        match (&err, err.kind()) {
            (Error::Invalid { what, .. }, _) => Problem::new(ProblemKind::Invalid)
                .field(*what)
                .detail(err.to_string()),
            (Error::Rejected(rejections), _) => Problem::new(ProblemKind::Invalid)
                .detail(err.to_string())
                .rules(rejections),
            (_, ErrorKind::NotFound) => Problem::new(ProblemKind::NotFound).detail(err.to_string()),
            (_, ErrorKind::Refused) => Problem::new(ProblemKind::Conflict).detail(err.to_string()),
            (_, ErrorKind::Invalid) => Problem::new(ProblemKind::Invalid).detail(err.to_string()),
            (_, ErrorKind::Unavailable) => Problem::new(ProblemKind::DatabaseUnavailable),
            (_, ErrorKind::Internal) => Problem::new(ProblemKind::Internal),
        }
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Problem {
        Problem::new(ProblemKind::BadRequest).detail(rejection.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Problem {
        Problem::new(ProblemKind::BadRequest).detail(rejection.body_text())
    }
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Problem {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Problem::new(ProblemKind::BodyTooLarge),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Problem::new(ProblemKind::UnsupportedMediaType),
            // serde's message names the field (`unknown field `x``, `missing field `reason``).
            _ => Problem::new(ProblemKind::BadJson).detail(rejection.body_text()),
        }
    }
}
