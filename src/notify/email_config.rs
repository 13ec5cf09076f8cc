//! `[email]` in podwarden.toml: the SMTP server, how to reach it, who gets which mail.
//!
//! ```toml
//! [email]
//! host = "smtp.example.com"
//! tls = "starttls"                 # "starttls" (default port 587) | "implicit" (465) | "none" (25)
//! username = "podwarden"
//! password_env = "SMTP_PASSWORD"   # or password_file = "/var/run/secrets/smtp/password"
//! from = "podwarden <podwarden@example.com>"
//! timeout = "60s"                  # bounds each whole send (connect, TLS, auth, data)
//! max_attachment_bytes = 5000000    # the finance mail's attachments in all (default 5 MB)
//! [email.finance]
//! to = ["finance@example.com"]
//! cc = ["platform@example.com"]
//! [email.owners]                   # notices go to each pod's owner
//! cc = ["platform@example.com"]
//! domain = "example.com"           # owners named without a domain: maria.k@example.com
//! ```
//!
//! Decisions: `tls = "none"` is refused unless the host is loopback (`localhost`, 127.0.0.0/8,
//! `::1`): plain SMTP elsewhere would send the password and the report in clear. The password
//! is never inline (an inline `password` is an error that says where to put it) and is read
//! when a mail is sent, so commands that send nothing need no secret; like provider tokens it
//! is a [`Secret`] and never logged.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use serde::Deserialize;

use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    Starttls,
    Implicit,
    None,
}

impl TlsMode {
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::Starttls => 587,
            TlsMode::Implicit => 465,
            TlsMode::None => 25,
        }
    }
}

/// `to` / `cc` of one kind of mail.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientsToml {
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    /// Owners only: the mail domain of owners named without one (`maria.k` →
    /// `maria.k@DOMAIN`); owners that are already addresses are used as they are.
    pub domain: Option<String>,
}

/// `[email]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailToml {
    pub host: String,
    pub port: Option<u16>,
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    /// Only to refuse it with a helpful message: passwords are never written inline.
    pub password: Option<toml::Value>,
    pub from: String,
    #[serde(default = "default_timeout")]
    pub timeout: String,
    /// The finance mail's attachments in all, in bytes (default [`DEFAULT_MAX_ATTACHMENT_BYTES`]).
    pub max_attachment_bytes: Option<u64>,
    #[serde(default)]
    pub finance: RecipientsToml,
    #[serde(default)]
    pub owners: RecipientsToml,
}

/// What the finance mail attaches in all by default: 5 MB (mail servers commonly refuse
/// messages over 10–25 MB, and base64 adds a third).
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 5_000_000;

fn default_tls() -> TlsMode {
    TlsMode::Starttls
}
fn default_timeout() -> String {
    "60s".into()
}

/// Where the SMTP password comes from.
#[derive(Debug, Clone)]
pub enum PasswordSource {
    Env(String),
    File(PathBuf),
    Value(Secret),
}

/// Recipients of one kind of mail, checked.
#[derive(Debug, Clone, Default)]
pub struct Recipients {
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
}

/// `[email]`, checked.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password: Option<PasswordSource>,
    pub from: Mailbox,
    pub timeout: Duration,
    /// `max_attachment_bytes`: what the finance mail attaches in all, at most.
    pub max_attachment_bytes: u64,
    pub finance: Recipients,
    pub owners: Recipients,
    /// `[email.owners] domain`.
    pub owner_domain: Option<String>,
}

/// Whether `host` names this machine's loopback interface.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn mailboxes(key: &str, list: &[String]) -> Result<Vec<Mailbox>, String> {
    list.iter()
        .map(|a| {
            a.parse::<Mailbox>()
                .map_err(|e| format!("[email] {key}: {a:?} is not a mail address ({e})"))
        })
        .collect()
}

