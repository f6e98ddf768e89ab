//! Missing returns: who is expected for which periods of a collection, and who is due and
//! absent as the log's date passes due dates.

use super::*;

impl Projection {
    /// A return for (organisation, collection, period) is in: the organisation is expected from
    /// its first period on, a period returned for the first time is due for everyone on the
    /// collection, and this return is no longer missing. A revision (`revised`) changes none of
    /// that: the first revision did it.
    pub(super) fn returned(
        &mut self,
        org: Id,
        collection: Id,
        period: Period,
        revised: bool,
        touched: &mut Touched,
    ) {
        if revised {
            return;
        }
        let members = self.on_collection.entry(collection).or_default();
        let earlier_first = match members.get(&org) {
            Some(first) if *first <= period => None,
            Some(first) => Some(Some(*first)),
            None => Some(None),
        };
        if let Some(until) = earlier_first {
            members.insert(org, period);
            // Periods already returned by others are now expected of this organisation too.
            let newly: Vec<Period> = self
                .periods_reported
                .get(&collection)
                .map(|periods| {
                    periods
                        .range(period..)
                        .map(|(p, _)| *p)
                        .take_while(|p| until.is_none_or(|until| *p < until))
                        .collect()
                })
                .unwrap_or_default();
            for p in newly {
                self.refresh_missing(org, collection, p, touched);
            }
        }
        let name = self.names.name(collection);
        let periods = self.periods_reported.entry(collection).or_default();
        if let std::collections::btree_map::Entry::Vacant(entry) = periods.entry(period) {
            // A period first returned after its due date (a backfill, an import of history) is
            // overdue for the others at once; those arriving later in the same load clear it.
            let due = schedule_due_date(&self.schedules, name, period).days_since_epoch();
            entry.insert(due);
            if due >= self.today {
                self.awaiting.insert((due, collection, period));
            }
            // Everyone on the collection is now expected for it (and, past its due date, missing).
            self.refresh_everyone(collection, period, touched);
        }
        self.refresh_missing(org, collection, period, touched);
    }

    /// Periods whose due date the log's date has passed: whoever has not returned is missing.
    pub(super) fn fall_due(&mut self, touched: &mut Touched) {
        while let Some(&(due, collection, period)) = self.awaiting.first() {
            if due >= self.today {
                break;
            }
            self.awaiting.pop_first();
            self.close_window(collection, period, touched);
            self.refresh_everyone(collection, period, touched);
        }
    }

    /// A collection's organisations, in id order so the fold is the same on every replay.
    pub(super) fn members_of(&self, collection: Id) -> Vec<Id> {
        let mut members: Vec<Id> = self
            .on_collection
            .get(&collection)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        members.sort_unstable();
        members
    }

    pub(super) fn refresh_everyone(
        &mut self,
        collection: Id,
        period: Period,
        touched: &mut Touched,
    ) {
        let members = self.members_of(collection);
        for org in members {
            self.refresh_missing(org, collection, period, touched);
        }
    }

    /// Whether an organisation is expected for a period, and its return due and absent, brought
    /// up to date.
    pub(super) fn refresh_missing(
        &mut self,
        org: Id,
        collection: Id,
        period: Period,
        touched: &mut Touched,
    ) {
        let due = self
            .periods_reported
            .get(&collection)
            .and_then(|periods| periods.get(&period));
        let expected = self
            .on_collection
            .get(&collection)
            .and_then(|members| members.get(&org))
            .is_some_and(|first| *first <= period);
        let open = self
            .closed
            .get(&org)
            .is_none_or(|closed| period.first_day() <= *closed);
        let is_expected = due.is_some() && expected && open;
        let should = due.is_some_and(|due| *due < self.today)
            && is_expected
            && !self.returns.contains_key(&(org, collection, period));
        self.count_one(Derived::Missing, org, collection, period, should, touched);
        self.count_one(
            Derived::Expected,
            org,
            collection,
            period,
            is_expected,
            touched,
        );
    }

    /// Counts an organisation once (or not) in a derived count of a collection's period.
    fn count_one(
        &mut self,
        derived: Derived,
        org: Id,
        collection: Id,
        period: Period,
        counted: bool,
        touched: &mut Touched,
    ) {
        let metric = self.derived_of(derived, collection);
        let key = (org, metric, period);
        if counted != self.returns.contains_key(&key) {
            let values = if counted {
                vec![(metric, Value::Count(1))]
            } else {
                Vec::new()
            };
            self.replace_return(key, values, touched);
        }
    }

    /// An organisation's closing date changed: what is expected of it changes with it.
    pub(super) fn reclose(&mut self, org: Id, closed: Option<Date>, touched: &mut Touched) {
        if self.closed.get(&org).copied() == closed {
            return;
        }
        match closed {
            Some(date) => self.closed.insert(org, date),
            None => self.closed.remove(&org),
        };
        let mut due: Vec<(Id, Period)> = Vec::new();
        for (collection, members) in &self.on_collection {
            let Some(first) = members.get(&org) else {
                continue;
            };
            if let Some(periods) = self.periods_reported.get(collection) {
                due.extend(periods.range(*first..).map(|(p, _)| (*collection, *p)));
            }
        }
        due.sort_unstable();
        for (collection, period) in due {
            self.refresh_missing(org, collection, period, touched);
        }
    }
}
