//! The service's own NATS connection: its credentials and TLS from the configuration, its
//! connection events counted in the metrics.

use std::time::Duration;

use crate::client::ClientError;
use crate::config::NatsConfig;
use crate::exit::{Exit, ExitOnError};

/// The service's own connection: credentials and TLS from the configuration, connection events
/// counted in the metrics, and `connect_attempts` tries a second apart before giving up.
pub async fn connect_service(
    config: &NatsConfig,
    name: &str,
) -> anyhow::Result<async_nats::Client> {
    use anyhow::Context;
    let password = match (&config.password, &config.password_file) {
        (Some(password), _) => Some(password.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read nats.password_file {}", file.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
        ),
        (None, None) => None,
    };
    let mut last_error = String::new();
    for attempt in 1..=config.connect_attempts {
        let mut options = async_nats::ConnectOptions::new()
            .name(name)
            .connection_timeout(Duration::from_millis(config.connect_timeout_ms))
            .event_callback(|event| async move { crate::metrics::nats_event(&event) });
        if let (Some(user), Some(password)) = (&config.user, &password) {
            options = options.user_and_password(user.clone(), password.clone());
        }
        if let Some(ca) = &config.tls_ca_file {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let (Some(cert), Some(key)) = (&config.tls_cert_file, &config.tls_key_file) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        match options.connect(&config.url).await {
            Ok(client) => {
                crate::metrics::nats_connected();
                return Ok(client);
            }
            Err(error)
                if matches!(
                    error.kind(),
                    async_nats::ConnectErrorKind::AuthorizationViolation
                        | async_nats::ConnectErrorKind::Authentication
                ) =>
            {
                // Trying again will not change the password.
                return Err(anyhow::Error::new(ClientError::Authentication {
                    url: config.url.clone(),
                    message: error.to_string(),
                }))
                .context("the service's own NATS user (nats.user, nats.password)");
            }
            Err(error) => {
                last_error = error.to_string();
                tracing::warn!(attempt, attempts = config.connect_attempts, url = %config.url, error = %last_error, "cannot reach NATS");
                if attempt < config.connect_attempts {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
    Err(anyhow::anyhow!(
        "cannot connect to NATS at {} after {} attempts: {last_error} (is nats-server running there?)",
        config.url,
        config.connect_attempts
    ))
    .or_exit(Exit::Retry)
}
