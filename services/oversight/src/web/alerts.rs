//! The latest alerts of each scope, for its page: alerts are published, not kept in the views,
//! so the pages hold the last few of each scope that arrived since they started.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use proto_schema::Alert;
use tracing::warn;

use crate::client::Client;
use crate::wire::Encoding;

/// Alerts a scope's page lists, newest first.
pub const LISTED: usize = 10;

/// Each scope's latest alerts.
#[derive(Debug, Clone, Default)]
pub struct RecentAlerts {
    by_scope: Arc<Mutex<HashMap<String, VecDeque<Alert>>>>,
}

impl RecentAlerts {
    /// Follows `oversight.alert.>` on a task of its own.
    pub async fn follow(client: &Client) -> anyhow::Result<RecentAlerts> {
        let recent = RecentAlerts::default();
        let mut feed = client.nats().subscribe("oversight.alert.>").await?;
        let keeping = recent.clone();
        tokio::spawn(async move {
            while let Some(message) = feed.next().await {
                match Encoding::Json.decode::<Alert>(&message.payload) {
                    Ok(alert) => keeping.note(alert),
                    Err(error) => warn!(%error, "an alert that does not decode"),
                }
            }
        });
        Ok(recent)
    }

    fn note(&self, alert: Alert) {
        let mut by_scope = self
            .by_scope
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let list = by_scope.entry(alert.scope.clone()).or_default();
        list.push_front(alert);
        list.truncate(LISTED);
    }

    /// The scope's latest alerts, newest first.
    pub fn of(&self, scope: &str) -> Vec<Alert> {
        self.by_scope
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(scope)
            .map(|list| list.iter().cloned().collect())
            .unwrap_or_default()
    }
}
