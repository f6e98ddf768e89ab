//! Configuration of `oversight serve`: one TOML file with a version field, every limit a named
//! field with a documented default, environment overrides `OVERSIGHT_<SECTION>_<KEY>`, and a few
//! flags for what is set most often. Precedence: defaults < file < environment < flags.
//!
//! `deploy/oversight.toml` is the documented example; `oversight config check FILE` prints the
//! effective configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The layout version this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// The prefix of every environment override.
pub const ENV_PREFIX: &str = "OVERSIGHT_";

/// Loopback only: exposing metrics beyond the host is an operator's decision.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9720";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("{origin}: `version = {found}` is not a layout this build reads (it reads version {CONFIG_VERSION})")]
    Version { origin: String, found: i64 },
    #[error("{origin}: no `version` field; start the file with `version = {CONFIG_VERSION}`")]
    NoVersion { origin: String },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Layout version of the file; this build reads 1.
    pub version: u32,
    #[serde(default)]
    pub nats: NatsConfig,
    #[serde(default)]
    pub data: DataConfig,
    #[serde(default)]
    pub intake: IntakeConfig,
    #[serde(default)]
    pub views: ViewsConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub web: WebConfig,
    #[serde(default)]
    pub shutdown: ShutdownConfig,
}

/// The connection to NATS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// Server URL. Default `nats://127.0.0.1:4222`.
    pub url: String,
    /// User name, when the server requires one (deploy/nats: the `oversight-service` user).
    pub user: Option<String>,
    /// Its password, inline. Prefer `password_file`.
    pub password: Option<String>,
    /// A file holding the password (first line), readable only by the service.
    pub password_file: Option<PathBuf>,
    /// PEM file of the certificate authorities to trust; setting it makes the connection TLS.
    pub tls_ca_file: Option<PathBuf>,
    /// Client certificate (PEM), when the server asks for one (mutual TLS); needs `tls_key_file`.
    pub tls_cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub tls_key_file: Option<PathBuf>,
    /// How long one connection attempt may take, in milliseconds. Default 5000.
    pub connect_timeout_ms: u64,
    /// Attempts to reach the server at start-up before giving up, one second apart. Default 5.
    pub connect_attempts: u32,
}

impl Default for NatsConfig {
    fn default() -> NatsConfig {
        NatsConfig {
            url: "nats://127.0.0.1:4222".into(),
            user: None,
            password: None,
            password_file: None,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            connect_timeout_ms: 5000,
            connect_attempts: 5,
        }
    }
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Directory holding the event log (`oversight.redb`) and the views checkpoint
    /// (`views.redb`); created if absent. Default `oversight-data`.
    pub dir: PathBuf,
    /// Reference files (`regions.csv`, `etr.csv`, `eccg.csv`) to seed an empty log with, instead
    /// of the copies built into the binary. Default: the built-in copies.
    pub reference_dir: Option<PathBuf>,
    /// The service refuses to start when the data directory's disk has less free space than
    /// this, in bytes. Default 268435456 (256 MiB).
    pub min_free_bytes: u64,
}

impl Default for DataConfig {
    fn default() -> DataConfig {
        DataConfig {
            dir: "oversight-data".into(),
            reference_dir: None,
            min_free_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Intake limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeConfig {
    /// Most returns committed in one transaction (one fsync). Default 4096; 1 to 1,000,000.
    pub max_batch: u32,
    /// Validated returns that may wait for the writer; beyond it submitters are told "busy".
    /// Default 16384; 1 to 10,000,000.
    pub queue_depth: u32,
    /// Largest return accepted, in bytes (`payload_too_large` beyond). Default 65536.
    pub max_payload_bytes: u32,
    /// The wait suggested to a submitter told "busy", in milliseconds. Default 50.
    pub busy_retry_after_ms: u32,
    /// Most entries one `oversight.log.read` reply carries. Default 10000.
    pub log_read_max: u32,
}

impl Default for IntakeConfig {
    fn default() -> IntakeConfig {
        IntakeConfig {
            max_batch: 4096,
            queue_depth: 16_384,
            max_payload_bytes: 64 * 1024,
            busy_retry_after_ms: 50,
            log_read_max: 10_000,
        }
    }
}

/// The views run in this process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ViewsConfig {
    /// Run the views here. Default true; false leaves them to `oversight project` elsewhere.
    pub enabled: bool,
    /// Log entries applied between checkpoints. Default 100000.
    pub checkpoint_every: u64,
    /// Log entries between the checkpoints kept for as-of views (0 keeps none), so an as-of
    /// view replays at most about this many entries. Default 100000.
    pub retain_every: u64,
    /// SPC charts (`spc.<metric>`) in every view and delta. Default true.
    pub analytics: bool,
}

impl Default for ViewsConfig {
    fn default() -> ViewsConfig {
        ViewsConfig {
            enabled: true,
            checkpoint_every: 100_000,
            retain_every: 100_000,
            analytics: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Where Prometheus scrapes `GET /metrics`. Default 127.0.0.1:9720.
    pub addr: SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> MetricsConfig {
        MetricsConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 9720)),
        }
    }
}

/// The web pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Serve the pages. Default true.
    pub enabled: bool,
    /// Where the pages are served. Default `127.0.0.1:9730`; an address other machines can
    /// reach needs `users_file`.
    pub addr: SocketAddr,
    /// The web users (CSV: `user,password_hash,scope`): with it every page needs signing in
    /// and each user sees its own scopes. Default: none, the pages open on loopback only.
    pub users_file: Option<PathBuf>,
    /// Mark session cookies `Secure`: set it when the pages are reached over TLS (a reverse
    /// proxy). Default false.
    pub secure_cookies: bool,
}

