//! A scope's view as a snapshot shows it, under either geography.

use super::*;

impl Projection {
    /// Every scope that has a view: England, `unassigned`, and each region, system and
    /// organisation defined.
    pub fn scopes(&self) -> Vec<String> {
        let mut scopes: Vec<String> = self
            .known_scopes
            .iter()
            .map(|id| self.names.name(*id).to_owned())
            .chain([NATIONAL.to_owned(), UNASSIGNED.to_owned()])
            .collect();
        scopes.sort_unstable();
        scopes.dedup();
        scopes
    }

    /// Whether `scope` names England, `unassigned`, or a region, system or organisation defined
    /// in the log.
    pub fn knows_scope(&self, scope: &str) -> bool {
        scope == NATIONAL
            || scope == UNASSIGNED
            || self
                .names
                .get(scope)
                .is_some_and(|id| self.known_scopes.contains(&id))
    }

    /// The whole view of one scope now, with the chart of each metric and, for an
    /// organisation, its segment.
    pub fn view(&self, scope: &str, mode: GeographyMode) -> View {
        let mut view = self.view_without_charts(scope, mode);
        view.segment = self
            .names
            .get(scope)
            .filter(|id| self.has_segment(*id))
            .map(|id| self.segment(id));
        view.spc = view
            .metrics
            .iter()
            .filter_map(|(name, periods)| {
                let metric = self.names.get(name)?;
                let figures = periods.iter().map(|(p, cell)| (*p, cell.summary.value));
                Some((name.clone(), self.chart(metric, figures)?))
            })
            .collect();
        view
    }

    /// The view of one scope without charts (analytics off).
    pub fn view_without_charts(&self, scope: &str, mode: GeographyMode) -> View {
        let id = self.names.get(scope);
        let mut by_id: BTreeMap<Id, BTreeMap<Period, Cell>> = BTreeMap::new();
        if let Some(id) = id {
            for ((metric, period), cell) in self.cells_of(id, mode).iter() {
                let summary: Summary = cell.sum.summary(cell.kind, self.standard(metric));
                by_id.entry(metric).or_default().insert(
                    period,
                    Cell {
                        summary,
                        organisations: BTreeMap::new(),
                    },
                );
            }
            self.fill_organisations(id, mode, &mut by_id);
        }
        let (mut metrics, mut plans, mut received, mut missing) = (
            BTreeMap::new(),
            BTreeMap::new(),
            BTreeMap::new(),
            BTreeMap::new(),
        );
        for (metric, periods) in by_id {
            let (into, name) = match self.derived.get(&metric) {
                None => (&mut metrics, metric),
                Some((Derived::Plan, base)) => (&mut plans, *base),
                Some((Derived::Received, base)) => (&mut received, *base),
                Some((Derived::Missing, base)) => (&mut missing, *base),
            };
            into.insert(self.names.name(name).to_owned(), periods);
        }
        let last_change = id
            .and_then(|id| self.as_reported.scopes.get(&id))
            .map_or(0, |s| s.last_change_seq);
        let mut view = View {
            scope: scope.to_owned(),
            geography: mode,
            seq: self.seq,
            last_change_seq: match mode {
                GeographyMode::AsReported => last_change,
                // Deltas are published under the geography as reported only.
                GeographyMode::Current => self.seq,
            },
            metrics,
            spc: BTreeMap::new(),
            plans,
            variance: BTreeMap::new(),
            received,
            missing,
            segment: None,
        };
        let planned: Vec<(String, Period)> = view
            .plans
            .iter()
            .flat_map(|(m, periods)| periods.keys().map(move |p| (m.clone(), *p)))
            .collect();
        for (metric, period) in planned {
            view.refresh_variance(&metric, period);
        }
        view
    }

    /// Each cell's organisations, from their own figures.
    pub(super) fn fill_organisations(
        &self,
        scope: Id,
        mode: GeographyMode,
        metrics: &mut BTreeMap<Id, BTreeMap<Period, Cell>>,
    ) {
        let orgs: Vec<Id> = if scope != NATIONAL_ID && self.leaves.contains_key(&scope) {
            vec![scope]
        } else {
            self.leaves.keys().copied().collect()
        };
        for org in orgs {
            let Some(leaves) = self.leaves.get(&org) else {
                continue;
            };
            // An organisation that never moved counts in the same scopes for every period.
            let fixed = (!self.geography.has_moved(org)).then(|| {
                leaves.iter().next().map(|((_, period), _)| {
                    self.geography.scopes(org, period, mode).contains(scope)
                })
            });
            if fixed.flatten() == Some(false) {
                continue;
            }
            for ((metric, period), leaf) in leaves.iter().filter(|(_, l)| !l.sum.is_empty()) {
                if fixed.is_none() && !self.geography.scopes(org, period, mode).contains(scope) {
                    continue;
                }
                if let Some(cell) = metrics
                    .get_mut(&metric)
                    .and_then(|periods| periods.get_mut(&period))
                {
                    cell.organisations
                        .insert(self.names.name(org).to_owned(), leaf.sum.total(leaf.kind));
                }
            }
        }
    }
}
