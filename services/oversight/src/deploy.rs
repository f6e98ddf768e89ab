//! `oversight deploy nats-config`: the nats-server configuration of every role, generated from
//! the reference data, since there are hundreds of organisations (see [`crate::roles`]).
//!
//! Writes `nats-server.conf` (accounts, users, subject permissions) and `credentials.csv` (each
//! user's password, to hand to its owner), both readable by their owner only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ingest::seed::{seed_events, ReferenceFiles};
use proto_schema::{Event, NATIONAL};

use crate::roles::{
    inbox_prefix, region_user, CORPORATE, DATA_STANDARDS, REGIONS, SERVICES, SUBMITTERS,
};

/// The services' own user.
pub const SERVICE_USER: &str = "oversight-service";
pub const CORPORATE_USER: &str = "corporate";
pub const DATA_STANDARDS_USER: &str = "data-standards";

/// One user: who, in which account, with what password, allowed to publish and subscribe what.
#[derive(Debug, Clone)]
pub struct User {
    pub account: &'static str,
    pub name: String,
    pub password: String,
    /// What it is for, in the credentials file: an organisation, region or role.
    pub scope: String,
    pub publish: Vec<String>,
    pub subscribe: Vec<String>,
}

/// Every user of every role.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    pub users: Vec<User>,
    pub listen: String,
}

/// The scopes a regional team reads: the region, its systems and its organisations.
fn region_scopes(events: &[Event]) -> BTreeMap<String, Vec<String>> {
    let mut scopes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in events {
        match event {
            Event::RegionDefined(region) => scopes
                .entry(region.code.clone())
                .or_default()
                .push(region.code.clone()),
            Event::SystemDefined(system) => scopes
                .entry(system.region.clone())
                .or_default()
                .push(system.code.clone()),
            Event::OrganisationRegistered(org) if !org.region.is_empty() => scopes
                .entry(org.region.clone())
                .or_default()
                .push(org.code.clone()),
            _ => {}
        }
    }
    for list in scopes.values_mut() {
        list.sort();
        list.dedup();
    }
    scopes
}

fn view_reads(scope: &str) -> [String; 3] {
    [
        format!("oversight.view.{scope}.delta"),
        format!("oversight.view.{scope}.delta.json"),
        format!("oversight.alert.{scope}"),
    ]
}

impl NatsConfig {
    /// The users for the organisations and regions of `files`, with fresh passwords.
    pub fn generate(files: &ReferenceFiles, listen: &str) -> anyhow::Result<NatsConfig> {
        NatsConfig::generate_keeping(files, listen, &BTreeMap::new())
    }

    /// The same, keeping the password of every user `known` already has (user -> password), so
    /// regenerating after reference changes only adds users.
    pub fn generate_keeping(
        files: &ReferenceFiles,
        listen: &str,
        known: &BTreeMap<String, String>,
    ) -> anyhow::Result<NatsConfig> {
        let (events, _) = seed_events(files)?;
        let mut users = vec![User {
            account: SERVICES,
            name: SERVICE_USER.into(),
            password: password()?,
            scope: "the oversight services".into(),
            publish: vec![">".into()],
            subscribe: vec![">".into()],
        }];
        for event in &events {
            if let Event::OrganisationRegistered(org) = event {
                users.push(User {
                    account: SUBMITTERS,
                    name: org.code.clone(),
                    password: password()?,
                    scope: org.name.clone(),
                    publish: vec![
                        format!("oversight.submit.{}", org.code),
                        format!("oversight.plan.{}", org.code),
                        format!("oversight.returns.{}", org.code),
                    ],
                    subscribe: vec![format!("{}.>", inbox_prefix(&org.code))],
                });
            }
        }
        for (region, scopes) in region_scopes(&events) {
            let name = region_user(&region);
            let mut subscribe: Vec<String> = scopes.iter().flat_map(|s| view_reads(s)).collect();
            subscribe.push(format!("{}.>", inbox_prefix(&name)));
            users.push(User {
                account: REGIONS,
                password: password()?,
                scope: format!("region {region} ({} scopes)", scopes.len()),
                publish: scopes
                    .iter()
                    .flat_map(|s| {
                        [
                            format!("oversight.view.{s}.snapshot"),
                            format!("oversight.returns.{s}"),
                        ]
                    })
                    .chain(["oversight.admin.segment".to_owned()])
                    .collect(),
                subscribe,
                name,
            });
        }
        users.push(User {
            account: CORPORATE,
            name: CORPORATE_USER.into(),
            password: password()?,
            scope: "every view".into(),
            publish: vec![
                "oversight.view.*.snapshot".into(),
                "oversight.returns.*".into(),
                "oversight.admin.segment".into(),
            ],
            subscribe: vec![
                "oversight.view.>".into(),
                "oversight.alert.>".into(),
                format!("{}.>", inbox_prefix(CORPORATE_USER)),
            ],
        });
        users.push(User {
            account: DATA_STANDARDS,
            name: DATA_STANDARDS_USER.into(),
            password: password()?,
            scope: "reference data".into(),
            publish: vec!["oversight.admin.*".into()],
            subscribe: vec![format!("{}.>", inbox_prefix(DATA_STANDARDS_USER))],
        });
        for user in &mut users {
            if let Some(password) = known.get(&user.name) {
                user.password.clone_from(password);
            }
        }
        Ok(NatsConfig {
            users,
            listen: listen.to_owned(),
        })
    }

