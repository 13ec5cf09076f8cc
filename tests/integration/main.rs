//! podwarden's integration tests: one binary, real HTTP against sandboxes on ephemeral
//! ports, and the real `podwarden` executable for the command line.

mod apply;
mod apply_edge_cases;
mod audit;
mod breakers;
mod broken_inputs;
mod cli;
mod config_diagnostics;
mod cost_cache;
mod delivery;
mod delivery_edge_cases;
mod deploy;
mod evidence;
mod evidence_guards;
mod evidence_podstack;
mod guards;
mod nights;
mod notices;
mod plan_edits;
mod plan_file;
mod policy_cli;
mod policy_rules;
mod providers_http;
mod reads;
mod report;
mod report_sections;
mod schedule;
mod shards;
mod stored_readings;
mod support;
mod wire_contract;
