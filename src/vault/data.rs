//! A secret's data as the server sent it: each value's exact JSON text.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// A secret's keys and values as the server sent them: each value's exact JSON text, in the
/// server's order. Numbers keep their digits and exponent as written (KV v1 stores the text it
/// was given; re-formatting `1e3` as `1e+3` or `1000` would change the value), and writing the
/// secret back (`kvenv push`) sends every other key exactly as it was.
///
/// `Debug` shows the keys only: the values are secrets.
#[derive(Default, Clone)]
pub struct Data(Vec<(String, Box<RawValue>)>);

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.keys()).finish()
    }
}

impl Data {
    /// The JSON text of `key`'s value.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), &**v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Set `key` to the string `value` (replacing, or appending a new key).
    pub fn set_string(&mut self, key: &str, value: &str) {
        let raw = RawValue::from_string(Value::String(value.to_owned()).to_string())
            .unwrap_or_else(|_| RawValue::from_string("\"\"".into()).expect("valid JSON"));
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = raw,
            None => self.0.push((key.to_owned(), raw)),
        }
    }

    /// The secret as a JSON object, every value as received.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&Value::String(k.clone()).to_string());
            out.push(':');
            out.push_str(v.get());
        }
        out.push('}');
        out
    }
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DataVisitor;
        impl<'de> Visitor<'de> for DataVisitor {
            type Value = Data;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
                let mut data = Data::default();
                while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    // A repeated key: the last one wins, as in every JSON reader Vault's
                    // clients use.
                    match data.0.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = value,
                        None => data.0.push((key, value)),
                    }
                }
                Ok(data)
            }
        }
        d.deserialize_map(DataVisitor)
    }
}

/// A value as an environment variable's text, `None` for JSON `null`: strings as they are,
/// numbers and booleans as the JSON text the server sent, objects and arrays as compact JSON
/// (insignificant whitespace removed, everything else as sent).
pub fn text(raw: &RawValue) -> Option<String> {
    let t = raw.get().trim();
    match t.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(t).ok(),
        Some(b'n') => None,
        Some(b'{' | b'[') => Some(compact(t)),
        _ => Some(t.to_owned()),
    }
}

/// Valid JSON text without the whitespace between tokens.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(json: &str) -> Data {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn values_keep_their_json_text() {
        let d = data(
            r#"{"a":1e3,"b":12345678901234567890123,"c":true,"d":{ "x" : [1, "y z"] },"e":"s\n","f":null,"g":1E5,"h":-0.0}"#,
        );
        let texts: Vec<(&str, Option<String>)> = d.iter().map(|(k, v)| (k, text(v))).collect();
        assert_eq!(
            texts,
            [
                ("a", Some("1e3".into())),
                ("b", Some("12345678901234567890123".into())),
                ("c", Some("true".into())),
                ("d", Some(r#"{"x":[1,"y z"]}"#.into())),
                ("e", Some("s\n".into())),
                ("f", None),
                ("g", Some("1E5".into())),
                ("h", Some("-0.0".into())),
            ]
        );
    }

    #[test]
    fn data_debug_shows_keys_only_and_writes_back_exactly() {
        let mut d = data(r#"{"n":1e3,"secret":"CANARY"}"#);
        assert_eq!(format!("{d:?}"), r#"{"n", "secret"}"#);
        d.set_string("new", "v\"");
        d.set_string("secret", "other");
        assert_eq!(d.to_json(), r#"{"n":1e3,"secret":"other","new":"v\""}"#);
    }
}
