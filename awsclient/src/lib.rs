//! pricestream's one AWS SDK setup, shared by the service (Kinesis,
//! DynamoDB, DynamoDB Streams) and the SageMaker model backend:
//!
//! - [`load`]: the SDK configuration every client is built from — rustls
//!   with ring (no C build), the standard retry strategy, an optional
//!   operation timeout, the configured endpoint override (emulators), and a
//!   clear error when no region is set;
//! - [`classify`]: one reading of an SDK error as a [`Fault`], which says
//!   whether retrying the same call can help and who has to act.

use std::fmt::Display;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use aws_config::SdkConfig;

/// How clients talk to AWS.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientOptions {
    /// Overrides every service's endpoint (`aws.endpoint_url`; emulators).
    /// `AWS_ENDPOINT_URL` in the environment works as well.
    pub endpoint_url: Option<String>,
    /// Attempts per call, the first included (the SDK's standard strategy:
    /// exponential backoff with jitter on throttling, 5xx and timeouts).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    /// Bounds each call, its retries included.
    pub operation_timeout: Option<Duration>,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            endpoint_url: None,
            max_attempts: 4,
            initial_backoff: Duration::from_secs(1),
            operation_timeout: None,
        }
    }
}

/// A current-thread runtime for blocking on SDK calls (the service's loops
/// are synchronous; see the design's "blocking service loop").
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// The SDK configuration for every client: credentials and region from the
/// default chain, the options above.
pub fn load(
    runtime: &tokio::runtime::Runtime,
    options: &ClientOptions,
) -> Result<SdkConfig, String> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let retry = RetryConfig::standard()
        .with_max_attempts(options.max_attempts.max(1))
        .with_initial_backoff(options.initial_backoff);
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(retry);
    if let Some(timeout) = options.operation_timeout {
        loader = loader.timeout_config(TimeoutConfig::builder().operation_timeout(timeout).build());
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = runtime.block_on(loader.load());
    if sdk.region().is_none() {
        return Err("no AWS region: set AWS_REGION (or a profile region)".into());
    }
    Ok(sdk)
}

/// What kind of failure an SDK error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The service asked us to slow down (throttling, provisioned throughput).
    Throttled,
    /// The service or the network failed: 5xx, timeouts, connection errors,
    /// an unreadable response.
    Unavailable,
    /// A Kinesis shard iterator expired (get a new one and read on).
    ExpiredIterator,
    /// A conditional write's condition did not hold (a lost race, not a failure
    /// of the service; the caller decides what it means).
    ConditionFailed,
    /// The request itself was wrong (validation, size limits, a bad argument).
    Invalid,
    /// A stream, table or endpoint does not exist.
    NotFound,
    /// Credentials are missing, wrong, expired or not allowed.
    AccessDenied,
    /// Anything else (the request could not even be built, an unknown code).
    Other,
}

/// Who has to act on a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Domain {
    /// The operator: configuration, resources or permissions (exit 2; a
    /// restart does not help until they are fixed).
    User,
    /// Something outside the process that may recover (retry, then restart).
    External,
    /// A bug or an unexpected state in pricestream (restart from the checkpoint).
    Internal,
}

impl Fault {
    /// Whether the same call may succeed if sent again.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Fault::Throttled | Fault::Unavailable | Fault::ExpiredIterator
        )
    }

    pub fn domain(self) -> Domain {
        match self {
            Fault::Throttled | Fault::Unavailable | Fault::ExpiredIterator => Domain::External,
            Fault::NotFound | Fault::AccessDenied => Domain::User,
            Fault::ConditionFailed | Fault::Invalid | Fault::Other => Domain::Internal,
        }
    }

    /// From an error code and, when a response came back, its HTTP status.
    pub fn from_code(code: Option<&str>, status: Option<u16>) -> Fault {
        match code.unwrap_or_default() {
            "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded"
            | "LimitExceededException"
            | "TooManyRequestsException"
            | "KMSThrottlingException"
            | "SlowDown" => Fault::Throttled,
            "ExpiredIteratorException" => Fault::ExpiredIterator,
            "ConditionalCheckFailedException" | "TransactionConflictException" => {
                Fault::ConditionFailed
            }
            "ResourceNotFoundException" => Fault::NotFound,
            "ValidationException"
            | "ValidationError"
            | "InvalidArgumentException"
            | "SerializationException"
            | "ItemCollectionSizeLimitExceededException" => Fault::Invalid,
            "AccessDeniedException"
            | "AccessDenied"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "IncompleteSignature"
            | "MissingAuthenticationToken"
            | "ExpiredTokenException"
            | "KMSAccessDeniedException" => Fault::AccessDenied,
            "InternalFailure"
            | "InternalServerError"
            | "InternalServerErrorException"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
            | "ModelNotReadyException" => Fault::Unavailable,
            _ => match status {
                Some(s) if s >= 500 => Fault::Unavailable,
                Some(429) => Fault::Throttled,
                Some(401 | 403) => Fault::AccessDenied,
                Some(404) => Fault::NotFound,
                Some(400..=499) => Fault::Invalid,
                _ => Fault::Other,
            },
        }
    }
}

