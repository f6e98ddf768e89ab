//! Each return's figures counted in its organisation and every scope it counts in, under both
//! geographies; taking them back when a revision replaces them or the organisation moves.

use super::*;

impl Projection {
    /// Replaces the figures counted for one return (or one period of a plan) with `values`: the
    /// earlier figures are taken back from every scope and the new ones added.
    /// Says whether a revision was there to replace.
    pub(super) fn replace_return(
        &mut self,
        key: ReturnKey,
        values: Vec<(Id, Value)>,
        touched: &mut Touched,
    ) -> bool {
        let (org, collection, period) = key;
        if self.uncounted.is_some() {
            if self.kinds_fixed(&values) {
                return self.replace_uncounted(key, values);
            }
            // Counted now, in order with what came before.
            self.count_uncounted();
        }
        let replaced = self.returns.remove(&key).is_some_and(|old| {
            self.take_from_scopes(key, &old, touched);
            self.leaf(key, &old, Sign::TakeBack);
            true
        });
        if values.is_empty() {
            if let Some(keys) = self.returns_of.get_mut(&org) {
                keys.remove(&(collection, period));
            }
            return replaced;
        }
        self.add_to_scopes(key, &values, touched);
        self.leaf(key, &values, Sign::Add);
        self.returns_of
            .entry(org)
            .or_default()
            .insert((collection, period));
        self.returns.insert(key, values);
        replaced
    }

    /// [`Projection::replace_return`] during a silent run: the return is kept and its figures
    /// are counted at the run's end.
    fn replace_uncounted(&mut self, key: ReturnKey, values: Vec<(Id, Value)>) -> bool {
        use std::collections::hash_map::Entry;
        let (org, collection, period) = key;
        let gone = values.is_empty();
        // Replaced where it is: one look-up of the return, and its organisation's list of
        // returns touched only when one is new or gone.
        let old = if gone {
            let old = self.returns.remove(&key);
            if old.is_some() {
                if let Some(keys) = self.returns_of.get_mut(&org) {
                    keys.remove(&(collection, period));
                }
            }
            old
        } else {
            match self.returns.entry(key) {
                Entry::Occupied(mut held) => Some(std::mem::replace(held.get_mut(), values)),
                Entry::Vacant(slot) => {
                    slot.insert(values);
                    self.returns_of
                        .entry(org)
                        .or_default()
                        .insert((collection, period));
                    None
                }
            }
        };
        let replaced = old.is_some();
        if replaced || !gone {
            self.note_uncounted(key, old);
        }
        replaced
    }

    /// Notes that a return changed during a silent run, with what was counted for it before
    /// the run if this is its first change in it.
    fn note_uncounted(&mut self, key: ReturnKey, old: Option<Vec<(Id, Value)>>) {
        let seq = self.seq;
        if let Some(uncounted) = self.uncounted.as_mut() {
            uncounted
                .returns
                .entry(key)
                .and_modify(|(_, at)| *at = seq)
                .or_insert((old, seq));
        }
    }

    /// Whether the kind each value's totals take is settled by a definition (or by what the
    /// figure is), so counting it later counts it as it would have been counted now.
    fn kinds_fixed(&self, values: &[(Id, Value)]) -> bool {
        values
            .iter()
            .all(|(metric, _)| match self.derived.get(metric) {
                Some((
                    Derived::Received | Derived::Missing | Derived::Expected | Derived::Late,
                    _,
                )) => true,
                Some((Derived::Published, base)) => self.metrics.contains_key(base),
                Some((Derived::Plan | Derived::PublishedReturn, _)) => false,
                None => self.metrics.contains_key(metric),
            })
    }

    /// Counts the returns a silent run replaced: each one's figures before the run are taken
    /// back and its latest added, in its organisation and every scope, under the geography now
    /// (a move counts what came before it first); its scopes changed at the last seq that
    /// replaced it.
    pub(super) fn count_uncounted(&mut self) {
        let Some(uncounted) = self.uncounted.as_mut() else {
            return;
        };
        if uncounted.returns.is_empty() {
            return;
        }
        // In key order, an organisation's returns are counted together, period after period:
        // its figures and its scopes' series are walked in order rather than at random, which
        // is what a run costs when its cells do not fit in the cache.
        let mut returns: Vec<_> = std::mem::take(&mut uncounted.returns).into_iter().collect();
        returns.sort_unstable_by_key(|(key, _)| *key);
        let mut scratch = Touched::with_capacity(TOUCHED_CAPACITY);
        // Counting reads the returns but never changes them: lent out of the state meanwhile,
        // so each is read where it is.
        let held = std::mem::take(&mut self.returns);
        for (key, (old, seq)) in returns {
            let (org, _, period) = key;
            self.leaves.entry(org).or_default();
            for scope in self
                .geography
                .scopes(org, period, GeographyMode::AsReported)
                .iter()
            {
                let state = self.as_reported.scopes.entry(scope).or_default();
                state.last_change_seq = state.last_change_seq.max(seq);
            }
            let new = held.get(&key);
            if old.as_ref() == new {
                continue;
            }
            scratch.clear();
            if let Some(old) = &old {
                self.take_from_scopes(key, old, &mut scratch);
                self.leaf(key, old, Sign::TakeBack);
            }
            if let Some(new) = new {
                self.add_to_scopes(key, new, &mut scratch);
                self.leaf(key, new, Sign::Add);
            }
        }
        self.returns = held;
    }