impl Default for WebConfig {
    fn default() -> WebConfig {
        WebConfig {
            enabled: true,
            addr: SocketAddr::from(([127, 0, 0, 1], 9730)),
            users_file: None,
            secure_cookies: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownConfig {
    /// How long each shutdown step that needs the NATS server may wait for it, in milliseconds.
    /// Default 5000.
    pub step_limit_ms: u64,
}

impl Default for ShutdownConfig {
    fn default() -> ShutdownConfig {
        ShutdownConfig {
            step_limit_ms: 5000,
        }
    }
}

/// Optional fields, which a serialised default leaves out: still valid override targets.
const OPTIONAL_KEYS: &[(&str, &str)] = &[
    ("web", "users_file"),
    ("nats", "user"),
    ("nats", "password"),
    ("nats", "password_file"),
    ("nats", "tls_ca_file"),
    ("nats", "tls_cert_file"),
    ("nats", "tls_key_file"),
    ("data", "reference_dir"),
];

impl Default for Config {
    fn default() -> Config {
        Config {
            version: CONFIG_VERSION,
            nats: NatsConfig::default(),
            data: DataConfig::default(),
            intake: IntakeConfig::default(),
            views: ViewsConfig::default(),
            metrics: MetricsConfig::default(),
            web: WebConfig::default(),
            shutdown: ShutdownConfig::default(),
        }
    }
}

impl Config {
    /// Defaults on `nats_url` and `data`, metrics on a port the OS picks: for the bench and
    /// tests that run the service in-process.
    pub fn with(nats_url: &str, data: PathBuf) -> Config {
        let mut config = Config::default();
        config.nats.url = nats_url.to_owned();
        config.data.dir = data;
        config.metrics.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.web.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config
    }

    /// Reads `file` (if any), then applies the `OVERSIGHT_*` variables of `env`, then checks it.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (mut table, origin) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                let origin = path.display().to_string();
                let table: toml::Table =
                    toml::from_str(&text).map_err(|e| ConfigError::Invalid {
                        origin: origin.clone(),
                        message: e.to_string(),
                    })?;
                match table.get("version") {
                    None => return Err(ConfigError::NoVersion { origin }),
                    Some(toml::Value::Integer(v)) if *v == i64::from(CONFIG_VERSION) => {}
                    Some(toml::Value::Integer(v)) => {
                        return Err(ConfigError::Version { origin, found: *v })
                    }
                    Some(other) => {
                        return Err(ConfigError::Invalid {
                            origin,
                            message: format!("`version` must be the number 1, not {other}"),
                        })
                    }
                }
                (table, origin)
            }
            None => (defaults_table(), "the defaults".to_owned()),
        };
        let mut overridden = Vec::new();
        for (name, raw) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if let Some((section, key)) = env_target(rest)? {
                set(&mut table, section, &key, &raw).map_err(|message| ConfigError::Env {
                    name: name.clone(),
                    message,
                })?;
                overridden.push(name);
            }
        }
        let origin = if overridden.is_empty() {
            origin
        } else {
            format!("{origin} with {}", overridden.join(", "))
        };
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let path = e.path().to_string();
                ConfigError::Invalid {
                    origin: origin.clone(),
                    message: if path == "." {
                        e.into_inner().message().to_owned()
                    } else {
                        format!("{path}: {}", e.into_inner().message())
                    },
                }
            })?;
        config
            .check()
            .map_err(|message| ConfigError::Invalid { origin, message })?;
        Ok(config)
    }

    /// Limits that a type alone does not express.
    pub fn check(&self) -> Result<(), String> {
        let ranges: [(&str, u64, u64, u64); 7] = [
            (
                "intake.max_batch",
                self.intake.max_batch.into(),
                1,
                1_000_000,
            ),
            (
                "intake.queue_depth",
                self.intake.queue_depth.into(),
                1,
                10_000_000,
            ),
            (
                "intake.max_payload_bytes",
                self.intake.max_payload_bytes.into(),
                64,
                64 * 1024 * 1024,
            ),
            (
                "intake.log_read_max",
                self.intake.log_read_max.into(),
                1,
                1_000_000,
            ),
            (
                "views.checkpoint_every",
                self.views.checkpoint_every,
                1,
                u64::MAX,
            ),
            (
                "nats.connect_attempts",
                self.nats.connect_attempts.into(),
                1,
                1000,
            ),
            (
                "nats.connect_timeout_ms",
                self.nats.connect_timeout_ms,
                1,
                600_000,
            ),
        ];
        for (field, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(format!("{field} = {value} is outside {min}..={max}"));
            }
        }
        if self.nats.password.is_some() && self.nats.password_file.is_some() {
            return Err("set nats.password or nats.password_file, not both".into());
        }
        if (self.nats.password.is_some() || self.nats.password_file.is_some())
            && self.nats.user.is_none()
        {
            return Err("a NATS password needs nats.user".into());
        }
        if self.nats.tls_cert_file.is_some() != self.nats.tls_key_file.is_some() {
            return Err("nats.tls_cert_file and nats.tls_key_file go together".into());
        }
        if self.web.enabled && !self.web.addr.ip().is_loopback() && self.web.users_file.is_none() {
            return Err(format!(
                "web.addr = {} would serve the pages to anyone who can reach it: set \
                 web.users_file (every page then needs signing in), use a loopback address \
                 (127.0.0.1:9730), or web.enabled = false",
                self.web.addr
            ));
        }
        Ok(())
    }

    /// The effective configuration as TOML, with any inline password hidden.
    pub fn to_toml(&self) -> String {
        let mut shown = self.clone();
        if shown.nats.password.is_some() {
            shown.nats.password = Some("(hidden)".into());
        }
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot print: {e}\n"))
    }

    pub fn log_path(&self) -> PathBuf {
        self.data.dir.join("oversight.redb")
    }

    /// The views' checkpoint file.
    pub fn views_path(&self) -> PathBuf {
        self.data.dir.join("views.redb")
    }

    pub fn shutdown_step_limit(&self) -> Duration {
        Duration::from_millis(self.shutdown.step_limit_ms)
    }
}

