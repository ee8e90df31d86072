//! An answer from Vault: its status and body, and Vault's `errors` and `warnings` made fit for
//! a one-line message.

use reqwest::StatusCode;
use serde_json::Value;

use super::VaultError;

/// An answer from the server: its status, JSON body (`Null` when it had none) and the raw bytes
/// (for the KV reader, which keeps each value's exact JSON text).
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl std::fmt::Debug for Reply {
    /// The body may hold secrets: only the status is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Reply {
    /// Vault's `errors`, cleaned of the "1 error occurred:\n\t* " wrapping, joined with "; ".
    pub fn errors(&self) -> String {
        let Some(list) = self.body.get("errors").and_then(Value::as_array) else {
            return String::new();
        };
        let mut out: Vec<String> = Vec::new();
        for e in list.iter().filter_map(Value::as_str) {
            for part in e.split("\n\t* ") {
                let part = part.trim();
                if part.is_empty() || (part.ends_with("occurred:") && part.contains("error")) {
                    continue;
                }
                out.push(clean_text(part));
            }
        }
        out.join("; ")
    }

    /// Vault's `warnings`, one line each, cleaned like [`Reply::errors`]: they reach the
    /// terminal, and a server must not be able to drive it with escape sequences.
    pub fn warnings(&self) -> Vec<String> {
        self.body
            .get("warnings")
            .and_then(Value::as_array)
            .map(|w| {
                w.iter()
                    .filter_map(Value::as_str)
                    .map(|s| clean_text(s.trim()))
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A server's text made safe for a one-line message: control characters (line breaks, terminal
/// escapes) become spaces, and it is cut at 300 characters.
pub(super) fn clean_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect()
}

pub(super) fn parse_reply(status: StatusCode, bytes: Vec<u8>) -> Result<Reply, VaultError> {
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            // Go's HTTPS listener answers a plain-HTTP request with this text.
            Err(_)
                if status == StatusCode::BAD_REQUEST
                    && String::from_utf8_lossy(&bytes)
                        .contains("HTTP request to an HTTPS server") =>
            {
                serde_json::json!({"errors": ["the server speaks HTTPS: write https:// in the address"]})
            }
            // An error page from a proxy (HTML, text) is still an answer with a status; a 2xx
            // that is not JSON is not something kvenv can use.
            Err(_) if !status.is_success() => Value::Null,
            Err(_) => {
                return Err(VaultError::BadResponse {
                    reason: format!("HTTP {} with a body that is not JSON", status.as_u16()),
                });
            }
        }
    };
    Ok(Reply {
        status: status.as_u16(),
        body,
        raw: bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vault_errors_are_cleaned() {
        let r = Reply {
            status: 403,
            body: json!({"errors": ["1 error occurred:\n\t* permission denied\n\n"]}),
            raw: vec![],
        };
        assert_eq!(r.errors(), "permission denied");
        let r = Reply {
            status: 404,
            body: json!({"errors": []}),
            raw: vec![],
        };
        assert_eq!(r.errors(), "");
        let r = Reply {
            status: 500,
            body: json!({"errors": ["2 errors occurred:\n\t* a\n\t* b\n\n"]}),
            raw: vec![],
        };
        assert_eq!(r.errors(), "a; b");
    }

    #[test]
    fn warnings_are_one_clean_line_each() {
        let r = Reply {
            status: 200,
            body: json!({"warnings": ["\u{1b}[2Jx\ny", "  ", "ok"]}),
            raw: vec![],
        };
        assert_eq!(r.warnings(), [" [2Jx y", "ok"]);
    }
}