    /// A reference event that may place an organisation elsewhere: its returns leave the scopes
    /// they counted in and join the new ones, in both geographies.
    pub(super) fn move_organisation(&mut self, event: &Event, touched: &mut Touched) {
        let code = match event {
            Event::OrganisationRegistered(o) => &o.code,
            Event::OrganisationMoved(m) => &m.code,
            _ => return,
        };
        // What was counted under the geography before counts before it changes.
        self.count_uncounted();
        let org = self.names.id(code);
        let keys: Vec<ReturnKey> = self
            .returns_of
            .get(&org)
            .map(|keys| keys.iter().map(|(c, p)| (org, *c, *p)).collect())
            .unwrap_or_default();
        for key in &keys {
            if let Some(values) = self.returns.get(key).cloned() {
                self.take_from_scopes(*key, &values, touched);
            }
        }
        self.geography.apply(event, &mut self.names);
        self.known_scopes.insert(org);
        for key in &keys {
            if let Some(values) = self.returns.get(key).cloned() {
                self.add_to_scopes(*key, &values, touched);
            }
        }
    }

    /// Adds (or takes back) a return's values in the organisation's own figures.
    pub(super) fn leaf(&mut self, (org, _, period): ReturnKey, values: &[(Id, Value)], sign: Sign) {
        let kinds: Vec<ValueKind> = values.iter().map(|(m, v)| self.kind_of(*m, v)).collect();
        let leaves = self.leaves.entry(org).or_default();
        for ((metric, value), kind) in values.iter().zip(kinds) {
            leaves.update((*metric, period), kind, value, sign == Sign::Add);
        }
    }

    /// Adds (or takes back) a return's values in every scope it counts in, under both geographies.
    /// An organisation's own scope is its leaves, so it is not kept again here.
    pub(super) fn contribute(
        &mut self,
        (org, _, period): ReturnKey,
        values: &[(Id, Value)],
        sign: Sign,
        touched: &mut Touched,
    ) {
        let add = sign == Sign::Add;
        let kinds: Vec<ValueKind> = values.iter().map(|(m, v)| self.kind_of(*m, v)).collect();
        let reported = self
            .geography
            .scopes(org, period, GeographyMode::AsReported);
        let apply = |views: &mut Views, scope: Id, add: bool| {
            let state = views.scopes.entry(scope).or_default();
            for ((metric, value), kind) in values.iter().zip(&kinds) {
                state.cells.update((*metric, period), *kind, value, add);
            }
        };
        for scope in reported.iter().filter(|s| *s != org) {
            apply(&mut self.as_reported, scope, add);
        }
        if self.geography.has_moved(org) {
            let current = self.geography.scopes(org, period, GeographyMode::Current);
            for scope in current
                .iter()
                .filter(|s| *s != org && !reported.contains(*s))
            {
                apply(&mut self.current_adjust, scope, add);
            }
            for scope in reported
                .iter()
                .filter(|s| *s != org && !current.contains(*s))
            {
                apply(&mut self.current_adjust, scope, !add);
            }
        }
        for scope in reported.iter() {
            for (metric, _) in values {
                touched.push((scope, *metric, period, org));
            }
        }
    }

    /// Counts a return's values in every scope it counts in, under both geographies.
    pub(super) fn add_to_scopes(
        &mut self,
        key: ReturnKey,
        values: &[(Id, Value)],
        touched: &mut Touched,
    ) {
        self.contribute(key, values, Sign::Add, touched);
    }

    /// Takes a return's values back from every scope it counted in (a revision, or a move).
    pub(super) fn take_from_scopes(
        &mut self,
        key: ReturnKey,
        values: &[(Id, Value)],
        touched: &mut Touched,
    ) {
        self.contribute(key, values, Sign::TakeBack, touched);
    }

    /// A scope's totals under `mode`: an organisation's own figures, or the scope's as-reported
    /// totals with today's corrections added for the current geography.
    pub(super) fn cells_of(&self, scope: Id, mode: GeographyMode) -> Cells {
        let mut cells = if self.geography.is_organisation(scope) {
            self.leaves.get(&scope).cloned().unwrap_or_default()
        } else {
            self.as_reported_with(scope, mode)
        };
        cells.remove_empty();
        cells
    }

    pub(super) fn as_reported_with(&self, scope: Id, mode: GeographyMode) -> Cells {
        let mut cells = self
            .as_reported
            .scopes
            .get(&scope)
            .map(|s| s.cells.clone())
            .unwrap_or_default();
        if mode == GeographyMode::Current {
            if let Some(adjust) = self.current_adjust.scopes.get(&scope) {
                for (key, correction) in adjust.cells.iter() {
                    cells.merge(key, correction.kind, &correction.sum);
                }
            }
        }
        cells
    }

    /// A scope's running totals under the geography as reported: an organisation's own figures,
    /// or the scope's cells.
    pub(super) fn cells_as_reported(&self, scope: Id) -> Option<&Cells> {
        if self.geography.is_organisation(scope) {
            self.leaves.get(&scope)
        } else {
            self.as_reported.scopes.get(&scope).map(|s| &s.cells)
        }
    }
}
