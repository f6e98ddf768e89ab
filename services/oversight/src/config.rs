//! Configuration: command-line flags, each with an environment variable and a documented default.

use std::path::PathBuf;

/// Where the NATS server is.
#[derive(Debug, Clone, clap::Args)]
pub struct NatsArgs {
    /// NATS server URL.
    #[arg(
        long = "nats",
        env = "NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        value_name = "URL"
    )]
    pub url: String,
}

/// Everything `oversight serve` needs.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub nats: NatsArgs,

    /// Directory holding the event log (`oversight.redb`); created if absent.
    #[arg(
        long,
        env = "OVERSIGHT_DATA",
        default_value = "oversight-data",
        value_name = "DIR"
    )]
    pub data: PathBuf,

    /// Reference files (`regions.csv`, `etr.csv`, `eccg.csv`) to seed an empty log with, instead
    /// of the copies built into this binary.
    #[arg(long, env = "OVERSIGHT_REFERENCE_DIR", value_name = "DIR")]
    pub reference_dir: Option<PathBuf>,

    /// Most returns committed in one transaction (one fsync).
    #[arg(long, env = "OVERSIGHT_MAX_BATCH", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_batch: u32,

    /// Validated returns that may wait for the writer; beyond it submitters are told "busy".
    #[arg(long, env = "OVERSIGHT_QUEUE_DEPTH", default_value_t = 16_384,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub queue_depth: u32,

    /// Largest return accepted, in bytes; larger ones are rejected as `payload_too_large`.
    #[arg(long, env = "OVERSIGHT_MAX_PAYLOAD_BYTES", default_value_t = 64 * 1024)]
    pub max_payload_bytes: usize,

    /// The wait suggested to a submitter told "busy", in milliseconds.
    #[arg(long, env = "OVERSIGHT_BUSY_RETRY_AFTER_MS", default_value_t = 50)]
    pub busy_retry_after_ms: u32,

    /// Most entries one `oversight.log.read` reply carries, whatever the request asks.
    #[arg(long, env = "OVERSIGHT_LOG_READ_MAX", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub log_read_max: u32,

    /// Log entries the views apply between checkpoints (`views.redb` in the data directory), so a
    /// restart replays only what came after the last one.
    #[arg(long, env = "OVERSIGHT_CHECKPOINT_EVERY", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: u64,

    /// Do not run the views in this process (run `oversight project` elsewhere instead).
    #[arg(long, env = "OVERSIGHT_NO_VIEWS")]
    pub no_views: bool,

    /// Where Prometheus scrapes the metrics (`GET /metrics`).
    #[arg(long, env = "OVERSIGHT_METRICS_ADDR", default_value = DEFAULT_METRICS_ADDR, value_name = "HOST:PORT")]
    pub metrics_addr: std::net::SocketAddr,
}

/// Loopback only: exposing metrics beyond the host is an operator's decision.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9720";

impl ServeConfig {
    /// Defaults, for the bench and tests that run the service in-process.
    pub fn with(nats_url: &str, data: PathBuf) -> ServeConfig {
        ServeConfig {
            nats: NatsArgs {
                url: nats_url.to_owned(),
            },
            data,
            reference_dir: None,
            max_batch: 4096,
            queue_depth: 16_384,
            max_payload_bytes: 64 * 1024,
            busy_retry_after_ms: 50,
            log_read_max: 10_000,
            checkpoint_every: 100_000,
            no_views: false,
            metrics_addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.data.join("oversight.redb")
    }

    /// The views' checkpoint file.
    pub fn views_path(&self) -> PathBuf {
        self.data.join("views.redb")
    }
}