impl EmailToml {
    /// Checks the section; relative `password_file` paths are resolved with `resolve`.
    pub fn check(&self, resolve: &dyn Fn(&Path) -> PathBuf) -> Result<EmailConfig, String> {
        if self.password.is_some() {
            return Err(
                "[email] password: never write the SMTP password inline; use \
                        password_env = \"VAR\" or password_file = \"path\" (a mounted secret)"
                    .into(),
            );
        }
        if self.host.trim().is_empty() {
            return Err("[email] host is empty".into());
        }
        if self.tls == TlsMode::None && !is_loopback(&self.host) {
            return Err(format!(
                "[email] tls = \"none\" is only allowed to a loopback host (localhost, 127.0.0.1), \
                 not {:?}: use \"starttls\" or \"implicit\"",
                self.host
            ));
        }
        let password = match (&self.password_env, &self.password_file) {
            (Some(var), None) => Some(PasswordSource::Env(var.clone())),
            (None, Some(file)) => Some(PasswordSource::File(resolve(file))),
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err("[email]: set password_env or password_file, not both".into())
            }
        };
        if password.is_some() != self.username.is_some() {
            return Err(
                "[email]: username and a password (password_env / password_file) go together"
                    .into(),
            );
        }
        let from = self
            .from
            .parse::<Mailbox>()
            .map_err(|e| format!("[email] from: {:?} is not a mail address ({e})", self.from))?;
        let timeout = crate::duration::parse(&self.timeout)
            .and_then(|d| d.to_std().map_err(|_| "negative duration".to_string()))
            .map_err(|e| format!("[email] timeout: {e}"))?;
        Ok(EmailConfig {
            host: self.host.trim().to_string(),
            port: self.port.unwrap_or(self.tls.default_port()),
            tls: self.tls,
            username: self.username.clone(),
            password,
            from,
            timeout,
            max_attachment_bytes: self
                .max_attachment_bytes
                .unwrap_or(DEFAULT_MAX_ATTACHMENT_BYTES),
            finance: Recipients {
                to: mailboxes("finance.to", &self.finance.to)?,
                cc: mailboxes("finance.cc", &self.finance.cc)?,
            },
            owners: Recipients {
                to: mailboxes("owners.to", &self.owners.to)?,
                cc: mailboxes("owners.cc", &self.owners.cc)?,
            },
            owner_domain: self.owners.domain.clone(),
        })
    }
}

impl EmailConfig {
    /// What is legal but will not do what a reader of the section expects (`validate
    /// --config` prints these; the run does what the section says).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.owner_domain.is_none() {
            out.push(
                "[email.owners] has no domain: owner notices reach only owners whose name is a \
                 full address (maria.k@example.com); a pod owned by `maria.k` gets none, and its \
                 notice is not copied to [email.owners] cc either. Set domain = \"example.com\" \
                 to mail owners named without one"
                    .to_string(),
            );
        }
        if self.finance.to.is_empty() {
            out.push("[email.finance] has no to: the finance mail is not sent".to_string());
        }
        out
    }

    /// Reads the password (when one is configured) from its variable or file.
    pub fn password(&self) -> Result<Option<Secret>, String> {
        match &self.password {
            None => Ok(None),
            Some(PasswordSource::Value(s)) => Ok(Some(s.clone())),
            Some(PasswordSource::Env(var)) => std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .map(|v| Some(Secret::new(v.trim_end_matches(['\r', '\n']))))
                .ok_or_else(|| format!("[email] password_env: {var} is not set")),
            Some(PasswordSource::File(path)) => std::fs::read_to_string(path)
                .map(|v| Some(Secret::new(v.trim_end_matches(['\r', '\n']))))
                .map_err(|e| format!("[email] password_file {}: {e}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<EmailConfig, String> {
        toml::from_str::<EmailToml>(text)
            .map_err(|e| e.to_string())?
            .check(&|p| Path::new("/etc/podwarden").join(p))
    }

    #[test]
    fn plain_smtp_only_to_loopback() {
        let base = "from = \"podwarden <pw@example.com>\"\ntls = \"none\"\n";
        assert!(check(&format!("{base}host = \"127.0.0.1\"")).is_ok());
        assert!(check(&format!("{base}host = \"localhost\"")).is_ok());
        assert!(check(&format!("{base}host = \"::1\"")).is_ok());
        let err = check(&format!("{base}host = \"smtp.example.com\"")).expect_err("refused");
        assert!(err.contains("loopback"), "{err}");
        let ok = check(&format!("{base}host = \"127.0.0.1\"")).expect("ok");
        assert_eq!(ok.port, 25);
    }

    #[test]
    fn passwords_are_never_inline_and_files_resolve() {
        let err = check(
            "host = \"smtp.example.com\"\nfrom = \"pw@example.com\"\nusername = \"u\"\npassword = \"hunter2\"",
        )
        .expect_err("refused");
        assert!(err.contains("password_env"), "{err}");
        assert!(!err.contains("hunter2"));
        let ok = check(
            "host = \"smtp.example.com\"\nfrom = \"pw@example.com\"\nusername = \"u\"\npassword_file = \"smtp-password\"",
        )
        .expect("ok");
        assert_eq!(ok.port, 587);
        assert!(
            matches!(ok.password, Some(PasswordSource::File(ref p)) if p == Path::new("/etc/podwarden/smtp-password"))
        );
        assert!(check(
            "host = \"smtp.example.com\"\nfrom = \"pw@example.com\"\npassword_env = \"X\""
        )
        .is_err());
    }

    #[test]
    fn recipients_are_checked() {
        let err = check(
            "host = \"smtp.example.com\"\nfrom = \"pw@example.com\"\n[finance]\nto = [\"not an address\"]",
        )
        .expect_err("refused");
        assert!(err.contains("finance.to"), "{err}");
    }
}
