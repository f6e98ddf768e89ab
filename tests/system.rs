//! System tests: the `oversight` binary against a real nats-server on a free loopback port and a
//! real redb file in a temp dir. Needs `nats-server` on PATH or in NATS_SERVER_BIN, and for the
//! Python test `python3` with nats-py; each fails with an install hint when missing.

mod harness;

mod access;
mod backup;
mod bad_input;
mod browser;
mod durability;
mod exit_status;
mod intake;
mod limits;
mod metrics;
mod oversight;
mod python_client;
mod reconcile;
mod refuse;
mod shutdown;
mod soak;
mod storage_faults;
mod tls;
mod verify;
mod views;
mod web;
mod windows;
