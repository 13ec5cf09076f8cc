//! Real servers for the delivery tests: the SMTP sink (aiosmtpd, tests/fixtures/smtp/sink.py),
//! what is skipped when a server program is missing, and the `[email]` section that points at it.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use mailparse::{MailHeaderMap, ParsedMail};

use super::repo;

/// A missing server: a failure under CI, else a loud skip (the caller returns).
pub fn missing(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required under CI (.ci/run installs it)");
    }
    eprintln!("\n**** SKIPPED: {what} is not installed here (.ci/run installs it) ****\n");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A python3 that has aiosmtpd (Debian's package installs it for /usr/bin/python3).
pub fn python_with_aiosmtpd() -> Option<PathBuf> {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| {
            Command::new(p)
                .args(["-c", "import aiosmtpd"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// The test SMTP server (tests/fixtures/smtp/sink.py): every accepted message lands in `dir`.
pub struct SmtpSink {
    child: Child,
    pub dir: PathBuf,
}

impl SmtpSink {
    pub fn start(python: &Path, dir: &Path, port: u16) -> SmtpSink {
        let mut child = Command::new(python)
            .arg(repo().join("tests/fixtures/smtp/sink.py"))
            .arg(dir)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("SMTP sink starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("reads");
        assert_eq!(line.trim(), "ready", "SMTP sink did not start");
        SmtpSink {
            child,
            dir: dir.to_path_buf(),
        }
    }

    /// The received messages, in order.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .expect("sink folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read(p).expect("message"))
            .collect()
    }

    /// Envelope recipients of message `n` (0-based).
    pub fn recipients(&self, n: usize) -> Vec<String> {
        std::fs::read_to_string(self.dir.join(format!("{:03}.rcpt", n + 1)))
            .expect("recipients")
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn header(mail: &ParsedMail, name: &str) -> String {
    mail.headers.get_first_value(name).unwrap_or_default()
}

pub fn email_section(port: u16) -> String {
    format!(
        "\n[email]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
         from = \"podwarden <podwarden@example.com>\"\ntimeout = \"10s\"\n\
         [email.finance]\nto = [\"finance@example.com\"]\ncc = [\"cfo@example.com\"]\n\
         [email.owners]\ncc = [\"platform@example.com\"]\n"
    )
}
