//! Who may read which pages. With no web users configured the pages are open (and served on
//! loopback only). With a users file, every page needs signing in: a regional team sees England
//! and its own region's scopes, an organisation's users their own organisation and England, and
//! corporate (scope `national`) everything; anything else is 403.
//!
//! The users file is CSV, `user,password_hash,scope`, the hash an argon2 PHC string
//! (`oversight web --hash-password` makes one). Sessions live in memory: a restart signs everyone
//! out.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use ingest::Reference;
use proto_schema::{NATIONAL, UNASSIGNED};

/// The cookie that carries a session.
pub const SESSION_COOKIE: &str = "oversight_session";
/// How long a session lasts without being used.
const SESSION_IDLE: Duration = Duration::from_secs(8 * 60 * 60);

/// One web user.
#[derive(Debug, Clone)]
pub struct WebUser {
    pub name: String,
    hash: String,
    /// `national` (corporate), a region code, or an organisation code.
    pub scope: String,
}

/// The configured users and their sessions; `None` users: the pages are open.
#[derive(Debug, Clone, Default)]
pub struct Access {
    users: Option<Arc<HashMap<String, WebUser>>>,
    sessions: Arc<Mutex<HashMap<String, (String, Instant)>>>,
    /// Cookies marked `Secure`: the pages are reached over TLS (a reverse proxy).
    secure_cookies: bool,
}

impl Access {
    /// Open pages: no users.
    pub fn open() -> Access {
        Access::default()
    }

    /// The users of `file`; every line is checked, and a bad one refuses the file by line.
    pub fn from_file(file: &Path, secure_cookies: bool) -> anyhow::Result<Access> {
        // Flexible: an argon2 hash holds commas (`m=19456,t=2,p=1`), so a hash pasted without
        // quotes spreads over several fields; the user is the first field and the scope the last.
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(file)
            .with_context(|| format!("cannot read the web users file {}", file.display()))?;
        let mut users = HashMap::new();
        for (line, record) in reader.records().enumerate() {
            let record =
                record.with_context(|| format!("{}: line {}", file.display(), line + 2))?;
            let fields: Vec<&str> = record.iter().collect();
            let hash = (fields.len() >= 3).then(|| fields[1..fields.len() - 1].join(","));
            let (Some(name), Some(hash), Some(scope)) = (
                fields.first().copied(),
                hash.as_deref(),
                fields.last().copied(),
            ) else {
                anyhow::bail!(
                    "{}: line {} is not user,password_hash,scope",
                    file.display(),
                    line + 2
                );
            };
            PasswordHash::new(hash).map_err(|e| {
                anyhow::anyhow!(
                    "{}: line {}: the password hash of {name} is not an argon2 PHC string ({e}); make one with `oversight web --hash-password`",
                    file.display(),
                    line + 2
                )
            })?;
            users.insert(
                name.to_owned(),
                WebUser {
                    name: name.to_owned(),
                    hash: hash.to_owned(),
                    scope: scope.to_owned(),
                },
            );
        }
        anyhow::ensure!(!users.is_empty(), "{} holds no users", file.display());
        Ok(Access {
            users: Some(Arc::new(users)),
            sessions: Arc::default(),
            secure_cookies,
        })
    }

    /// Whether signing in is needed at all.
    pub fn required(&self) -> bool {
        self.users.is_some()
    }

    /// Checks a user's password; a new session's token when it is right.
    pub fn sign_in(&self, name: &str, password: &str) -> Option<String> {
        let user = self.users.as_ref()?.get(name)?;
        let hash = PasswordHash::new(&user.hash).ok()?;
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .ok()?;
        let token = random_hex().ok()?;
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(token.clone(), (name.to_owned(), Instant::now()));
        Some(token)
    }

    pub fn sign_out(&self, token: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(token);
    }

    /// The user a session token belongs to, if it is current (using it keeps it so).
    pub fn user_of(&self, token: &str) -> Option<WebUser> {
        let users = self.users.as_ref()?;
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (name, used) = sessions.get_mut(token)?;
        if used.elapsed() > SESSION_IDLE {
            sessions.remove(token);
            return None;
        }
        *used = Instant::now();
        users.get(name.as_str()).cloned()
    }

    /// The `Set-Cookie` value that carries `token`.
    pub fn cookie(&self, token: &str) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}")
    }

    /// The `Set-Cookie` value that ends a session.
    pub fn cleared_cookie(&self) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
    }
}

impl WebUser {
    /// Whether this user may read `scope`'s pages: England always; corporate everything; a
    /// region its own region, systems and organisations; an organisation itself.
    pub fn may_read(&self, scope: &str, reference: &Reference) -> bool {
        if scope == NATIONAL || self.scope == NATIONAL || scope == self.scope {
            return true;
        }
        if scope == UNASSIGNED {
            return false;
        }
        if reference.region(&self.scope).is_some() {
            if let Some(system) = reference.system(scope) {
                return system.region == self.scope;
            }
            if let Some(org) = reference.organisation(scope) {
                return org.region == self.scope;
            }
        }
        false
    }
}

/// An argon2 PHC string of `password` (argon2's recommended cost), with a random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    hash_password_with(password, Argon2::default())
}

/// An argon2 PHC string of `password` under `argon2`'s parameters, with a random salt.
pub fn hash_password_with(password: &str, argon2: Argon2<'_>) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut salt))
        .context("cannot read /dev/urandom for a salt")?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("a salt: {e}"))?;
    Ok(argon2
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?
        .to_string())
}

/// 128 random bits from the kernel, as 32 hex digits.
fn random_hex() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The session token in a request's `Cookie` header, if any.
pub fn session_token(cookies: Option<&str>) -> Option<&str> {
    cookies?.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SESSION_COOKIE && !value.is_empty()).then_some(value)
    })
}
