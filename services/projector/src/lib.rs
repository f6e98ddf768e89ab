//! The projection: a pure fold `apply(projection, envelope)` from log entries into one view per
//! scope (England, each region, each system, each organisation, and `unassigned`), under both
//! the geography as reported and today's. No I/O, and it cannot fail: whatever the log holds, the
//! fold goes on. [`Views`] is the one-directional pipeline the runner drives: fold a batch, draw
//! its charts, announce its alerts.

mod alerts;
mod cells;
mod drawing;
pub mod framework;
mod geography;
mod names;
mod pipeline;
mod projection;
pub mod spc;
mod sum;

pub use alerts::{AlertClock, AlertTracker};
pub use drawing::ChartWork;
pub use pipeline::{Analytics, Drawn, Folded, Ready, Views};
pub use projection::Projection;
pub use sum::Sum;
