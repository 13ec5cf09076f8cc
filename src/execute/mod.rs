//! Act: carry out an approved plan at the providers and keep the audit journal of every step.

pub mod journal;
