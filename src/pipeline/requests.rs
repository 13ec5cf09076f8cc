//! `--print-requests`: the requests a plan would send, exactly as they would be sent, and
//! nothing sent (for `run --apply` and `podwarden apply`).

use tokio::time::Instant;

use super::Error;
use crate::config::{Config, TokenSource};
use crate::execute::apply;
use crate::exit::Exit;
use crate::plan::Plan;
use crate::secret::Secret;

/// `--print-requests`: the requests, exactly as they would be sent, and nothing sent. No
/// token is needed or shown; terminates appear only with `--yes`. For a plan file (`set`:
/// the policies on disk), actions whose claims no fleet can make true under these policies
/// (`rederive::claims`) are listed as refused instead; the rest still has to re-derive
/// against the fleet when applied.
pub fn print_requests(
    cfg: &Config,
    plan: &Plan,
    set: Option<&crate::policy::PolicySet>,
    yes: bool,
) -> Result<Exit, Error> {
    let mut offline = cfg.clone();
    for p in &mut offline.providers {
        p.token = TokenSource::Value(Secret::new("not-used"));
    }
    let providers = crate::collect::providers(&offline, Instant::now())?;
    let names: Vec<&str> = providers.iter().map(|p| p.name()).collect();
    crate::execute::plan_check::check(plan, &names)?;
    let mut held = 0;
    let mut refused = 0;
    for provider in &providers {
        let mine: Vec<_> = plan
            .actions
            .iter()
            .filter(|a| a.provider == provider.name())
            .filter(
                |a| match set.map(|set| crate::execute::rederive::claims(a, set)) {
                    Some(Err(why)) => {
                        println!(
                            "# REFUSED {} {} ({}): not re-derived: {why}\n",
                            a.action, a.target, a.policy
                        );
                        refused += 1;
                        false
                    }
                    _ => true,
                },
            )
            .filter(|a| {
                let send = yes || a.action != crate::providers::OpKind::Terminate;
                held += usize::from(!send);
                send
            })
            .collect();
        let ops = mine
            .iter()
            .map(|a| apply::operation(a, yes))
            .collect::<Vec<_>>();
        for r in provider.requests(&ops) {
            println!("{} {}", r.method, r.url);
            println!("Idempotency-Key: {}", r.idempotency_key);
            if let Some(body) = &r.body {
                println!("{body}");
            }
            let what: Vec<String> = r
                .ops
                .iter()
                .map(|&i| format!("{} ({})", mine[i].id, mine[i].policy))
                .collect();
            println!("# carries {}\n", what.join(", "));
        }
    }
    if held > 0 {
        println!("# {held} terminate(s) held back: add --yes to send them");
    }
    if set.is_some() {
        println!(
            "# These are the plan file's requests as written; `apply` first derives each action \
             again from the policies on disk and the fleet as it is then, and sends only those \
             that do, in the words it derives (reason included)."
        );
    }
    Ok(if refused > 0 {
        Exit::ActionsFailed
    } else {
        Exit::Success
    })
}
