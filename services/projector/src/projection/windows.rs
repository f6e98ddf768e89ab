//! Collection windows: each reported period of a collection is open from the day after it ends to
//! its deadline. When the log's date passes the deadline the window closes and the figures then
//! are kept as the published ones; a return after it changes the latest figure only and is
//! counted as after the close.

use proto_schema::{Completeness, CompletenessChange, WindowState};

use super::*;

impl Projection {
    /// Whether the window of `period` of `collection` has closed by the log's date.
    pub(super) fn past_deadline(&self, collection: Id, period: Period) -> bool {
        let due = self
            .periods_reported
            .get(&collection)
            .and_then(|periods| periods.get(&period))
            .copied()
            .unwrap_or_else(|| {
                schedule_due_date(&self.schedules, self.names.name(collection), period)
                    .days_since_epoch()
            });
        due < self.today
    }

    /// The window of `period` of `collection` closes: the latest revision of each return in is
    /// kept as published, and every scope on the collection hears that the window is closed.
    /// The entry that closes it is not yet in, so the view as of the one before is what is
    /// published.
    pub(super) fn close_window(&mut self, collection: Id, period: Period, touched: &mut Touched) {
        self.published_at
            .insert((collection, period), self.seq.saturating_sub(1));
        let members = self.members_of(collection);
        let published_return = self.derived_of(Derived::PublishedReturn, collection);
        let expected = self.derived_of(Derived::Expected, collection);
        for org in members {
            for scope in self
                .geography
                .scopes(org, period, GeographyMode::AsReported)
                .iter()
            {
                touched.push((scope, expected, period, org));
            }
            let Some(values) = self.returns.get(&(org, collection, period)) else {
                continue;
            };
            let returned: Vec<(Id, Value)> = values
                .iter()
                .filter(|(metric, _)| !self.derived.contains_key(metric))
                .copied()
                .collect();
            let published: Vec<(Id, Value)> = returned
                .into_iter()
                .map(|(metric, value)| (self.derived_of(Derived::Published, metric), value))
                .collect();
            self.replace_return((org, published_return, period), published, touched);
        }
    }

    /// A scope's completeness for one collection and period, from its counts in `cells`; `None`
    /// when nobody is expected or in there.
    pub(super) fn completeness_in(
        &self,
        count: impl Fn(Id) -> u32,
        collection: Id,
        period: Period,
    ) -> Option<Completeness> {
        let of = |derived| {
            self.derived_ids
                .get(&(derived, collection))
                .map_or(0, |id| count(*id))
        };
        let (expected, received, after_close) = (
            of(Derived::Expected),
            of(Derived::Received),
            of(Derived::Late),
        );
        if expected == 0 && received == 0 {
            return None;
        }
        let due = *self.periods_reported.get(&collection)?.get(&period)?;
        Some(Completeness {
            expected,
            received,
            after_close,
            state: WindowState::of(expected, received, due < self.today),
            opens: Completeness::opens(period),
            closes: Date::from_days_since_epoch(due),
            published_seq: self.published_at.get(&(collection, period)).copied(),
        })
    }

    /// A scope's completeness now under the geography as reported, as a delta carries it.
    pub(super) fn completeness_change(
        &self,
        scope: Id,
        collection: Id,
        period: Period,
    ) -> CompletenessChange {
        let cells = self.cells_as_reported(scope);
        let count = |metric: Id| {
            cells
                .and_then(|cells| cells.get(metric, period))
                .map_or(0, |cell| count_of(cell.sum.total(cell.kind)))
        };
        CompletenessChange {
            collection: self.names.name(collection).to_owned(),
            period,
            completeness: self.completeness_in(count, collection, period),
        }
    }
}

/// The organisations a count of returns holds.
pub(super) fn count_of(value: Value) -> u32 {
    match value {
        Value::Count(n) => u32::try_from(n).unwrap_or(0),
        _ => 0,
    }
}
