//! `oversight bench`: measurements that print figures side by side in one run. Apart from the
//! service's code path: nothing here is used by `serve`, `project` or the clients.

mod intake;
pub mod soak;
mod views;
mod web;

pub use intake::{run, BenchArgs};
pub use views::ViewsBenchArgs;
pub use web::WebBenchArgs;
