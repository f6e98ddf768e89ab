//! The bounded form of `oversight bench soak` (the long run is an hour): a steady load with a
//! live consumer and as-of readers, reporting every interval.

use oversight::bench::soak::{self, SoakArgs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_reports_each_interval_with_every_part_at_work() {
    let intervals = soak::run(SoakArgs {
        seconds: 6,
        rate: 200,
        report_every: 2,
        as_of_readers: 1,
    })
    .await
    .expect("the soak runs");
    assert!(intervals.len() >= 2, "{intervals:?}");
    let last = intervals.last().expect("an interval");
    assert!(last.accepted > 0, "{intervals:?}");
    assert!(
        last.deltas > 0,
        "the live consumer followed deltas: {intervals:?}"
    );
    assert!(
        last.as_of_answered > 0,
        "as-of snapshots were answered: {intervals:?}"
    );
    assert!(last.resident_mb > 0.0);
    assert!(
        intervals.windows(2).all(|w| w[0].accepted <= w[1].accepted),
        "{intervals:?}"
    );
}