fn defaults_table() -> toml::Table {
    toml::Table::try_from(Config::default()).unwrap_or_default()
}

const SECTIONS: &[&str] = &["nats", "data", "intake", "views", "metrics", "shutdown"];

/// The section and key an `OVERSIGHT_<SECTION>_<KEY>` variable sets (given without the prefix),
/// or `None` for a variable that is not a configuration override.
fn env_target(rest: &str) -> Result<Option<(&'static str, String)>, ConfigError> {
    let lower = rest.to_ascii_lowercase();
    for section in SECTIONS {
        if let Some(key) = lower
            .strip_prefix(section)
            .and_then(|k| k.strip_prefix('_'))
        {
            return Ok(Some((section, key.to_owned())));
        }
        if lower == *section {
            return Err(ConfigError::Env {
                name: format!("{ENV_PREFIX}{rest}"),
                message: format!(
                    "names the section [{section}] but no key: use {ENV_PREFIX}{}_<KEY>",
                    section.to_ascii_uppercase()
                ),
            });
        }
    }
    Ok(None)
}

/// Sets `[section] key` from an environment value, typed like the field it replaces.
fn set(table: &mut toml::Table, section: &str, key: &str, raw: &str) -> Result<(), String> {
    let known_default = defaults_table()
        .get(section)
        .and_then(|s| s.get(key))
        .cloned();
    let optional = OPTIONAL_KEYS.contains(&(section, key));
    let value = match known_default {
        Some(toml::Value::Integer(_)) => toml::Value::Integer(
            raw.trim()
                .parse()
                .map_err(|_| format!("`{raw}` is not a whole number"))?,
        ),
        Some(toml::Value::Boolean(_)) => match raw.trim() {
            "true" | "1" | "yes" => toml::Value::Boolean(true),
            "false" | "0" | "no" => toml::Value::Boolean(false),
            _ => return Err(format!("`{raw}` is not true or false")),
        },
        Some(_) => toml::Value::String(raw.to_owned()),
        None if optional => toml::Value::String(raw.to_owned()),
        None => return Err(format!("there is no `{key}` in [{section}]")),
    };
    let entry = table
        .entry(section)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match entry {
        toml::Value::Table(section_table) => {
            section_table.insert(key.to_owned(), value);
            Ok(())
        }
        _ => Err(format!("[{section}] in the file is not a table")),
    }
}

