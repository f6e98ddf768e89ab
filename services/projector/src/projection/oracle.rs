//! Views recomputed from the latest revisions alone, without the incremental bookkeeping: what
//! the tests hold the incremental views to.

use super::*;

impl Projection {
    /// The views recomputed from scratch from the latest revisions and the geography now, without
    /// any incremental bookkeeping: what the incremental views must always equal.
    pub fn recomputed(&self) -> Projection {
        let mut fresh = Projection {
            seq: self.seq,
            names: self.names.clone(),
            geography: self.geography.clone(),
            known_scopes: self.known_scopes.clone(),
            metrics: self.metrics.clone(),
            plans: self.plans.clone(),
            plans_of: self.plans_of.clone(),
            derived: self.derived.clone(),
            derived_ids: self.derived_ids.clone(),
            today: self.today,
            on_collection: self.on_collection.clone(),
            periods_reported: self.periods_reported.clone(),
            awaiting: self.awaiting.clone(),
            published_at: self.published_at.clone(),
            closed: self.closed.clone(),
            finance: self.finance.clone(),
            decisions: self.decisions.clone(),
            schedules: self.schedules.clone(),
            ..Projection::default()
        };
        let mut keys: Vec<&ReturnKey> = self.returns.keys().collect();
        keys.sort();
        for key in keys {
            let values = &self.returns[key];
            fresh.add_to_scopes(*key, values, &mut Touched::new());
            fresh.leaf(*key, values, Sign::Add);
            fresh
                .returns_of
                .entry(key.0)
                .or_default()
                .insert((key.1, key.2));
            fresh.returns.insert(*key, values.clone());
        }
        fresh
    }

    /// Whether two projections hold the same figures in every scope, under both geographies
    /// (the change bookkeeping aside).
    pub fn same_figures(&self, other: &Projection) -> bool {
        if self.names != other.names {
            return false;
        }
        (0..self.names.len()).all(|id| {
            let name = self.names.name(id as Id);
            [GeographyMode::AsReported, GeographyMode::Current]
                .into_iter()
                .all(|mode| {
                    let (mine, theirs) = (
                        self.view_without_charts(name, mode),
                        other.view_without_charts(name, mode),
                    );
                    (
                        mine.metrics,
                        mine.plans,
                        mine.received,
                        mine.missing,
                        mine.published,
                        mine.completeness,
                    ) == (
                        theirs.metrics,
                        theirs.plans,
                        theirs.received,
                        theirs.missing,
                        theirs.published,
                        theirs.completeness,
                    )
                })
        })
    }
}
