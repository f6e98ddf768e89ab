//! The log against a real redb file in a temp dir.

use event_log::{EventLog, LogError};
use proto_schema::*;
use redb::{ReadableDatabase, ReadableTable};

fn ret(id: &str, period: &str) -> Event {
    Event::ReturnSubmitted(ReturnSubmitted {
        revision: 1,
        ret: Return {
            submission_id: id.into(),
            org: "RJ1".into(),
            collection: "ae-monthly".into(),
            period: Period::parse(period).expect("period"),
            values: vec![("ae_12hr_dta".into(), Value::Count(1))],
        },
    })
}

fn region() -> Event {
    Event::RegionDefined(Region {
        code: "Y56".into(),
        name: "London".into(),
    })
}

#[test]
fn seqs_are_dense_from_one_and_survive_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    {
        let mut log = EventLog::open(&path).expect("open");
        assert_eq!(log.last_seq(), 0);
        let (_, appended) = log
            .append_batch(|a| {
                a.append(Timestamp(1), "seed", region())?;
                a.append(Timestamp(2), "RJ1", ret("a", "2019-01"))?;
                Ok(())
            })
            .expect("append");
        assert_eq!(
            appended.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }
    let mut log = EventLog::open(&path).expect("reopen");
    assert_eq!(log.last_seq(), 2);
    let (_, appended) = log
        .append_batch(|a| {
            a.append(Timestamp(3), "RJ1", ret("b", "2019-02"))
                .map(|_| ())
        })
        .expect("append");
    assert_eq!(appended[0].seq, 3);
    let (entries, last) = log.reader().read(1, 10).expect("read");
    assert_eq!(last, 3);
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(entries[1].event, ret("a", "2019-01"));
    let (tail, _) = log.reader().read(3, 10).expect("read");
    assert_eq!(tail.len(), 1);
    let refs = log.reader().reference_events().expect("reference");
    assert_eq!(refs.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1]);
}

#[test]
fn a_failed_batch_keeps_nothing_and_reuses_no_seq() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = EventLog::open(&dir.path().join("log.redb")).expect("open");
    let failed = log.append_batch(|a| -> Result<(), LogError> {
        a.append(Timestamp(1), "RJ1", ret("a", "2019-01"))?;
        Err(LogError::NotDense {
            last_seq: 0,
            count: 0,
        })
    });
    assert!(failed.is_err());
    assert_eq!(log.last_seq(), 0);
    let (found, appended) = log
        .append_batch(|a| a.submission_seq("RJ1", "a"))
        .expect("look-up");
    assert_eq!(found, None, "the aborted append left an index entry");
    assert!(appended.is_empty());
    let (_, appended) = log
        .append_batch(|a| {
            a.append(Timestamp(2), "RJ1", ret("b", "2019-01"))
                .map(|_| ())
        })
        .expect("append");
    assert_eq!(appended[0].seq, 1);
}

#[test]
fn look_ups_see_the_batch_own_appends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = EventLog::open(&dir.path().join("log.redb")).expect("open");
    let period = Period::parse("2019-01").expect("period");
    let ((seq, revision), _) = log
        .append_batch(|a| {
            a.append(Timestamp(1), "RJ1", ret("a", "2019-01"))?;
            Ok((
                a.submission_seq("RJ1", "a")?,
                a.latest_revision("RJ1", "ae-monthly", period)?,
            ))
        })
        .expect("append");
    assert_eq!((seq, revision), (Some(1), 1));
    let (other, _) = log
        .append_batch(|a| a.submission_seq("RX1", "a"))
        .expect("look-up");
    assert_eq!(other, None, "submission ids are scoped by organisation");
}