/// Where the NATS server is and who is connecting, for the client commands (submit, import,
/// watch, log, project). The environment variables are the nats command line's.
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
    /// NATS user, when the server requires one (your organisation's code, for a trust or CCG).
    #[arg(long, env = "NATS_USER", requires = "password")]
    pub user: Option<String>,
    /// The user's password.
    #[arg(long, env = "NATS_PASSWORD", hide_env_values = true, requires = "user")]
    pub password: Option<String>,
    /// PEM file of the certificate authorities to trust; makes the connection TLS.
    #[arg(long = "tls-ca", env = "NATS_CA", value_name = "FILE")]
    pub tls_ca_file: Option<PathBuf>,
}

impl NatsArgs {
    /// Where and as whom these flags say to connect.
    pub fn target(&self) -> crate::client::NatsTarget {
        crate::client::NatsTarget {
            url: self.url.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            tls_ca_file: self.tls_ca_file.clone(),
        }
    }

    pub fn anonymous(url: &str) -> NatsArgs {
        NatsArgs {
            url: url.to_owned(),
            user: None,
            password: None,
            tls_ca_file: None,
        }
    }
}

/// `oversight serve`'s flags: a configuration file, and the settings changed most often.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// The configuration file (TOML; see deploy/oversight.toml). Without it: the defaults, then
    /// the OVERSIGHT_<SECTION>_<KEY> environment variables, then these flags.
    #[arg(long, env = "OVERSIGHT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// NATS server URL [nats.url].
    #[arg(long = "nats", value_name = "URL")]
    pub nats_url: Option<String>,
    /// Data directory [data.dir].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Reference files to seed an empty log with [data.reference_dir].
    #[arg(long, value_name = "DIR")]
    pub reference_dir: Option<PathBuf>,
    /// Where Prometheus scrapes the metrics [metrics.addr].
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<SocketAddr>,
    /// Most returns per commit [intake.max_batch].
    #[arg(long, value_name = "N")]
    pub max_batch: Option<u32>,
    /// Returns that may wait for the writer [intake.queue_depth].
    #[arg(long, value_name = "N")]
    pub queue_depth: Option<u32>,
    /// Entries between views checkpoints [views.checkpoint_every].
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<u64>,
    /// Do not run the views here [views.enabled = false].
    #[arg(long)]
    pub no_views: bool,
    /// Where the web pages are served, loopback only [web.addr]; default 127.0.0.1:9730.
    #[arg(long, value_name = "HOST:PORT")]
    pub web_addr: Option<SocketAddr>,
    /// Do not serve the web pages [web.enabled = false].
    #[arg(long)]
    pub no_web: bool,
    /// The web users file; every page then needs signing in [web.users_file].
    #[arg(long, value_name = "FILE")]
    pub web_users: Option<PathBuf>,
}

