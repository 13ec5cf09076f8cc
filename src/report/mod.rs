//! Report: spend tables built with polars from the fleet. Pure: (fleet, now) → tables/text.

pub mod summary;
