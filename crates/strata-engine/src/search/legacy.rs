//! Legacy search: a request's `tags` (`tags=k=v ...` of Tempo's pre-TraceQL search API) turned
//! into one TraceQL query, evaluated like any other.
//!
//! Keys and values are quoted as TraceQL string literals (`"` and `\` escaped; newline,
//! carriage return and tab as `\n`, `\r`, `\t`). No tags at all is `{ }` (every trace).

/// Legacy `tags` search as TraceQL: every tag must match (`name`, `status.code`,
/// `root.service.name`, `root.name` and `error=true` map to intrinsics; anything else is an
/// attribute of the span or its resource).
pub fn legacy_tags_query(tags: &std::collections::BTreeMap<String, String>) -> String {
    let conds: Vec<String> = tags
        .iter()
        .map(|(k, v)| match k.as_str() {
            "name" => format!("name = {}", quote(v)),
            "root.name" => format!("trace:rootName = {}", quote(v)),
            "root.service.name" => format!("trace:rootService = {}", quote(v)),
            "status.code" => match v.to_ascii_lowercase().as_str() {
                "error" | "2" | "status_code_error" => "status = error".to_string(),
                "ok" | "1" | "status_code_ok" => "status = ok".to_string(),
                _ => "status = unset".to_string(),
            },
            "error" if v == "true" => "status = error".to_string(),
            _ => format!(".{} = {}", quote(k), quote(v)),
        })
        .collect();
    if conds.is_empty() {
        "{ }".to_string()
    } else {
        format!("{{ {} }}", conds.join(" && "))
    }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