    /// The user -> password pairs of a credentials file written earlier.
    pub fn read_credentials(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
        let mut reader = csv::Reader::from_path(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut known = BTreeMap::new();
        for (line, record) in reader.records().enumerate() {
            let record =
                record.with_context(|| format!("{}: line {}", path.display(), line + 2))?;
            match (record.get(1), record.get(2)) {
                (Some(user), Some(password)) if !password.is_empty() => {
                    known.insert(user.to_owned(), password.to_owned());
                }
                _ => anyhow::bail!(
                    "{}: line {} is not account,user,password,scope",
                    path.display(),
                    line + 2
                ),
            }
        }
        Ok(known)
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The nats-server configuration file. It holds a bcrypt hash of each password, never the
    /// password: the credentials file handed to each user holds that.
    pub fn server_conf(&self) -> anyhow::Result<String> {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Generated by `oversight deploy nats-config` from the reference data: regenerate it when\n\
             # organisations are registered or move, and hand each user its line of credentials.csv.\n\
             # Roles and what each may do: ARCHITECTURE.md, section Roles (contract 6).\n\
             listen: {listen}\n\
             # TLS (see deploy/README.md):\n\
             # tls {{\n\
             #   cert_file: \"/etc/nats/server.pem\"\n\
             #   key_file: \"/etc/nats/server-key.pem\"\n\
             #   ca_file: \"/etc/nats/ca.pem\"\n\
             # }}\n\
             max_payload: 1MB\n\
             accounts {{",
            listen = self.listen
        );
        let sections: [(&str, &str, &[&str], &[&str]); 5] = [
            (
                SERVICES,
                "the services: they answer every request and export what the roles may use",
                &[],
                &[],
            ),
            (
                SUBMITTERS,
                "trusts and CCGs: each submits and plans for itself only",
                &["oversight.submit.*", "oversight.plan.*", "oversight.returns.*"],
                &[],
            ),
            (
                REGIONS,
                "regional teams: each reads its region's views and alerts only, and decides its organisations' segments",
                &[
                    "oversight.view.*.snapshot",
                    "oversight.returns.*",
                    "oversight.admin.segment",
                ],
                &[
                    "oversight.view.*.delta",
                    "oversight.view.*.delta.json",
                    "oversight.alert.*",
                ],
            ),
            (
                CORPORATE,
                "the national team: every view and alert, and segment decisions anywhere (5 only by it)",
                &[
                    "oversight.view.*.snapshot",
                    "oversight.returns.*",
                    "oversight.admin.segment",
                ],
                &[
                    "oversight.view.*.delta",
                    "oversight.view.*.delta.json",
                    "oversight.alert.*",
                ],
            ),
            (
                DATA_STANDARDS,
                "the data-standards team: reference-data commands",
                &["oversight.admin.*"],
                &[],
            ),
        ];
        for (account, what, services, streams) in sections {
            let _ = writeln!(out, "  # {what}\n  {account}: {{\n    users: [");
            for user in self.users.iter().filter(|u| u.account == account) {
                let _ = writeln!(
                    out,
                    "      {{user: \"{}\", password: \"{}\", permissions: {{publish: {{allow: {}}}, subscribe: {{allow: {}}}}}}}",
                    user.name,
                    password_hash(&user.password)?,
                    list(&user.publish),
                    list(&user.subscribe)
                );
            }
            let _ = writeln!(out, "    ]");
            if account == SERVICES {
                let _ = writeln!(
                    out,
                    "    exports: [\n\
                     \x20     {{service: \"oversight.submit.*\"}}\n\
                     \x20     {{service: \"oversight.plan.*\"}}\n\
                     \x20     {{service: \"oversight.admin.*\"}}\n\
                     \x20     {{service: \"oversight.view.*.snapshot\"}}\n\
                     \x20     {{service: \"oversight.returns.*\"}}\n\
                     \x20     {{stream: \"oversight.view.*.delta\"}}\n\
                     \x20     {{stream: \"oversight.view.*.delta.json\"}}\n\
                     \x20     {{stream: \"oversight.alert.*\"}}\n\
                     \x20   ]"
                );
            } else {
                let _ = writeln!(out, "    imports: [");
                // share: the server tells the service who sent each request, so it can check.
                for subject in services {
                    let _ = writeln!(
                        out,
                        "      {{service: {{account: {SERVICES}, subject: \"{subject}\"}}, share: true}}"
                    );
                }
                for subject in streams {
                    let _ = writeln!(
                        out,
                        "      {{stream: {{account: {SERVICES}, subject: \"{subject}\"}}}}"
                    );
                }
                let _ = writeln!(out, "    ]");
            }
            let _ = writeln!(out, "  }}");
        }
        let _ = writeln!(out, "}}");
        Ok(out)
    }

    /// `account,user,password,scope`, one line per user.
    pub fn credentials_csv(&self) -> anyhow::Result<String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(["account", "user", "password", "scope"])?;
        for user in &self.users {
            writer.write_record([user.account, &user.name, &user.password, &user.scope])?;
        }
        Ok(String::from_utf8(writer.into_inner()?)?)
    }

    /// The web users of the same roles, with the same passwords (`[web] users_file`): each
    /// organisation its own pages, each regional team its region's, corporate every page.
    pub fn web_users_csv(&self) -> anyhow::Result<String> {
        // Each password is 128 random bits, so argon2's cost is not what keeps it from being
        // guessed; a light one keeps hashing several hundred of them, and each sign-in, quick.
        let params = argon2::Params::new(WEB_HASH_MEMORY_KIB, 1, 1, None)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let argon2 =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(["user", "password_hash", "scope"])?;
        for user in &self.users {
            let scope = match user.account {
                SUBMITTERS => user.name.clone(),
                REGIONS => match user.name.strip_prefix("region-") {
                    Some(region) => region.to_owned(),
                    None => continue,
                },
                CORPORATE => NATIONAL.to_owned(),
                _ => continue,
            };
            let hash = crate::web::access::hash_password_with(&user.password, argon2.clone())?;
            writer.write_record([user.name.as_str(), &hash, &scope])?;
        }
        Ok(String::from_utf8(writer.into_inner()?)?)
    }

    /// Writes the three files into `dir`, readable by their owner only: the server's
    /// configuration, the credentials to hand out and the web users; returns their paths.
    pub fn write(&self, dir: &Path) -> anyhow::Result<(PathBuf, PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let conf = dir.join("nats-server.conf");
        let credentials = dir.join("credentials.csv");
        let web_users = dir.join("web-users.csv");
        write_private(&conf, self.server_conf()?.as_bytes())?;
        write_private(&credentials, self.credentials_csv()?.as_bytes())?;
        write_private(&web_users, self.web_users_csv()?.as_bytes())?;
        Ok((conf, credentials, web_users))
    }
}

fn list(subjects: &[String]) -> String {
    let quoted: Vec<String> = subjects.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// argon2's memory for the generated web users' hashes, in KiB (see `web_users_csv`).
const WEB_HASH_MEMORY_KIB: u32 = 1024;

/// bcrypt's work factor for the passwords in the server's configuration. Each password is 128
/// random bits, so it is not the work factor that keeps them from being guessed: the hash keeps
/// the configuration file from holding usable passwords, and a low cost keeps generating several
/// hundred of them, and nats-server checking one at every connection, quick.
const BCRYPT_COST: u32 = 6;

/// The bcrypt hash of `password` as nats-server reads it (`$2a$`).
fn password_hash(password: &str) -> anyhow::Result<String> {
    Ok(bcrypt::hash_with_result(password, BCRYPT_COST)
        .context("cannot hash a password")?
        .format_for_version(bcrypt::Version::TwoA))
}

/// 128 random bits from the kernel, as 32 hex digits.
fn password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for passwords")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_organisation_and_region_has_a_user_with_only_its_subjects() {
        let config =
            NatsConfig::generate(&ReferenceFiles::bundled(), "127.0.0.1:4222").expect("generate");
        let rj1 = config.user("RJ1").expect("RJ1, a London trust");
        assert_eq!(rj1.account, SUBMITTERS);
        assert_eq!(
            rj1.publish,
            [
                "oversight.submit.RJ1",
                "oversight.plan.RJ1",
                "oversight.returns.RJ1"
            ]
            .map(String::from)
        );
        assert_eq!(rj1.subscribe, ["_INBOX_RJ1.>".to_owned()]);

        let london = config.user("region-Y56").expect("London's team");
        assert!(london
            .publish
            .contains(&"oversight.view.Y56.snapshot".to_owned()));
        assert!(london
            .publish
            .contains(&"oversight.view.RJ1.snapshot".to_owned()));
        assert!(london.publish.contains(&"oversight.returns.RJ1".to_owned()));
        assert!(!london
            .publish
            .iter()
            .any(|s| s.starts_with("oversight.returns.") && s.ends_with("RK9")));
        assert!(!london
            .publish
            .iter()
            .any(|s| s == "oversight.view.Y58.snapshot" || s.contains('*') || s.contains('>')));
        assert_eq!(
            config.users.iter().filter(|u| u.account == REGIONS).count(),
            7
        );
        let organisations = config
            .users
            .iter()
            .filter(|u| u.account == SUBMITTERS)
            .count();
        assert!(organisations > 300, "{organisations} organisations");
        let passwords: std::collections::HashSet<_> =
            config.users.iter().map(|u| &u.password).collect();
        assert_eq!(
            passwords.len(),
            config.users.len(),
            "passwords are distinct"
        );
    }

    #[test]
    fn the_server_configuration_holds_bcrypt_hashes_not_passwords() {
        let config =
            NatsConfig::generate(&ReferenceFiles::bundled(), "127.0.0.1:4222").expect("generate");
        let conf = config.server_conf().expect("conf");
        for user in &config.users {
            assert!(
                !conf.contains(&user.password),
                "{}'s password in the clear",
                user.name
            );
        }
        let rj1 = config.user("RJ1").expect("RJ1");
        let line = conf
            .lines()
            .find(|line| line.contains("user: \"RJ1\""))
            .expect("RJ1's line");
        let hash = line
            .split("password: \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a password field");
        assert!(hash.starts_with("$2a$06$"), "{hash}");
        assert!(bcrypt::verify(&rj1.password, hash).expect("a bcrypt hash"));
        assert!(!bcrypt::verify("not-the-password", hash).expect("a bcrypt hash"));
    }

    #[test]
    fn the_web_users_are_the_same_users_with_the_same_passwords() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config =
            NatsConfig::generate(&ReferenceFiles::bundled(), "127.0.0.1:4222").expect("generate");
        let (_, _, web_users) = config.write(dir.path()).expect("write");
        let access = crate::web::access::Access::from_file(&web_users, false).expect("read back");
        for (name, scope) in [
            ("RJ1", "RJ1"),
            ("region-Y56", "Y56"),
            (CORPORATE_USER, NATIONAL),
        ] {
            let user = config.user(name).expect("user");
            let token = access
                .sign_in(name, &user.password)
                .unwrap_or_else(|| panic!("{name} signs in with its NATS password"));
            assert_eq!(
                access.user_of(&token).map(|u| u.scope),
                Some(scope.to_owned())
            );
            assert!(access.sign_in(name, "not-the-password").is_none());
        }
        assert!(
            access
                .sign_in(
                    SERVICE_USER,
                    &config.user(SERVICE_USER).expect("service").password
                )
                .is_none(),
            "the service is not a web user"
        );
    }

    #[test]
    fn regenerating_keeps_the_passwords_already_handed_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first =
            NatsConfig::generate(&ReferenceFiles::bundled(), "127.0.0.1:4222").expect("generate");
        let (_, credentials, _) = first.write(dir.path()).expect("write");
        let known = NatsConfig::read_credentials(&credentials).expect("read back");
        assert_eq!(known.len(), first.users.len());
        let again =
            NatsConfig::generate_keeping(&ReferenceFiles::bundled(), "127.0.0.1:4222", &known)
                .expect("regenerate");
        for user in &first.users {
            assert_eq!(
                again.user(&user.name).map(|u| &u.password),
                Some(&user.password),
                "{}",
                user.name
            );
        }
        let fresh =
            NatsConfig::generate(&ReferenceFiles::bundled(), "127.0.0.1:4222").expect("generate");
        assert_ne!(
            fresh.user("RJ1").map(|u| &u.password),
            first.user("RJ1").map(|u| &u.password)
        );
    }
}
