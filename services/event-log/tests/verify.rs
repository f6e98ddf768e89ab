//! Verifying the whole log: damage anywhere in it, a changed entry whose checksum was made to fit,
//! removed links, and look-ups that disagree with the entries, against a real redb file.

use event_log::{link, verify_file, EventLog, LogError, GENESIS};
use proto_schema::*;
use redb::{ReadableDatabase, ReadableTable};

const LOG: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("log");
const CHAIN: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("chain");
const SUBMISSIONS: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("submissions");
const REVISIONS: redb::TableDefinition<&str, u32> = redb::TableDefinition::new("revisions");

fn ret(org: &str, id: &str, month: u32, revision: u32, count: i64) -> Event {
    Event::ReturnSubmitted(ReturnSubmitted {
        revision,
        ret: Return {
            submission_id: id.into(),
            org: org.into(),
            collection: "ae-monthly".into(),
            period: Period::parse(&format!("{}-{:02}", 2000 + month / 12, month % 12 + 1))
                .expect("period"),
            values: vec![("ae_12hr_dta".into(), Value::Count(count))],
        },
    })
}

/// A log of `n` returns (one month each), in batches of 100, swept into the tables as it goes.
fn log_of(path: &std::path::Path, n: u32) -> EventLog {
    let mut log = EventLog::open(path).expect("open");
    log.index_flush_every(1_000);
    for batch in 0..n.div_ceil(100) {
        log.append_batch(|a| {
            for i in batch * 100..((batch + 1) * 100).min(n) {
                a.append(
                    Timestamp(i64::from(i)),
                    "RJ1",
                    ret("RJ1", &format!("id-{i}"), i, 1, 1),
                )?;
            }
            Ok(())
        })
        .expect("append");
    }
    log
}

fn stored(path: &std::path::Path) -> Vec<Vec<u8>> {
    let db = redb::Database::open(path).expect("open redb");
    let txn = db.begin_read().expect("read");
    let table = txn.open_table(LOG).expect("log");
    table
        .iter()
        .expect("iter")
        .map(|item| item.expect("entry").1.value().to_vec())
        .collect()
}

fn rewrite<K: redb::Key + 'static, V: redb::Value + 'static>(
    path: &std::path::Path,
    table: redb::TableDefinition<K, V>,
    change: impl FnOnce(&mut redb::Table<K, V>),
) {
    let db = redb::Database::open(path).expect("open redb");
    let txn = db.begin_write().expect("write");
    {
        let mut table = txn.open_table(table).expect("table");
        change(&mut table);
    }
    txn.commit().expect("commit");
}

#[test]
fn every_entry_is_linked_to_the_one_before_and_the_head_covers_them_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    let head = log_of(&path, 250).head();
    let expected = stored(&path)
        .iter()
        .fold(GENESIS, |previous, bytes| link(&previous, bytes));
    assert_eq!(head, expected, "each link covers the one before it");
    let reopened = EventLog::open(&path).expect("reopen");
    assert_eq!(reopened.head(), expected);
    assert_eq!(reopened.verified().entries, 250);
    assert_eq!(reopened.verified().lookup_damage, None);
    drop(reopened);
    let verified = verify_file(&path, |_, _| {}).expect("verify");
    assert_eq!(
        (verified.entries, verified.head, verified.unlinked),
        (250, expected, 0)
    );
}

#[test]
fn damage_anywhere_in_a_long_log_stops_it_from_opening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    // Longer than the 10,000 entries once checked at the end only.
    drop(log_of(&path, 12_000));
    rewrite(&path, LOG, |table| {
        let mut bytes = table.get(5).expect("get").expect("entry").value().to_vec();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        table.insert(5, bytes.as_slice()).expect("insert");
    });
    match EventLog::open(&path) {
        Err(LogError::Corrupt { seq: 5, .. }) => {}
        other => panic!("expected entry 5 to be found damaged, got {other:?}"),
    }
    assert!(matches!(
        verify_file(&path, |_, _| {}),
        Err(LogError::Corrupt { seq: 5, .. })
    ));
}

