//! The service's tasks, watched: a task that ends (or panics) before the service is stopping
//! says so, and the service stops whole rather than running on as half a service (intake
//! answering while the views are gone). A supervisor (systemd) then restarts it.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Spawns tasks that report an early end on one channel.
#[derive(Debug, Clone)]
pub struct Supervisor {
    failures: mpsc::UnboundedSender<String>,
    /// Cancelled when the service begins to stop: a task that ends after it ends as it should.
    stopping: CancellationToken,
}

/// Where early ends are heard.
#[derive(Debug)]
pub struct Failures(mpsc::UnboundedReceiver<String>);

impl Failures {
    /// The first task to end before the service was stopping: what it was and why.
    pub async fn first(&mut self) -> String {
        match self.0.recv().await {
            Some(why) => why,
            // Every supervisor is gone: nothing can fail any more.
            None => std::future::pending().await,
        }
    }
}

impl Supervisor {
    pub fn new(stopping: CancellationToken) -> (Supervisor, Failures) {
        let (failures, heard) = mpsc::unbounded_channel();
        (Supervisor { failures, stopping }, Failures(heard))
    }

    /// Spawns `task`, named for messages (`"the views"`). Its panic becomes its error.
    pub fn spawn(
        &self,
        name: &'static str,
        task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> JoinHandle<anyhow::Result<()>> {
        let failures = self.failures.clone();
        let stopping = self.stopping.clone();
        tokio::spawn(async move {
            let outcome = match AssertUnwindSafe(task).catch_unwind().await {
                Ok(outcome) => outcome,
                Err(panic) => Err(anyhow::anyhow!("panicked: {}", panic_message(&*panic))),
            };
            if !stopping.is_cancelled() {
                let why = match &outcome {
                    Ok(()) => format!("{name} ended unexpectedly"),
                    Err(error) => format!("{name} failed: {error:#}"),
                };
                // Nobody listening means the service is already gone.
                let _ = failures.send(why);
            }
            outcome
        })
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_task_that_ends_early_or_panics_is_heard_one_that_ends_when_stopping_is_not() {
        let stopping = CancellationToken::new();
        let (supervisor, mut failures) = Supervisor::new(stopping.clone());

        let failed = supervisor.spawn("the views", async {
            Err(anyhow::anyhow!("log entry 7 is damaged"))
        });
        assert_eq!(
            failures.first().await,
            "the views failed: log entry 7 is damaged"
        );
        assert!(failed.await.expect("joined").is_err());

        let panicked = supervisor.spawn("the responder", async { panic!("a test panic") });
        assert_eq!(
            failures.first().await,
            "the responder failed: panicked: a test panic"
        );
        assert!(
            panicked.await.expect("a caught panic joins").is_err(),
            "its panic is its error"
        );

        let quiet = supervisor.spawn("log reads", async { Ok(()) });
        assert_eq!(failures.first().await, "log reads ended unexpectedly");
        quiet.await.expect("joined").expect("ok");

        stopping.cancel();
        supervisor
            .spawn("intake", async { Ok(()) })
            .await
            .expect("joined")
            .expect("ok");
        let heard = tokio::time::timeout(Duration::from_millis(50), failures.first()).await;
        assert!(heard.is_err(), "an end while stopping is not a failure");
    }
}