/// Appends RJ1's A&E return `id` for `period` as the next revision the log knows of.
fn append_revision(
    a: &mut event_log::Appender<'_>,
    id: &str,
    period: Period,
) -> Result<(), LogError> {
    let revision = a.latest_revision("RJ1", "ae-monthly", period)? + 1;
    let mut event = ret(id, &period.to_string());
    if let Event::ReturnSubmitted(s) = &mut event {
        s.revision = revision;
    }
    a.append(Timestamp(1), "RJ1", event)?;
    Ok(())
}

/// The look-ups survive every combination of sweeps and reopenings: held in memory, swept into
/// the tables, replayed from the log after a reopen.
#[test]
fn look_ups_survive_sweeps_and_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    let period = |n: u32| Period::parse(&format!("2019-{:02}", n % 12 + 1)).expect("period");
    let mut expected = Vec::new();
    for round in 0..6u32 {
        let mut log = EventLog::open(&path).expect("open");
        log.index_flush_every(7);
        for batch in 0..3u32 {
            let ((), appended) = log
                .append_batch(|a| {
                    for n in 0..3u32 {
                        append_revision(a, &format!("r{round}-b{batch}-{n}"), period(n))?;
                    }
                    Ok(())
                })
                .expect("append");
            for envelope in appended {
                if let Event::ReturnSubmitted(s) = envelope.event {
                    expected.push((s.ret.submission_id, envelope.seq, s.ret.period, s.revision));
                }
            }
        }
        assert!(
            log.recent_lookups() < 7 + 6,
            "held look-ups are swept ({})",
            log.recent_lookups()
        );
    }
    let mut log = EventLog::open(&path).expect("reopen");
    let ((), _) = log
        .append_batch(|a| {
            for (id, seq, _, _) in &expected {
                assert_eq!(a.submission_seq("RJ1", id)?, Some(*seq), "{id}");
            }
            for n in 0..3 {
                let latest = expected
                    .iter()
                    .filter(|e| e.2 == period(n))
                    .map(|e| e.3)
                    .max();
                assert_eq!(
                    Some(a.latest_revision("RJ1", "ae-monthly", period(n))?),
                    latest
                );
                // And where that revision is stored, swept or not.
                let latest_seq = expected
                    .iter()
                    .filter(|e| e.2 == period(n))
                    .max_by_key(|e| e.3)
                    .map(|e| e.1);
                assert_eq!(
                    a.latest_revision_at("RJ1", "ae-monthly", period(n))?
                        .and_then(|r| r.seq),
                    latest_seq
                );
            }
            Ok(())
        })
        .expect("look-ups");
    assert_eq!(expected.len(), 6 * 3 * 3);
    assert_eq!(
        expected
            .iter()
            .filter(|e| e.2 == period(0))
            .map(|e| e.3)
            .max(),
        Some(18)
    );
}

/// A sweep written a slice per batch and cut short by reopening, again and again: every look-up
/// still answers, from memory or the tables, with the latest revision.
#[test]
fn sweeps_cut_short_by_reopening_lose_no_look_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    let period = |n: u32| Period::parse(&format!("2019-{:02}", n % 2 + 1)).expect("period");
    let mut latest: std::collections::BTreeMap<String, u32> = Default::default();
    let mut accepted: Vec<(String, u64)> = Vec::new();
    let mut n = 0u32;
    let mut held_most = 0;
    for round in 0..8u32 {
        let mut log = EventLog::open(&path).expect("open");
        // A sweep of a dozen look-ups at five a batch spans three batches.
        log.index_flush_every(12);
        log.sweep_slice(1);
        for _ in 0..(2 + round % 5) {
            let id = format!("s{n}");
            let p = period(n);
            let ((), appended) = log
                .append_batch(|a| append_revision(a, &id, p))
                .expect("append");
            for envelope in appended {
                if let Event::ReturnSubmitted(s) = envelope.event {
                    let count = latest.entry(p.to_string()).or_default();
                    *count += 1;
                    assert_eq!(
                        s.revision, *count,
                        "each return revises the last one of {p}"
                    );
                    accepted.push((s.ret.submission_id, envelope.seq));
                }
            }
            held_most = held_most.max(log.recent_lookups());
            n += 1;
        }
    }
    // Unswept, every submission would be held: more than 30.
    assert!(held_most <= 24, "sweeps keep up ({held_most} held at most)");
    let mut log = EventLog::open(&path).expect("reopen");
    let ((), _) = log
        .append_batch(|a| {
            for (id, seq) in &accepted {
                assert_eq!(a.submission_seq("RJ1", id)?, Some(*seq), "{id}");
            }
            for n in 0..2 {
                let p = period(n);
                assert_eq!(
                    Some(a.latest_revision("RJ1", "ae-monthly", p)?),
                    latest.get(&p.to_string()).copied(),
                    "{p}"
                );
            }
            Ok(())
        })
        .expect("look-ups");
    assert_eq!(accepted.len(), n as usize);
    assert!(latest.values().all(|r| *r > 1), "periods were revised");
}

