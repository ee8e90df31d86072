//! One JSON object, `{"NAME": "value", ...}`, in manifest order: exact for every value.

use crate::secret::Var;

pub fn render(vars: &[Var]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = vars
        .iter()
        .map(|v| {
            (
                v.name.clone(),
                serde_json::Value::String(v.value.expose().to_owned()),
            )
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&map).unwrap_or_default();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object() {
        let v = Var::new("A", "q\"\n", "p");
        assert_eq!(render(&[v]), "{\n  \"A\": \"q\\\"\\n\"\n}\n");
    }
}
