//! The transport rule for every URL podwarden sends a secret or its fleet's figures to (a
//! provider's `base_url`, the Pushgateway): `https://`, or plain `http://` only to this
//! machine's loopback, as `[email]` already requires of SMTP. Plain http to another host is
//! refused unless that entry sets `allow_insecure_http = true`, and then every run warns.

use crate::notify::email_config::is_loopback;

/// What a checked URL needs said on every run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// https, or http to loopback.
    Safe,
    /// Plain http to another host, allowed by `allow_insecure_http`: the warning to give.
    Insecure(String),
}

/// Checks `url` (the value of `what`, e.g. `providers.argus.base_url`): an absolute http(s)
/// URL with a host, and plain http only to loopback unless `allow_insecure_http`. The error
/// names the key and the fix.
pub fn check(what: &str, url: &str, allow_insecure_http: bool) -> Result<Transport, String> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| {
        format!(
            "{what} = {url:?} is not a URL ({e}); write it with its scheme, e.g. \
             https://ops.example.com/api/v1"
        )
    })?;
    let host = match parsed.host_str() {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => {
            return Err(format!(
                "{what} = {url:?} has no host; write it with its scheme, e.g. \
                 https://ops.example.com/api/v1"
            ))
        }
    };
    match parsed.scheme() {
        "https" => Ok(Transport::Safe),
        "http" if is_loopback(&host) => Ok(Transport::Safe),
        "http" if allow_insecure_http => Ok(Transport::Insecure(format!(
            "{what} is plain http:// to {host}, which is not loopback: what podwarden sends \
             there crosses the network unencrypted (allow_insecure_http = true)"
        ))),
        "http" => Err(format!(
            "{what} = {url:?} is plain http:// to {host}, which is not loopback: the requests (a \
             token in them, the fleet's figures) would cross the network unencrypted. Use \
             https://, or, on a \
             network you trust (a cluster's service mesh), set allow_insecure_http = true \
             beside it"
        )),
        other => Err(format!(
            "{what} = {url:?}: the scheme must be https:// (or http:// on loopback), not {other}://"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "https://ops.example.com/v1",
            "http://127.0.0.1:8181/argus/v1",
            "http://localhost:9091",
            "http://[::1]:9091",
        ] {
            assert_eq!(check("k", ok, false), Ok(Transport::Safe), "{ok}");
        }
        let refused = check(
            "providers.argus.base_url",
            "http://ops.example.com/v1",
            false,
        )
        .expect_err("refused");
        assert!(refused.contains("providers.argus.base_url"), "{refused}");
        assert!(refused.contains("allow_insecure_http = true"), "{refused}");
        assert!(matches!(
            check("k", "http://ops.example.com/v1", true),
            Ok(Transport::Insecure(w)) if w.contains("ops.example.com")
        ));
        for bad in ["ops.example.com/v1", "ftp://ops.example.com", "http://"] {
            let e = check("k", bad, true).expect_err(bad);
            assert!(e.contains("https://"), "{bad}: {e}");
        }
    }
}