#[test]
fn a_batch_hands_back_the_very_bytes_it_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    let appended = {
        let mut log = EventLog::open(&path).expect("open");
        let (_, appended) = log
            .append_batch_encoded(|a| {
                a.append(Timestamp(1), "seed", region())?;
                for (i, period) in ["2019-01", "2019-02", "2019-03"].into_iter().enumerate() {
                    a.append(Timestamp(2 + i as i64), "RJ1", ret(period, period))?;
                }
                Ok(())
            })
            .expect("append");
        appended
    };
    assert_eq!(appended.envelopes.len(), 4);
    assert_eq!(appended.encoded.len(), 4);
    const LOG: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("log");
    let db = redb::Database::open(&path).expect("open redb");
    let txn = db.begin_read().expect("read");
    let table = txn.open_table(LOG).expect("log table");
    for (envelope, bytes) in appended.envelopes.iter().zip(&appended.encoded) {
        let stored = table.get(envelope.seq).expect("get").expect("entry");
        assert_eq!(stored.value(), bytes.as_slice(), "seq {}", envelope.seq);
        assert_eq!(&Envelope::decode(bytes).expect("decodes"), envelope);
    }
}

/// Rewrites the stored bytes of entry `seq` with `damage`, as a bad disk or a newer build would.
fn tamper(path: &std::path::Path, seq: u64, damage: impl FnOnce(&mut Vec<u8>)) {
    const LOG: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("log");
    let db = redb::Database::open(path).expect("open redb");
    let txn = db.begin_write().expect("write");
    {
        let mut table = txn.open_table(LOG).expect("log table");
        let mut bytes = table
            .get(seq)
            .expect("get")
            .expect("entry")
            .value()
            .to_vec();
        damage(&mut bytes);
        table.insert(seq, bytes.as_slice()).expect("insert");
    }
    txn.commit().expect("commit");
}

fn log_of_three(path: &std::path::Path) {
    let mut log = EventLog::open(path).expect("open");
    log.append_batch(|a| {
        a.append(Timestamp(1), "seed", region())?;
        a.append(Timestamp(2), "RJ1", ret("a", "2019-01"))?;
        a.append(Timestamp(3), "RJ1", ret("b", "2019-02"))?;
        Ok(())
    })
    .expect("append");
}

#[test]
fn a_damaged_entry_stops_the_log_from_opening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    log_of_three(&path);
    tamper(&path, 2, |bytes| {
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
    });
    match EventLog::open(&path) {
        Err(LogError::Corrupt { seq: 2, .. }) => {}
        other => panic!("expected entry 2 to be found damaged, got {other:?}"),
    }
}

#[test]
fn a_log_from_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    log_of_three(&path);
    // The schema version is the first field, a one-byte varint for small versions.
    tamper(&path, 3, |bytes| bytes[0] = (SCHEMA_VERSION + 1) as u8);
    match EventLog::open(&path) {
        Err(error @ LogError::NewerSchema { seq: 3, .. }) => {
            assert!(error.to_string().contains("newer version"), "{error}")
        }
        other => panic!("expected a newer schema at entry 3, got {other:?}"),
    }
}