impl ServeArgs {
    /// The effective configuration: file, environment, then these flags.
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        let mut config = Config::load(self.config.as_deref(), std::env::vars())?;
        if let Some(url) = &self.nats_url {
            config.nats.url.clone_from(url);
        }
        if let Some(dir) = &self.data {
            config.data.dir.clone_from(dir);
        }
        if let Some(dir) = &self.reference_dir {
            config.data.reference_dir = Some(dir.clone());
        }
        if let Some(addr) = self.metrics_addr {
            config.metrics.addr = addr;
        }
        if let Some(n) = self.max_batch {
            config.intake.max_batch = n;
        }
        if let Some(n) = self.queue_depth {
            config.intake.queue_depth = n;
        }
        if let Some(n) = self.checkpoint_every {
            config.views.checkpoint_every = n;
        }
        if self.no_views {
            config.views.enabled = false;
        }
        if let Some(addr) = self.web_addr {
            config.web.addr = addr;
        }
        if self.no_web {
            config.web.enabled = false;
        }
        if let Some(file) = &self.web_users {
            config.web.users_file = Some(file.clone());
        }
        config.check().map_err(|message| ConfigError::Invalid {
            origin: "the command line".into(),
            message,
        })?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("oversight.toml");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    #[test]
    fn the_documented_example_is_the_defaults() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/oversight.toml");
        let loaded = Config::load(Some(&example), env(&[])).expect("example loads");
        assert_eq!(loaded, Config::default());
    }

    #[test]
    fn file_then_environment() {
        let (_dir, path) = file("version = 1\n[intake]\nmax_batch = 100\nqueue_depth = 7\n");
        let config = Config::load(
            Some(&path),
            env(&[
                ("OVERSIGHT_INTAKE_QUEUE_DEPTH", "9"),
                ("OVERSIGHT_VIEWS_ENABLED", "false"),
                ("OVERSIGHT_NATS_USER", "oversight-service"),
                ("OVERSIGHT_METRICS_ADDR", "127.0.0.1:9999"),
                ("PATH", "/usr/bin"),
                ("OVERSIGHT_LOG_FORMAT", "json"),
            ]),
        )
        .expect("loads");
        assert_eq!(config.intake.max_batch, 100);
        assert_eq!(config.intake.queue_depth, 9);
        assert!(!config.views.enabled);
        assert_eq!(config.nats.user.as_deref(), Some("oversight-service"));
        assert_eq!(config.metrics.addr.port(), 9999);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_by_name() {
        let cases = [
            ("version = 1\n[intake]\nmax_bach = 5\n", "max_bach"),
            ("version = 1\n[intakes]\n", "intakes"),
            ("version = 2\n", "version = 2"),
            ("[intake]\nmax_batch = 5\n", "no `version`"),
            (
                "version = 1\n[intake]\nmax_batch = 0\n",
                "intake.max_batch = 0",
            ),
            ("version = 1\n[intake]\nmax_batch = \"big\"\n", "max_batch"),
            ("version = 1\n[metrics]\naddr = \"nowhere\"\n", "addr"),
            ("version = 1\n[nats]\npassword = \"x\"\n", "needs nats.user"),
        ];
        for (text, expected) in cases {
            let (_dir, path) = file(text);
            let error = Config::load(Some(&path), env(&[]))
                .expect_err(text)
                .to_string();
            assert!(error.contains(expected), "{text:?} gave: {error}");
        }
        for (name, value, expected) in [
            (
                "OVERSIGHT_INTAKE_MAX_BACH",
                "5",
                "no `max_bach` in [intake]",
            ),
            ("OVERSIGHT_INTAKE_MAX_BATCH", "many", "not a whole number"),
            ("OVERSIGHT_VIEWS_ENABLED", "maybe", "not true or false"),
            ("OVERSIGHT_DATA", "/tmp", "no key"),
        ] {
            let error = Config::load(None, env(&[(name, value)]))
                .expect_err(name)
                .to_string();
            assert!(
                error.contains(name) && error.contains(expected),
                "{name}: {error}"
            );
        }
    }

    #[test]
    fn printing_hides_the_password() {
        let mut config = Config::default();
        config.nats.user = Some("u".into());
        config.nats.password = Some("s3cret".into());
        let text = config.to_toml();
        assert!(
            !text.contains("s3cret") && text.contains("(hidden)"),
            "{text}"
        );
    }

    #[test]
    fn web_pages_are_served_on_loopback_only() {
        let (_dir, path) = file("version = 1\n[web]\naddr = \"0.0.0.0:9730\"\n");
        let refused = Config::load(Some(&path), env(&[])).expect_err("refused");
        assert!(
            refused.to_string().contains("web.addr = 0.0.0.0:9730"),
            "{refused}"
        );
        let (_dir, path) = file("version = 1\n[web]\naddr = \"0.0.0.0:9730\"\nenabled = false\n");
        assert!(
            Config::load(Some(&path), env(&[])).is_ok(),
            "off, the address is not used"
        );
    }
}
