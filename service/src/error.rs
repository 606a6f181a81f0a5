//! The service's one error type: what failed, who has to act (the fault
//! [`Domain`]) and whether the same call may succeed if tried again.
//!
//! The policy (docs/operations.md, "Failures"): transient AWS faults are
//! retried in place — by the SDK's standard strategy, then by the loop that
//! made the call where one exists (the pricer's batches, unprocessed batch
//! items, expired iterators); whatever is still failing ends `serve` with
//! exit 1 for a restart from the last checkpoint; faults in the user's
//! domain (a missing table, denied credentials, bad configuration, a model
//! that does not fit) exit 2, since a restart cannot fix them.

use std::fmt::Display;

pub use awsclient::{AwsError, Domain, Fault};
use pipeline::ModelError;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    domain: Domain,
    retryable: bool,
    fault: Option<Fault>,
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The operator's to fix: configuration, resources, permissions.
    pub fn user(message: impl Display) -> Error {
        Error::new(Domain::User, false, message)
    }

    /// A bug or an unexpected state (e.g. a stored item this version cannot read).
    pub fn internal(message: impl Display) -> Error {
        Error::new(Domain::Internal, false, message)
    }

    /// Outside the process (I/O, a peer), retryable or not.
    pub fn external(retryable: bool, message: impl Display) -> Error {
        Error::new(Domain::External, retryable, message)
    }

    fn new(domain: Domain, retryable: bool, message: impl Display) -> Error {
        Error {
            domain,
            retryable,
            fault: None,
            message: message.to_string(),
        }
    }

    /// A failed AWS call, classified once (see [`awsclient::classify`]).
    pub fn aws<E>(
        operation: impl Display,
        e: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    ) -> Error
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        AwsError::new(operation, e).into()
    }

    pub fn domain(&self) -> Domain {
        self.domain
    }

    /// Whether the same call may succeed if tried again.
    pub fn retryable(&self) -> bool {
        self.retryable
    }

    /// The AWS fault, when an AWS call failed.
    pub fn fault(&self) -> Option<Fault> {
        self.fault
    }

    /// 2 when the operator has to fix something first, else 1.
    pub fn exit_code(&self) -> i32 {
        match self.domain {
            Domain::User => 2,
            Domain::External | Domain::Internal => 1,
        }
    }

    /// The same error, with what was being done in front.
    pub fn context(mut self, what: impl Display) -> Error {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl From<AwsError> for Error {
    fn from(e: AwsError) -> Error {
        Error {
            domain: e.fault.domain(),
            retryable: e.fault.retryable(),
            fault: Some(e.fault),
            message: e.to_string(),
        }
    }
}

/// A stored item this version cannot read.
impl From<crate::items::ItemError> for Error {
    fn from(e: crate::items::ItemError) -> Error {
        Error::internal(e)
    }
}

/// A model that fails for good (a wrong contract, malformed answers) needs a
/// fixed model or configuration: the user's domain.
impl From<ModelError> for Error {
    fn from(e: ModelError) -> Error {
        let domain = if e.retryable {
            Domain::External
        } else {
            Domain::User
        };
        Error::new(domain, e.retryable, format!("model: {}", e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_faults_carry_their_domain_and_retry_hint() {
        let throttled = Error::from(AwsError {
            operation: "GetRecords shard-0".into(),
            fault: Fault::Throttled,
            message: "slow down".into(),
        });
        assert!(throttled.retryable());
        assert_eq!(throttled.domain(), Domain::External);
        assert_eq!(throttled.exit_code(), 1);
        assert_eq!(throttled.to_string(), "GetRecords shard-0: slow down");
        let missing = Error::from(AwsError {
            operation: "reading prices".into(),
            fault: Fault::NotFound,
            message: "no such table".into(),
        });
        assert!(!missing.retryable());
        assert_eq!(missing.exit_code(), 2);
        assert_eq!(missing.fault(), Some(Fault::NotFound));
    }

    #[test]
    fn a_fatal_model_error_is_not_retried_and_a_transient_one_is() {
        let fatal = Error::from(ModelError::fatal("3 outputs for 4 records"));
        assert_eq!((fatal.retryable(), fatal.exit_code()), (false, 2));
        let busy = Error::from(ModelError {
            message: "503".into(),
            retryable: true,
        });
        assert_eq!((busy.retryable(), busy.domain()), (true, Domain::External));
        assert_eq!(
            Error::internal("x")
                .context("checkpoint of shard-1")
                .to_string(),
            "checkpoint of shard-1: x"
        );
    }
}