#[test]
fn an_entry_changed_with_its_checksum_made_to_fit_breaks_the_chain_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    let head = log_of(&path, 300).head();
    // Entry 120, resealed with another figure: its own checksum is right.
    let forged = Envelope::seal(
        120,
        Timestamp(119),
        "RJ1".into(),
        ret("RJ1", "id-119", 119, 1, 999),
    )
    .expect("seal")
    .encode()
    .expect("encode");
    rewrite(&path, LOG, |table| {
        table.insert(120, forged.as_slice()).expect("insert");
    });
    match verify_file(&path, |_, _| {}) {
        Err(error @ LogError::ChainBroken { seq: 120 }) => {
            assert!(error.to_string().contains("restore"), "{error}")
        }
        other => panic!("expected the chain to break at 120, got {other:?}"),
    }
    assert!(matches!(
        EventLog::open(&path),
        Err(LogError::ChainBroken { seq: 120 })
    ));

    // Links rewritten from there on to fit the forgery: the log reads as whole, but its head is
    // no longer the one recorded before.
    let entries = stored(&path);
    let mut previous = GENESIS;
    let mut links = Vec::new();
    for bytes in &entries {
        previous = link(&previous, bytes);
        links.push(previous);
    }
    rewrite(&path, CHAIN, |table| {
        for (i, l) in links.iter().enumerate() {
            table.insert(i as u64 + 1, l.as_slice()).expect("insert");
        }
    });
    let verified = verify_file(&path, |_, _| {}).expect("links made to fit");
    assert_ne!(verified.head, head, "the head shows the change");
}

#[test]
fn a_removed_link_is_damage_not_an_old_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    drop(log_of(&path, 50));
    rewrite(&path, CHAIN, |table| {
        table.remove(30).expect("remove");
    });
    assert!(matches!(
        EventLog::open(&path),
        Err(LogError::LinkMissing { seq: 30 })
    ));
}

#[test]
fn a_log_from_before_links_is_linked_once_with_the_same_head() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    let head = log_of(&path, 500).head();
    {
        let db = redb::Database::open(&path).expect("open redb");
        let txn = db.begin_write().expect("write");
        txn.delete_table(CHAIN).expect("drop the links");
        txn.commit().expect("commit");
    }
    let linked = EventLog::open(&path).expect("open");
    assert_eq!(linked.verified().unlinked, 500);
    assert_eq!(linked.head(), head);
    drop(linked);
    let again = EventLog::open(&path).expect("reopen");
    assert_eq!(again.verified().unlinked, 0, "linked once");
    assert_eq!(again.head(), head);
}

#[test]
fn look_ups_that_disagree_with_the_entries_are_found_and_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    drop(log_of(&path, 3_000));
    // As a flipped index page did: one submission forgotten, one revision wrong.
    rewrite(&path, SUBMISSIONS, |table| {
        table.remove("RJ1\u{1f}id-7").expect("remove");
    });
    rewrite(&path, REVISIONS, |table| {
        table
            .insert("RJ1\u{1f}ae-monthly\u{1f}2000-10", 5)
            .expect("insert");
    });
    let mut log = EventLog::open(&path).expect("open");
    let damage = log.verified().lookup_damage.clone().expect("found");
    assert!(damage.contains("entry 8"), "{damage}");
    let period = Period::parse("2000-10").expect("period");
    let (seq, latest) = log
        .append_batch(|a| {
            Ok((
                a.submission_seq("RJ1", "id-7")?,
                a.latest_revision("RJ1", "ae-monthly", period)?,
            ))
        })
        .expect("look-ups")
        .0;
    assert_eq!(
        seq,
        Some(8),
        "a resend is recognised as the return at seq 8"
    );
    assert_eq!(latest, 1, "the next revision of 2000-10 is 2, not 6");
    drop(log);
    let again = EventLog::open(&path).expect("reopen");
    assert_eq!(again.verified().lookup_damage, None, "rebuilt for good");
    drop(again);

    // A revision alone that claims more than the log holds is found too.
    rewrite(&path, REVISIONS, |table| {
        table
            .insert("RJ1\u{1f}ae-monthly\u{1f}2001-03", 4)
            .expect("insert");
    });
    let log = EventLog::open(&path).expect("open");
    let damage = log.verified().lookup_damage.clone().expect("found");
    assert!(damage.contains("revision index"), "{damage}");
}
