//! Storage that fails under the writer (a disk filling, a file system turning read-only): the
//! batch it fails on is answered busy and stores nothing, the writer stops instead of answering
//! busy forever, and the log reopened once the storage works again holds every return accepted.

use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use event_log::EventLog;
use ingest::writer::{self, Pending, Work, WriterConfig};
use proto_schema::{Period, Receipt, Return, Value};
use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};
use tokio::sync::mpsc;

/// A file backend whose writes and syncs fail while `failing` is set, as on a full disk.
#[derive(Debug)]
struct FailingBackend {
    inner: FileBackend,
    failing: Arc<AtomicBool>,
}

impl FailingBackend {
    fn check(&self) -> std::io::Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            Err(std::io::Error::from_raw_os_error(28)) // ENOSPC
        } else {
            Ok(())
        }
    }
}

impl StorageBackend for FailingBackend {
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.check()?;
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.check()?;
        self.inner.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.check()?;
        self.inner.write(offset, data)
    }
    fn close(&self) -> std::io::Result<()> {
        self.inner.close()
    }
    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(start, end)
    }
    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }
    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(start, end)
    }
    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(start, end)
    }
    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(start, end)
    }
    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(start, end)
    }
}

fn ret(id: &str, month: u32) -> Work {
    Work::Return(Return {
        submission_id: id.into(),
        org: "RJ1".into(),
        collection: "ae-monthly".into(),
        period: Period::parse(&format!("2024-{month:02}")).expect("period"),
        values: vec![("ae_12hr_dta".into(), Value::Count(1))],
    })
}

#[test]
fn a_failing_disk_stops_the_writer_and_loses_nothing_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("oversight.redb");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .expect("file");
    let failing = Arc::new(AtomicBool::new(false));
    let backend = FailingBackend {
        inner: FileBackend::new(file).expect("backend"),
        failing: Arc::clone(&failing),
    };
    let log = EventLog::open_with_backend(&path, backend).expect("open");
    let (pending, pending_rx) = mpsc::channel(8);
    let (committed_tx, mut committed) = mpsc::unbounded_channel();
    let config = WriterConfig {
        max_batch: 8,
        retry_after_ms: 100,
    };
    let writer = writer::spawn(log, pending_rx, committed_tx, config).expect("writer");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        pending
            .send(Pending {
                work: ret("before", 1),
                reply: 1,
            })
            .await
            .expect("send");
        let first = committed.recv().await.expect("a batch");
        assert!(matches!(
            first.receipts[0].1,
            Receipt::Accepted { seq: 1, .. }
        ));
        assert_eq!(first.storage_failed, None);

        failing.store(true, Ordering::SeqCst);
        pending
            .send(Pending {
                work: ret("while-full", 2),
                reply: 2,
            })
            .await
            .expect("send");
        let failed = committed.recv().await.expect("a batch");
        assert!(matches!(failed.receipts[0].1, Receipt::Busy { .. }));
        assert!(failed.envelopes.is_empty(), "nothing stored");
        let why = failed
            .storage_failed
            .expect("the writer says its storage failed");
        assert!(why.contains("storage"), "{why}");
        let after = tokio::time::timeout(std::time::Duration::from_secs(10), committed.recv())
            .await
            .expect("the writer stopped rather than wait to answer busy forever");
        assert!(after.is_none());
    });
    drop(writer.join().expect("the writer thread ended"));

    // Space freed: the log opens again, with the accepted return and without the refused one.
    failing.store(false, Ordering::SeqCst);
    let reopened = EventLog::open(&path).expect("reopen once the disk allows");
    assert_eq!(reopened.last_seq(), 1);
    let (entries, _) = reopened.reader().read(1, 10).expect("read");
    assert_eq!(entries.len(), 1);
}
