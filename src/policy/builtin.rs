//! The shipped policies (`policies/*.toml`), compiled into the binary for the built-in demo.

pub const BUILTIN: &[(&str, &str)] = &[
    (
        "stop-expired-ttl.toml",
        include_str!("../../policies/stop-expired-ttl.toml"),
    ),
    (
        "stop-idle-argus-workers.toml",
        include_str!("../../policies/stop-idle-argus-workers.toml"),
    ),
    (
        "stop-idle-podstack-pods.toml",
        include_str!("../../policies/stop-idle-podstack-pods.toml"),
    ),
    (
        "terminate-old-orphans.toml",
        include_str!("../../policies/terminate-old-orphans.toml"),
    ),
];

/// The shipped policies, checked against the built-in provider names.
pub fn load() -> Result<super::PolicySet, Vec<super::Diagnostic>> {
    load_for(&crate::providers::registry::ProviderTypes::builtin())
}

/// The shipped policies, checked against `providers`.
pub fn load_for(
    providers: &crate::providers::registry::ProviderTypes,
) -> Result<super::PolicySet, Vec<super::Diagnostic>> {
    let sources: Vec<_> = BUILTIN
        .iter()
        .map(|(name, text)| {
            (
                std::path::PathBuf::from(format!("<built-in>/{name}")),
                text.to_string(),
            )
        })
        .collect();
    super::load::load_sources_for(&sources, providers)
}
