//! The deltas an entry makes: one per scope it touched, each change with the scope's total now.

use super::*;

impl Projection {
    pub(super) fn deltas(&mut self, mut touched: Touched) -> Vec<Delta> {
        touched.sort_unstable();
        touched.dedup();
        let seq = self.seq;
        let mut deltas: Vec<Delta> = Vec::new();
        for (scope, metric, period, org) in touched {
            if deltas.last().map(|d| d.scope.as_str()) != Some(self.names.name(scope)) {
                let state = self.as_reported.scopes.entry(scope).or_default();
                let prev_seq = state.last_change_seq;
                state.last_change_seq = seq;
                deltas.push(Delta::empty(self.names.name(scope), prev_seq, seq));
            }
            if metric == NO_METRIC {
                continue;
            }
            let derived = self.derived.get(&metric).copied();
            if let Some((
                Derived::Received | Derived::Missing | Derived::Expected | Derived::Late,
                collection,
            )) = derived
            {
                let name = self.names.name(collection);
                let Some(delta) = deltas.last_mut() else {
                    continue;
                };
                let listed = delta
                    .completeness
                    .iter()
                    .any(|c| c.period == period && c.collection == name);
                if !listed {
                    let change = self.completeness_change(scope, collection, period);
                    delta.completeness.push(change);
                }
            }
            let mut change = self.change(scope, metric, period, org);
            let Some(delta) = deltas.last_mut() else {
                continue;
            };
            let into = match derived {
                None => &mut delta.changes,
                Some((Derived::Plan, _)) => &mut delta.plans,
                Some((Derived::Received, _)) => &mut delta.received,
                Some((Derived::Missing, _)) => &mut delta.missing,
                Some((Derived::Published, _)) => &mut delta.published,
                // Counts carried in `completeness` only.
                Some((Derived::Expected | Derived::Late | Derived::PublishedReturn, _)) => continue,
            };
            if let Some((_, base)) = derived {
                change.metric = self.names.name(base).to_owned();
            }
            into.push(change);
        }
        deltas
    }

    pub(super) fn change(&self, scope: Id, metric: Id, period: Period, org: Id) -> Change {
        let standard = self.standard(metric);
        let cells = if scope == org {
            self.leaves.get(&org)
        } else {
            self.as_reported.scopes.get(&scope).map(|s| &s.cells)
        };
        let summary = cells
            .and_then(|cells| cells.get(metric, period))
            .filter(|cell| !cell.sum.is_empty())
            .map(|cell| cell.sum.summary(cell.kind, standard));
        let counts_here = self
            .geography
            .scopes(org, period, GeographyMode::AsReported)
            .contains(scope);
        let value = counts_here
            .then(|| self.leaves.get(&org)?.get(metric, period))
            .flatten()
            .filter(|leaf| !leaf.sum.is_empty())
            .map(|leaf| leaf.sum.total(leaf.kind));
        Change {
            metric: self.names.name(metric).to_owned(),
            period,
            organisation: self.names.name(org).to_owned(),
            value,
            summary,
        }
    }
}