fn return_of(org: &str, id: &str, period: &str, revision: u32) -> Event {
    Event::ReturnSubmitted(ReturnSubmitted {
        revision,
        ret: Return {
            submission_id: id.into(),
            org: org.into(),
            collection: "ae-monthly".into(),
            period: Period::parse(period).expect("period"),
            values: vec![("ae_12hr_dta".into(), Value::Count(i64::from(revision)))],
        },
    })
}

#[test]
fn an_organisations_returns_are_listed_newest_first_whether_swept_or_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    let mut log = EventLog::open(&path).expect("open");
    // Small sweeps, a slice at a time: some look-ups reach the tables, some are still in memory.
    log.index_flush_every(6);
    log.sweep_slice(1);
    let mut expected = Vec::new();
    for month in 1..=12u32 {
        let period = format!("2024-{month:02}");
        let revisions = if month % 4 == 0 { 2 } else { 1 };
        for revision in 1..=revisions {
            let (_, appended) = log
                .append_batch(|a| {
                    a.append(
                        Timestamp(i64::from(month)),
                        "RJ1",
                        return_of(
                            "RJ1",
                            &format!("RJ1-{period}-v{revision}"),
                            &period,
                            revision,
                        ),
                    )?;
                    // Another trust, and one whose code starts with the first's.
                    a.append(
                        Timestamp(0),
                        "RJ12",
                        return_of("RJ12", &format!("RJ12-{period}"), &period, 1),
                    )?;
                    a.append(
                        Timestamp(0),
                        "RJ2",
                        return_of("RJ2", &format!("RJ2-{period}"), &period, 1),
                    )?;
                    Ok(())
                })
                .expect("append");
            expected.push((appended[0].seq, revision == revisions));
        }
    }
    assert!(log.recent_lookups() > 0, "some look-ups are still unswept");
    expected.reverse();

    let reader = log.reader();
    let all = reader.returns_of("RJ1", None, 100).expect("returns");
    assert_eq!(all.last_seq, log.last_seq());
    assert!(!all.more);
    let got: Vec<(u64, bool)> = all
        .returns
        .iter()
        .map(|r| (r.envelope.seq, r.in_force))
        .collect();
    assert_eq!(got, expected);
    for r in &all.returns {
        assert_eq!(r.envelope.sender, "RJ1");
    }

    // Pages of five follow on from each other and end.
    let first = reader.returns_of("RJ1", None, 5).expect("page 1");
    assert!(first.more);
    let last_seq_of_first = first.returns.last().expect("five").envelope.seq;
    let second = reader
        .returns_of("RJ1", Some(last_seq_of_first), 5)
        .expect("page 2");
    let paged: Vec<u64> = first
        .returns
        .iter()
        .chain(&second.returns)
        .map(|r| r.envelope.seq)
        .collect();
    assert_eq!(
        paged,
        expected.iter().take(10).map(|e| e.0).collect::<Vec<_>>()
    );

    // A revision sent later takes the one in force away from the one before, swept or not.
    log.append_batch(|a| {
        a.append(
            Timestamp(99),
            "RJ1",
            return_of("RJ1", "RJ1-2024-01-v2", "2024-01", 2),
        )
        .map(|_| ())
    })
    .expect("append");
    let after = reader.returns_of("RJ1", None, 100).expect("returns");
    let january: Vec<(u32, bool)> = after
        .returns
        .iter()
        .filter_map(|r| match &r.envelope.event {
            Event::ReturnSubmitted(s) if s.ret.period == Period::parse("2024-01").expect("p") => {
                Some((s.revision, r.in_force))
            }
            _ => None,
        })
        .collect();
    assert_eq!(january, [(2, true), (1, false)]);
    assert!(reader
        .returns_of("R99", None, 100)
        .expect("none")
        .returns
        .is_empty());
}
