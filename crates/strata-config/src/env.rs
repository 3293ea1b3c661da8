//! `${VAR}` references in a configuration file, replaced from the environment when the file
//! is loaded with `--config.expand-env` (the flag Tempo uses for the same thing).
//!
//! Syntax, applied to the raw text before YAML parsing:
//! * `${NAME}`: the value of `NAME`; an unset variable is an error naming it, so a typo never
//!   silently becomes an empty setting.
//! * `${NAME:-default}`: the value of `NAME`, or `default` when it is unset or empty.
//! * `$$`: a literal `$`. Any other `$` is left as it is (so `pa$word` needs no escaping).
//!
//! `NAME` is ASCII letters, digits and `_`, not starting with a digit. Values are inserted
//! verbatim; quote the reference in YAML (`"${NAME}"`) when a value may contain `:` or `#`.

/// Replaces `${…}` references in `text` using `lookup`. The error names the variable.
pub fn expand(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ at byte {at}"))?;
            let (name, default) = match body[..end].split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (&body[..end], None),
            };
            if !valid_name(name) {
                return Err(format!("invalid variable name {:?} in ${{…}}", name));
            }
            let value = match (lookup(name), default) {
                (Some(v), Some(d)) if v.is_empty() => d.to_string(),
                (Some(v), _) => v,
                (None, Some(d)) => d.to_string(),
                (None, None) => return Err(format!("environment variable {name} is not set")),
            };
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::expand;

    fn env(name: &str) -> Option<String> {
        match name {
            "POD_IP" => Some("10.0.0.7".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn references_are_replaced() {
        let text = "addr: ${POD_IP}:3200\nb: ${MISSING:-x}\nc: ${EMPTY:-y}\nd: $$HOME pa$word\n";
        assert_eq!(
            expand(text, env).unwrap(),
            "addr: 10.0.0.7:3200\nb: x\nc: y\nd: $HOME pa$word\n"
        );
    }

    #[test]
    fn unset_or_malformed_references_are_errors_naming_them() {
        let err = expand("a: ${NOPE}\n", env).unwrap_err();
        assert!(err.contains("NOPE"), "{err}");
        assert!(expand("a: ${POD_IP\n", env)
            .unwrap_err()
            .contains("unclosed"));
        assert!(expand("a: ${1X}\n", env).unwrap_err().contains("1X"));
        assert_eq!(expand("no refs", env).unwrap(), "no refs");
    }
}
