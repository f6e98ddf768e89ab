//! The projection: a pure fold `apply(projection, envelope)` from log entries into one view per
//! scope (England, each region, each system, each organisation, and `unassigned`), under both
//! the geography as reported and today's. No I/O, and it cannot fail: whatever the log holds, the
//! fold goes on.

mod cells;
mod drawing;
mod geography;
mod names;
mod projection;
pub mod spc;
mod sum;

pub use drawing::ChartWork;
pub use projection::{AlertClock, Projection};
pub use sum::Sum;