/// The one classification of SDK errors, for every service's client.
pub fn classify<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Fault {
    match e {
        SdkError::ConstructionFailure(_) => Fault::Other,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Fault::Unavailable
        }
        SdkError::ServiceError(s) => {
            Fault::from_code(s.err().code(), Some(s.raw().status().as_u16()))
        }
        _ => Fault::Other,
    }
}

/// A failed AWS call: what was being done, the fault, and the SDK's full
/// message (its source chain, never credentials).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct AwsError {
    pub operation: String,
    pub fault: Fault,
    pub message: String,
}

impl AwsError {
    pub fn new<E>(operation: impl Display, e: &SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        AwsError {
            operation: operation.to_string(),
            fault: classify(e),
            message: DisplayErrorContext(e).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_retried_in_place() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "LimitExceededException",
        ] {
            assert_eq!(Fault::from_code(Some(code), Some(400)), Fault::Throttled);
        }
        assert_eq!(
            Fault::from_code(Some("InternalFailure"), Some(500)),
            Fault::Unavailable
        );
        assert_eq!(
            Fault::from_code(Some("SomethingNew"), Some(503)),
            Fault::Unavailable
        );
        assert_eq!(Fault::from_code(None, Some(429)), Fault::Throttled);
        for f in [Fault::Throttled, Fault::Unavailable, Fault::ExpiredIterator] {
            assert!(f.retryable(), "{f:?}");
            assert_eq!(f.domain(), Domain::External);
        }
    }

    #[test]
    fn missing_resources_and_credentials_are_the_operators_to_fix() {
        assert_eq!(
            Fault::from_code(Some("ResourceNotFoundException"), Some(400)),
            Fault::NotFound
        );
        for code in [
            "AccessDeniedException",
            "UnrecognizedClientException",
            "ExpiredTokenException",
        ] {
            let f = Fault::from_code(Some(code), Some(400));
            assert_eq!(f, Fault::AccessDenied, "{code}");
            assert_eq!(f.domain(), Domain::User);
            assert!(!f.retryable());
        }
        assert_eq!(Fault::from_code(None, Some(403)), Fault::AccessDenied);
    }

    #[test]
    fn conditions_validation_and_the_unknown_are_not_retried() {
        let f = Fault::from_code(Some("ConditionalCheckFailedException"), Some(400));
        assert_eq!(f, Fault::ConditionFailed);
        assert!(!f.retryable());
        assert_eq!(
            Fault::from_code(Some("ValidationException"), Some(400)),
            Fault::Invalid
        );
        assert_eq!(
            Fault::from_code(Some("ExpiredIteratorException"), Some(400)),
            Fault::ExpiredIterator
        );
        assert_eq!(Fault::from_code(None, None), Fault::Other);
        assert_eq!(Fault::Invalid.domain(), Domain::Internal);
    }

    #[test]
    fn sdk_errors_without_a_response_are_transient_unless_never_sent() {
        type E = SdkError<aws_smithy_types::error::ErrorMetadata, HttpResponse>;
        let timeout: E = SdkError::timeout_error("slow");
        assert_eq!(classify(&timeout), Fault::Unavailable);
        let built: E = SdkError::construction_failure("bad input");
        assert_eq!(classify(&built), Fault::Other);
        let status = aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap();
        let raw = HttpResponse::new(status, aws_smithy_types::body::SdkBody::empty());
        let meta = aws_smithy_types::error::ErrorMetadata::builder()
            .code("ProvisionedThroughputExceededException")
            .build();
        let service: E = SdkError::service_error(meta, raw);
        assert_eq!(classify(&service), Fault::Throttled);
        let e = AwsError::new("PutItem prices", &service);
        assert_eq!(e.fault, Fault::Throttled);
        assert!(e.to_string().starts_with("PutItem prices: "), "{e}");
    }
}
