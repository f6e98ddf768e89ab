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
        self.build_view(scope, mode, true, None)
    }

    /// The view of one scope without charts (analytics off).
    pub fn view_without_charts(&self, scope: &str, mode: GeographyMode) -> View {
        self.build_view(scope, mode, false, None)
    }

    /// The view narrowed as `request` asks ([`View::narrow`]), built narrow: the charts are
    /// drawn from the whole series, but only the cells kept list their organisations, which is
    /// most of a large scope's view.
    pub fn view_narrowed(
        &self,
        scope: &str,
        mode: GeographyMode,
        request: &SnapshotRequest,
        charts: bool,
    ) -> View {
        self.build_view(scope, mode, charts, Some(request))
    }

    fn build_view(
        &self,
        scope: &str,
        mode: GeographyMode,
        charts: bool,
        narrow: Option<&SnapshotRequest>,
    ) -> View {
        let id = self.names.get(scope);
        let mut by_id: BTreeMap<Id, BTreeMap<Period, Cell>> = BTreeMap::new();
        let mut spc = BTreeMap::new();
        let mut completeness = BTreeMap::new();
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
            if charts {
                // From the whole series, whatever the view is narrowed to.
                spc = by_id
                    .iter()
                    .filter(|(metric, _)| !self.derived.contains_key(*metric))
                    .filter_map(|(metric, periods)| {
                        let figures = periods.iter().map(|(p, cell)| (*p, cell.summary.value));
                        Some((
                            self.names.name(*metric).to_owned(),
                            self.chart(*metric, figures)?,
                        ))
                    })
                    .collect();
            }
            if let Some(request) = narrow {
                by_id.retain(|metric, periods| {
                    let (named, base) = match self.derived.get(metric) {
                        None => (true, *metric),
                        Some((Derived::Plan | Derived::Published, base)) => (true, *base),
                        // Returns received and missing are by collection, not metric.
                        Some((_, base)) => (false, *base),
                    };
                    if named
                        && !request.metrics.is_empty()
                        && !request
                            .metrics
                            .iter()
                            .any(|wanted| wanted == self.names.name(base))
                    {
                        return false;
                    }
                    keep_periods(periods, request);
                    !periods.is_empty()
                });
            }
            completeness = self.completeness_of(&by_id);
            // The counts behind completeness are not listed by organisation.
            by_id.retain(|metric, _| {
                !matches!(
                    self.derived.get(metric),
                    Some((
                        Derived::Expected | Derived::Late | Derived::PublishedReturn,
                        _
                    ))
                )
            });
            self.fill_organisations(id, mode, &mut by_id);
        }
        let (mut metrics, mut plans, mut received, mut missing, mut published) = (
            BTreeMap::new(),
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
                Some((Derived::Published, base)) => (&mut published, *base),
                Some((Derived::Expected | Derived::Late | Derived::PublishedReturn, _)) => continue,
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
            spc,
            plans,
            variance: BTreeMap::new(),
            received,
            missing,
            published,
            completeness,
            segment: None,
            more_after: None,
            oversight: None,
        };
        let planned: Vec<(String, Period)> = view
            .plans
            .iter()
            .flat_map(|(m, periods)| periods.keys().map(move |p| (m.clone(), *p)))
            .collect();
        for (metric, period) in planned {
            view.refresh_variance(&metric, period);
        }
        if charts {
            view.segment = id
                .filter(|id| self.has_segment(*id))
                .map(|id| self.segment(id));
        }
        if let Some(request) = narrow {
            // The charts' points and anything else outside the request.
            view.narrow(request);
        }
        view
    }

    /// Each collection's completeness by period, from a scope's counts of returns expected, in
    /// and after the close.
    fn completeness_of(
        &self,
        cells: &BTreeMap<Id, BTreeMap<Period, Cell>>,
    ) -> BTreeMap<String, BTreeMap<Period, proto_schema::Completeness>> {
        let windows: BTreeSet<(Id, Period)> = cells
            .iter()
            .filter_map(|(metric, periods)| match self.derived.get(metric) {
                Some((Derived::Expected | Derived::Received, collection)) => {
                    Some(periods.keys().map(move |period| (*collection, *period)))
                }
                _ => None,
            })
            .flatten()
            .collect();
        let mut completeness: BTreeMap<String, BTreeMap<Period, proto_schema::Completeness>> =
            BTreeMap::new();
        for (collection, period) in windows {
            let count = |metric: Id| {
                cells
                    .get(&metric)
                    .and_then(|periods| periods.get(&period))
                    .map_or(0, |cell| windows::count_of(cell.summary.total))
            };
            if let Some(found) = self.completeness_in(count, collection, period) {
                completeness
                    .entry(self.names.name(collection).to_owned())
                    .or_default()
                    .insert(period, found);
            }
        }
        completeness
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
