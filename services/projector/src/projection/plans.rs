//! Plans in force: for each organisation and period, per metric, the plan recorded last among
//! those that plan it.

use proto_schema::Plan;

use super::*;

impl Projection {
    /// A plan's latest revision replaces its round whole; every period it plans or planned is
    /// brought up to date with the plan now in force there.
    pub(super) fn plan_submitted(&mut self, plan: &Plan, touched: &mut Touched) {
        let org = self.names.id(&plan.org);
        let name = self.names.id(&plan.plan);
        let mut figures = Vec::new();
        for (metric, points) in &plan.trajectories {
            let planned = self.derived_id(Derived::Plan, metric);
            figures.extend(points.iter().map(|(p, v)| (planned, *p, *v)));
        }
        let mut periods: BTreeSet<Period> = figures.iter().map(|(_, p, _)| *p).collect();
        if let Some((_, old)) = self.plans.insert((org, name), (self.seq, figures)) {
            periods.extend(old.iter().map(|(_, p, _)| *p));
        }
        let of = self.plans_of.entry(org).or_default();
        if !of.contains(&name) {
            of.push(name);
        }
        for period in periods {
            let values = self.plan_in_force(org, period);
            self.replace_return((org, PLAN_COLLECTION_ID, period), values, touched);
        }
    }

    /// An organisation's planned figures for one period: for each metric, from the plan recorded
    /// last among those that plan it, so overlapping planning rounds never add up.
    pub(super) fn plan_in_force(&self, org: Id, period: Period) -> Vec<(Id, Value)> {
        let mut best: BTreeMap<Id, (u64, Value)> = BTreeMap::new();
        for name in self.plans_of.get(&org).into_iter().flatten() {
            let Some((seq, figures)) = self.plans.get(&(org, *name)) else {
                continue;
            };
            for (metric, _, value) in figures.iter().filter(|(_, p, _)| *p == period) {
                if best.get(metric).is_none_or(|(held, _)| held < seq) {
                    best.insert(*metric, (*seq, *value));
                }
            }
        }
        best.into_iter().map(|(m, (_, v))| (m, v)).collect()
    }
}
