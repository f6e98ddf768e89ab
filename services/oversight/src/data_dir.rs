//! The data directory's memory of having held a log: a directory that has held one is never
//! seeded afresh, so a log file deleted or emptied by mistake (or on purpose) stops the service
//! instead of being silently replaced by an empty one that then overwrites the views.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Written beside the log once it holds its first entries.
pub const HELD_MARKER: &str = "oversight.log-held";

/// What the data directory says about its log before the log file is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogPresence {
    /// The log file holds bytes: open it (and verify it).
    Present,
    /// Nothing has ever been written here: a new log may be seeded.
    New,
}

/// The log file and the marker and checkpoint that show a log was held.
#[derive(Debug, Clone)]
pub struct DataDir {
    dir: PathBuf,
    log: PathBuf,
    views: PathBuf,
}

impl DataDir {
    pub fn new(dir: &Path, log: &Path, views: &Path) -> DataDir {
        DataDir {
            dir: dir.to_owned(),
            log: log.to_owned(),
            views: views.to_owned(),
        }
    }

    fn marker(&self) -> PathBuf {
        self.dir.join(HELD_MARKER)
    }

    /// Refuses a directory that has held a log whose file is now missing or empty (opening the
    /// log would create it afresh).
    pub fn presence(&self) -> anyhow::Result<LogPresence> {
        let log_bytes = match std::fs::metadata(&self.log) {
            Ok(meta) => Some(meta.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.log.display())),
        };
        if log_bytes.is_some_and(|bytes| bytes > 0) {
            return Ok(LogPresence::Present);
        }
        let state = if log_bytes.is_some() {
            "empty"
        } else {
            "missing"
        };
        self.refuse_if_held(state)?;
        Ok(LogPresence::New)
    }

    /// Refuses to seed a log with no entries in a directory that has held one: the file was
    /// replaced or emptied, and what it held must be restored, not started again.
    pub fn refuse_if_held(&self, state: &str) -> anyhow::Result<()> {
        let evidence = if self.marker().exists() {
            format!("{} is there", self.marker().display())
        } else if std::fs::metadata(&self.views).is_ok_and(|meta| meta.len() > 0) {
            format!("the views' checkpoint {} is there", self.views.display())
        } else {
            return Ok(());
        };
        anyhow::bail!(
            "the event log {} is {state} but this data directory has held a log ({evidence}); \
             a log is never re-seeded: restore the data directory from a backup \
             (README, \"Verifying, backup and restore\"), or, to start a new log on purpose, \
             point --data at an empty directory",
            self.log.display(),
        )
    }

    /// Records that the directory holds a log (idempotent), durably, before anything is served
    /// from it.
    pub fn mark_held(&self, last_seq: u64) -> anyhow::Result<()> {
        let marker = self.marker();
        if marker.exists() {
            return Ok(());
        }
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&marker)?;
            writeln!(
                file,
                "This directory holds an oversight event log (it had {last_seq} entries when this \
                 was written). If oversight.redb is lost, restore the directory from a backup; \
                 the service will not start a new log here."
            )?;
            file.sync_all()?;
            File::open(&self.dir)?.sync_all()
        };
        write().with_context(|| format!("cannot write {}", marker.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> (tempfile::TempDir, DataDir) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = DataDir::new(
            tmp.path(),
            &tmp.path().join("oversight.redb"),
            &tmp.path().join("views.redb"),
        );
        (tmp, data)
    }

    #[test]
    fn a_new_directory_may_be_seeded_once() {
        let (tmp, data) = dir();
        assert_eq!(data.presence().expect("new"), LogPresence::New);
        std::fs::write(tmp.path().join("oversight.redb"), b"log").expect("write");
        data.mark_held(12).expect("mark");
        assert_eq!(data.presence().expect("present"), LogPresence::Present);
    }

    #[test]
    fn a_held_log_that_is_emptied_or_deleted_is_refused() {
        let (tmp, data) = dir();
        let log = tmp.path().join("oversight.redb");
        std::fs::write(&log, b"log").expect("write");
        data.mark_held(12).expect("mark");
        std::fs::write(&log, b"").expect("truncate");
        let emptied = data.presence().expect_err("emptied").to_string();
        assert!(emptied.contains("is empty"), "{emptied}");
        std::fs::remove_file(&log).expect("delete");
        let deleted = data.presence().expect_err("deleted").to_string();
        assert!(deleted.contains("is missing"), "{deleted}");
        assert!(deleted.contains("restore"), "{deleted}");
    }

    #[test]
    fn a_checkpoint_without_a_marker_also_shows_a_log_was_held() {
        let (tmp, data) = dir();
        std::fs::write(tmp.path().join("views.redb"), b"checkpoint").expect("write");
        let refused = data.presence().expect_err("refused").to_string();
        assert!(refused.contains("views' checkpoint"), "{refused}");
    }
}
