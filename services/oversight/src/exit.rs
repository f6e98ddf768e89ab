//! The exit statuses of the `oversight` commands: one per class of outcome, so that a script
//! knows whether to retry, fix its input or call someone. Documented in the README.

use std::fmt;
use std::process::ExitCode;

use crate::client::ClientError;

/// What a command's exit status says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done: accepted (also when it had been accepted before), or the command did its work.
    Success = 0,
    /// The service rejected what was sent: fix it; sending it again as it is changes nothing.
    Rejected = 1,
    /// Busy or out of reach: nothing is known to be stored; send the same again later.
    Retry = 2,
    /// The command line or configuration is wrong: see `--help`.
    Usage = 3,
    /// A file cannot be read, or is not in a layout the command reads.
    Input = 4,
    /// The user or password was refused, or this user may not do this.
    NotPermitted = 5,
    /// Anything else: the service answered an error, or this program cannot go on (a damaged
    /// log, a full disk); the message says which.
    Failed = 6,
}

impl Exit {
    pub fn code(self) -> ExitCode {
        ExitCode::from(self as u8)
    }
}

/// An error with the exit status it should end the command with.
#[derive(Debug)]
pub struct Classified {
    pub exit: Exit,
    pub error: anyhow::Error,
}

impl fmt::Display for Classified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for Classified {}

/// Marks the error of a result with the exit status it should end the command with.
pub trait ExitOnError<T> {
    fn or_exit(self, exit: Exit) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> ExitOnError<T> for Result<T, E> {
    fn or_exit(self, exit: Exit) -> anyhow::Result<T> {
        self.map_err(|error| {
            anyhow::Error::new(Classified {
                exit,
                error: error.into(),
            })
        })
    }
}

/// The exit status a client error ends a command with.
pub fn client_exit(error: &ClientError) -> Exit {
    {
        match error {
            ClientError::Connect { .. }
            | ClientError::NoResponders { .. }
            | ClientError::TimedOut { .. }
            | ClientError::Request { .. } => Exit::Retry,
            ClientError::Authentication { .. } | ClientError::NotPermitted { .. } => {
                Exit::NotPermitted
            }
            ClientError::Decode { .. } => Exit::Failed,
            ClientError::Service { code, .. } => match code.as_str() {
                "503" => Exit::Retry,
                // A scope that does not exist, or a request the service cannot read.
                "400" | "404" => Exit::Usage,
                _ => Exit::Failed,
            },
        }
    }
}

/// The exit status an error ends a command with: the first status marked along its chain, else
/// the client error's, else [`Exit::Failed`].
pub fn exit_of(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if let Some(classified) = cause.downcast_ref::<Classified>() {
            return classified.exit;
        }
        if let Some(client) = cause.downcast_ref::<ClientError>() {
            return client_exit(client);
        }
    }
    Exit::Failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn each_class_of_error_has_its_own_status() {
        let unreachable: anyhow::Error = ClientError::Connect {
            url: "nats://127.0.0.1:1".into(),
            message: "refused".into(),
        }
        .into();
        assert_eq!(exit_of(&unreachable.context("submitting")), Exit::Retry);
        let refused: anyhow::Error = ClientError::Authentication {
            url: "nats://127.0.0.1:1".into(),
            message: "authorization violation".into(),
        }
        .into();
        assert_eq!(exit_of(&refused), Exit::NotPermitted);
        let missing: anyhow::Result<()> = Err(std::io::Error::from(std::io::ErrorKind::NotFound))
            .context("cannot read return.json")
            .or_exit(Exit::Input);
        assert_eq!(exit_of(&missing.expect_err("an error")), Exit::Input);
        let unknown_scope: anyhow::Error = ClientError::Service {
            code: "404".into(),
            message: "no scope".into(),
        }
        .into();
        assert_eq!(exit_of(&unknown_scope), Exit::Usage);
        assert_eq!(exit_of(&anyhow::anyhow!("anything else")), Exit::Failed);
    }

    #[test]
    fn a_marked_error_reads_as_its_cause() {
        let marked = Err::<(), _>(anyhow::anyhow!("cannot read x.csv").context("importing"))
            .or_exit(Exit::Input)
            .expect_err("an error");
        assert_eq!(format!("{marked:#}"), "importing: cannot read x.csv");
    }
}
