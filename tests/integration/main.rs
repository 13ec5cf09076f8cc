//! podwarden's integration tests: one binary, real HTTP against sandboxes on ephemeral
//! ports, and the real `podwarden` executable for the command line.

mod adversarial;
mod breakers;
mod cli;
mod delivery;
mod evidence;
mod evidence_podstack;
mod guards;
mod nights;
mod policy_cli;
mod policy_rules;
mod providers_http;
mod reads;
mod schedule;
mod support;
mod wire_contract;
