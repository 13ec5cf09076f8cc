//! Shards (`[[shard]]`, one completion of a Kubernetes Indexed Job each) against a sandbox
//! process and a real SMTP server: the environment picks a shard, each shard reads its own
//! providers into its own state file and report folder and sends no finance mail, and
//! `report --merge` builds the report that one run over every provider builds, and sends the
//! one finance mail.

use std::path::Path;
use std::process::Output;

use chrono::Utc;

use crate::delivery::quiet_workspace;
use crate::support::smtp::*;
use crate::support::*;

const SHARDS: &str = "\n[[shard]]\nname = \"eu\"\nproviders = [\"argus\"]\n\n\
    [[shard]]\nname = \"us\"\nproviders = [\"podstack\"]\n";

/// The workspace's podwarden in `dir` with `vars` set (the shard picked by the environment).
fn podwarden_with(dir: &Path, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_podwarden"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("PODWARDEN_CONFIG")
        .env_remove("PODWARDEN_SHARD")
        .env_remove("JOB_COMPLETION_INDEX")
        .env("PODWARDEN_LOG", "warn")
        .env("ARGUS_TOKEN", READER)
        .env("PODSTACK_API_TOKEN", READER);
    for (k, v) in vars {
        command.env(k, v);
    }
    command.output().expect("podwarden runs")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn finance_mails(sink: &SmtpSink) -> usize {
    sink.messages()
        .iter()
        .filter(|m| {
            let mail = mailparse::parse_mail(m).expect("parses");
            header(&mail, "Subject").starts_with("podwarden spend report")
        })
        .count()
}

#[test]
fn shards_run_alone_and_merge_into_the_report_of_one_run_with_one_finance_mail() {
    let Some(python) = python_with_aiosmtpd() else {
        return missing("python3-aiosmtpd");
    };
    let sandbox = SandboxProcess::start(&["--pods", "30"]);
    let port = free_port();
    let dir = quiet_workspace(&sandbox.base, "");
    let base = read(&dir.path().join("podwarden.toml"));
    // The same fleet unsharded, with a state and reports of its own and no mail.
    let whole = base
        .replace("state = \"state/", "state = \"whole-state/")
        .replace("reports = \"reports\"", "reports = \"whole-reports\"");
    std::fs::write(dir.path().join("whole.toml"), whole).expect("whole config");
    std::fs::write(
        dir.path().join("podwarden.toml"),
        format!("{base}{}{SHARDS}", email_section(port)),
    )
    .expect("sharded config");
    let sink = SmtpSink::start(&python, &dir.path().join("received"), port);
    let day = Utc::now().date_naive().to_string();

    let unpicked = podwarden_with(dir.path(), &[], &["run", "-c", "podwarden.toml"]);
    assert_eq!(
        unpicked.status.code(),
        Some(2),
        "{}",
        text(&unpicked.stderr)
    );
    let said = text(&unpicked.stderr);
    assert!(
        said.contains("declares 2 shards (0 eu, 1 us)") && said.contains("JOB_COMPLETION_INDEX"),
        "{said}"
    );

    let eu = podwarden_with(
        dir.path(),
        &[("JOB_COMPLETION_INDEX", "0")],
        &["run", "-c", "podwarden.toml"],
    );
    assert_eq!(eu.status.code(), Some(0), "{}", text(&eu.stderr));
    let us = podwarden_with(
        dir.path(),
        &[("PODWARDEN_SHARD", "us")],
        &["run", "-c", "podwarden.toml"],
    );
    assert_eq!(us.status.code(), Some(0), "{}", text(&us.stderr));
    let all = podwarden_with(dir.path(), &[], &["run", "-c", "whole.toml"]);
    assert_eq!(all.status.code(), Some(0), "{}", text(&all.stderr));
    if Utc::now().date_naive().to_string() != day {
        eprintln!("the UTC day changed during the test: the runs are of two days");
        return;
    }

    // Each shard kept to its providers, its own state file and its own report folder.
    let shard_day = |name: &str| dir.path().join(format!("reports/shards/{name}/{day}"));
    for name in ["eu", "us"] {
        assert!(dir
            .path()
            .join(format!("state/shards/{name}/podwarden.db"))
            .is_file());
        assert!(shard_day(name).join("shard.json").is_file());
    }
    assert!(
        !dir.path().join("state/podwarden.db").exists(),
        "no whole-fleet state"
    );
    let eu_spend = read(&shard_day("eu").join("spend.csv"));
    assert!(eu_spend.contains("argus") && !eu_spend.contains("podstack"));
    let us_spend = read(&shard_day("us").join("spend.csv"));
    assert!(us_spend.contains("podstack") && !us_spend.contains("argus"));
    assert_eq!(finance_mails(&sink), 0, "a shard sends no finance mail");

    let merged = podwarden_with(
        dir.path(),
        &[],
        &["report", "--merge", "-c", "podwarden.toml"],
    );
    assert_eq!(merged.status.code(), Some(0), "{}", text(&merged.stderr));
    assert!(text(&merged.stdout).contains("Merged 2 shard(s): eu, us."));
    assert_eq!(
        finance_mails(&sink),
        1,
        "the merge sends the one finance mail"
    );

    // The merged report is the report of one run over both providers.
    let ours = dir.path().join(format!("reports/{day}"));
    let theirs = dir.path().join(format!("whole-reports/{day}"));
    for file in ["spend.csv", "summary-by-project.csv", "summary.md"] {
        assert_eq!(
            read(&ours.join(file)),
            read(&theirs.join(file)),
            "{file}: the merged report differs from one run's"
        );
    }
}

/// Moves a shard's day folder and its report inputs a day back, as if its run tonight had
/// not finished and yesterday's were its newest; returns yesterday.
fn a_day_earlier(day_folder: &Path) -> chrono::NaiveDate {
    let file = day_folder.join("shard.json");
    let mut inputs: serde_json::Value = serde_json::from_str(&read(&file)).expect("json");
    let now: chrono::DateTime<Utc> = inputs["now"].as_str().expect("now").parse().expect("time");
    let earlier = now - chrono::Duration::days(1);
    inputs["now"] = serde_json::json!(earlier);
    std::fs::write(&file, inputs.to_string()).expect("written");
    let moved = day_folder.with_file_name(earlier.date_naive().to_string());
    std::fs::rename(day_folder, moved).expect("moved");
    earlier.date_naive()
}

/// `report --merge` of the configured shards exits 7 saying `why`.
fn merge_refused(dir: &Path, why: &str) {
    let out = podwarden_with(dir, &[], &["report", "--merge", "-c", "podwarden.toml"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(why), "{}", text(&out.stderr));
}

#[test]
fn merge_refuses_a_stale_shard_and_a_provider_twice_and_a_wrong_index() {
    let sandbox = SandboxProcess::start(&["--pods", "12"]);
    let dir = quiet_workspace(&sandbox.base, SHARDS);
    let day = Utc::now().date_naive().to_string();
    for shard in ["eu", "us"] {
        let out = podwarden_with(
            dir.path(),
            &[("PODWARDEN_SHARD", shard)],
            &["run", "-c", "podwarden.toml"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    if Utc::now().date_naive().to_string() != day {
        eprintln!("the UTC day changed during the test");
        return;
    }
    let wrong = podwarden_with(
        dir.path(),
        &[("JOB_COMPLETION_INDEX", "2")],
        &["plan", "-c", "podwarden.toml"],
    );
    assert_eq!(wrong.status.code(), Some(2));
    assert!(text(&wrong.stderr).contains("set the Job's completions to 2"));

    // A review of a saved fleet reads the sharded file whole; acting from it needs a shard.
    let saved = podwarden_with(
        dir.path(),
        &[("PODWARDEN_SHARD", "eu")],
        &["snapshot", "save", "eu.json", "-c", "podwarden.toml"],
    );
    assert_eq!(saved.status.code(), Some(0), "{}", text(&saved.stderr));
    let review = podwarden_with(
        dir.path(),
        &[],
        &["plan", "--snapshot", "eu.json", "-c", "podwarden.toml"],
    );
    assert_eq!(review.status.code(), Some(0), "{}", text(&review.stderr));
    let act = podwarden_with(
        dir.path(),
        &[],
        &[
            "run",
            "--snapshot",
            "eu.json",
            "--apply",
            "-c",
            "podwarden.toml",
        ],
    );
    assert_eq!(act.status.code(), Some(2), "{}", text(&act.stderr));
    assert!(text(&act.stderr).contains("declares 2 shards"));

    let eu = format!("reports/shards/eu/{day}");
    let us = format!("reports/shards/us/{day}");
    let merge = |dirs: &[&str]| {
        let mut args = vec!["report", "--merge"];
        args.extend(dirs);
        args.extend(["-c", "podwarden.toml"]);
        podwarden_with(dir.path(), &[], &args)
    };
    let twice = merge(&[&eu, &eu]);
    assert_eq!(twice.status.code(), Some(2), "{}", text(&twice.stderr));
    assert!(text(&twice.stderr).contains("shard \"eu\" is given twice"));
    let partial = merge(&[&eu]);
    assert_eq!(partial.status.code(), Some(7), "{}", text(&partial.stderr));
    assert!(text(&partial.stderr).contains("no report of shard(s) us"));

    // A file edited by hand to hold another shard's provider is refused, not merged.
    let us_file = dir.path().join(&us).join("shard.json");
    let original = read(&us_file);
    std::fs::write(&us_file, original.replace("\"podstack\"", "\"argus\"")).expect("written");
    let foreign = merge(&[]);
    assert_eq!(foreign.status.code(), Some(7), "{}", text(&foreign.stderr));
    assert!(
        text(&foreign.stderr).contains("holds provider `argus`, not one of its own"),
        "{}",
        text(&foreign.stderr)
    );
    std::fs::write(&us_file, original).expect("restored");

    // The us shard's newest report is yesterday's: its run tonight did not finish.
    let yesterday = a_day_earlier(&dir.path().join(&us));
    merge_refused(dir.path(), "different days");
    assert!(
        !dir.path().join(format!("reports/{day}")).exists(),
        "no merged report written"
    );

    // Both shards' newest reports are yesterday's: merged only when their folders are named.
    a_day_earlier(&dir.path().join(&eu));
    merge_refused(dir.path(), "not of today");
    let named = merge(&[
        &format!("reports/shards/eu/{yesterday}"),
        &format!("reports/shards/us/{yesterday}"),
    ]);
    assert_eq!(named.status.code(), Some(0), "{}", text(&named.stderr));
    assert!(dir
        .path()
        .join(format!("reports/{yesterday}/summary.md"))
        .is_file());
}
