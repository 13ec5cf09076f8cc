//! `podwarden test [DIR]`: the policy test cases of a folder (`policies/tests/*.toml`),
//! each evaluated against the policies beside it.

use std::path::PathBuf;

use super::Error;
use crate::exit::Exit;

pub fn test(dir: PathBuf) -> Result<Exit, Error> {
    let set = crate::policy::load_dir(&dir).map_err(crate::pipeline::Error::Policies)?;
    let results = crate::review::cases::run_dir(&dir, &set)?;
    print!("{}", crate::review::cases::render(&results));
    // No case at all is a failure too: an empty test folder proves nothing.
    let passed = !results.is_empty() && results.iter().all(|r| r.passed());
    Ok(if passed { Exit::Success } else { Exit::Usage })
}
