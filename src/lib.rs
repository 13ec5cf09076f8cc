//! podwarden: cost governance for rented GPU pod fleets.
//!
//! Each run is a pipeline: **collect** ([`providers`], [`collect`]) → **evaluate**
//! ([`policy`]) → **guard** and plan ([`plan`]) → act ([`execute`]) → **report** ([`report`])
//! → notify ([`notify`]: one list of channels — finance email and owner notices, run
//! metrics). [`pipeline::run`] is that run as one library function (inputs and a clock in, a
//! typed outcome out), which `podwarden run` and [`schedule`] (the job on a cron schedule in
//! local wall-clock time) call; [`commands`] turns each command's flags into library calls.
//! The review tools ([`review`]: explain, policy test cases, diff) sit above policy and plan and
//! use both; policy never imports plan.
//! The core (evaluation, planning, reports) is pure: it takes data and a clock. What runs
//! remember (sightings, notices, the audit journal, the mail outbox) is in one SQLite file,
//! owned by [`state`].

pub mod cli;
pub mod collect;
pub mod commands;
pub mod config;
pub mod demo;
pub mod duration;
pub mod execute;
pub mod exit;
pub mod fleet;
pub mod money;
pub mod notify;
pub mod owner_only;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod progress;
pub mod providers;
pub mod report;
pub mod review;
pub mod sandbox;
pub mod schedule;
pub mod secret;
pub mod shard;
pub mod snapshot;
pub mod state;
