//! The documented exit codes (docs/design.md); scripts and CronJobs depend on them.

/// Process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Exit {
    Success = 0,
    Internal = 1,
    Usage = 2,
    ActionsFailed = 3,
    CircuitBreaker = 4,
    Forbidden = 5,
    RateLimited = 6,
    ProviderIncomplete = 7,
    /// `podwarden audit verify` found an edited, inserted or deleted journal record (or a
    /// command found a record unreadable or the journal's head missing).
    JournalBroken = 8,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit for a provider that could not be read: 2 for a rejected token (a config
    /// problem to fix), 5 for a missing scope, 6 for a rate limit or a wait cut by the run's
    /// deadline, 7 otherwise.
    pub fn for_provider(e: &crate::providers::ProviderError) -> Exit {
        use crate::providers::error::Failure;
        match e.failure() {
            Failure::Unauthorized => Exit::Usage,
            Failure::Forbidden => Exit::Forbidden,
            Failure::RateLimited => Exit::RateLimited,
            Failure::Other => Exit::ProviderIncomplete,
        }
    }
}
