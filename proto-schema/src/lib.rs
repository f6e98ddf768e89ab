//! Wire and log types of the single performance-oversight backend.
//!
//! Everything another program must agree on lives here: the return a trust or CCG submits, the
//! receipt it gets back, the events and envelopes of the log, and the metric catalogue. Each type
//! has two encodings: postcard (compact, the default) and JSON (for the nats CLI, Python and R),
//! chosen by serde's `is_human_readable`, so one set of types serves both.

mod assessment;
mod calendar;
mod catalogue;
mod checksum;
mod envelope;
mod event;
mod log_read;
mod methodology;
mod numbers;
mod plan;
mod receipt;
mod reference;
mod schedule;
mod submission;
mod text;
mod timestamp;
mod value;
mod view;
mod window;
mod words;

pub use assessment::{scores_moved, Assessed, FinanceApplied, MetricScored, Oversight, ScoreMoved};
pub use calendar::{Date, Period, PeriodError};
pub use catalogue::{collections_v1, data_standard_v1, methodologies_v1, DATA_STANDARD_VERSION};
pub use checksum::crc32;
pub use envelope::{to_postcard, DecodeError, EncodeError, Envelope, SCHEMA_VERSION};
pub use event::{Event, OrganisationMoved, ReturnSubmitted, SegmentDecided};
pub use log_read::{
    LogEntries, LogEvents, LogReadRequest, ReturnReceived, ReturnsPage, ReturnsRequest, RETURNS_MAX,
};
pub use methodology::{
    Band, FinanceAdjustment, Methodology, Quarter, QuarterError, ScoredMetric, ScoringMethod,
    Segmentation, TrustType, TrustTypeSet,
};
pub use numbers::first_inexact_number;
pub use plan::{decode_plan_form, encode_plan_form, Plan, PlanForm, PlanSubmitted, Trajectory};
pub use receipt::{
    Notice, NoticeCode, Reason, ReasonCode, Receipt, MAX_REASONS_LISTED, MAX_REASON_CHARS,
};
pub use reference::{
    Collection, Comparison, Domain, Metric, OrgRole, Organisation, PeriodKind, Polarity, Region,
    ReportedBy, Standard, System,
};
pub use schedule::{
    add_working_days, bank_holidays, default_due_working_days, due_date, due_date_after,
    is_working_day, Schedule, DAILY_DEFAULT, MONTHLY_DEFAULT, SCHEDULES, WEEKLY_DEFAULT,
};
pub use submission::{decode_return_form, encode_return_form, Return, ReturnForm};
pub use text::{check_text, printable, MAX_NAME_CHARS, MAX_RATIONALE_CHARS};
pub use timestamp::Timestamp;
pub use value::{
    Halves, Value, ValueKind, MAX_CASES, MAX_COUNT, MAX_PENCE, MAX_RATIO_PART, MAX_SECONDS,
};
pub use view::{
    headline_of, keep_periods, Alert, AlertKind, Assurance, Cell, Change, ChartPoints, Delta, Gap,
    GeographyMode, PointType, Segment, SegmentDecision, SnapshotRequest, Spc, Summary, Trigger,
    TriggerKind, Variance, View, NATIONAL, UNASSIGNED,
};
pub use window::{Completeness, CompletenessChange, WindowState};
pub use words::{show_headline, show_pence, show_standard, show_variance};

/// The longest submission id a client may choose, in bytes.
pub const MAX_SUBMISSION_ID_BYTES: usize = 64;
