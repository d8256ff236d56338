//! Component specs: internally tagged JSON objects such as `{"kind": "logconf", "aux_coef": 0.5}`.
//! The original value is kept so that a preset saves back exactly as loaded, and hashes of
//! specs use a canonical form (sorted keys) so that run ids do not depend on key order.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A tagged component spec. A bare string `"xent"` is accepted as `{"kind": "xent"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub struct Spec {
    kind: String,
    params: Map<String, Value>,
}

impl Spec {
    pub fn new(kind: &str) -> Self {
        Spec { kind: kind.to_string(), params: Map::new() }
    }
    /// Builder: add a parameter.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.params.insert(key.to_string(), value.into());
        self
    }
    pub fn kind(&self) -> &str {
        &self.kind
    }
    /// The parameters, without `kind`.
    pub fn params(&self) -> &Map<String, Value> {
        &self.params
    }
    /// A short human label: `kind` or `kind(a=1,b=x)`.
    pub fn label(&self) -> String {
        if self.params.is_empty() {
            return self.kind.clone();
        }
        let inner: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect();
        format!("{}({})", self.kind, inner.join(","))
    }
}

impl TryFrom<Value> for Spec {
    type Error = String;
    fn try_from(v: Value) -> Result<Self, String> {
        match v {
            Value::String(kind) => Ok(Spec::new(&kind)),
            Value::Object(mut map) => match map.remove("kind") {
                Some(Value::String(kind)) => Ok(Spec { kind, params: map }),
                Some(other) => Err(format!("`kind` must be a string, found {other}")),
                None => Err(format!(
                    "a component spec needs a `kind` field, e.g. {{\"kind\": \"xent\"}}; found {}",
                    Value::Object(map)
                )),
            },
            other => Err(format!("a component spec is an object with a `kind` field or a name; found {other}")),
        }
    }
}

impl From<Spec> for Value {
    fn from(s: Spec) -> Value {
        let mut map = Map::new();
        map.insert("kind".into(), Value::String(s.kind));
        map.extend(s.params);
        Value::Object(map)
    }
}

/// The value with object keys sorted recursively.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// A short stable hash (12 hex digits of sha256) of the canonical form of a value.
pub fn short_hash(v: &Value) -> String {
    let text = serde_json::to_string(&canonical(v)).expect("json values serialize");
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_round_trips_and_accepts_bare_names() {
        let s: Spec = serde_json::from_value(json!({"kind": "logconf", "aux_coef": 0.5})).unwrap();
        assert_eq!(s.kind(), "logconf");
        assert_eq!(serde_json::to_value(&s).unwrap(), json!({"kind": "logconf", "aux_coef": 0.5}));
        let bare: Spec = serde_json::from_value(json!("xent")).unwrap();
        assert_eq!(bare, Spec::new("xent"));
        let err = serde_json::from_value::<Spec>(json!({"aux_coef": 0.5})).unwrap_err();
        assert!(err.to_string().contains("needs a `kind`"), "{err}");
    }

    #[test]
    fn hash_ignores_key_order() {
        let a = json!({"a": 1, "b": {"x": 1, "y": 2}});
        let b = json!({"b": {"y": 2, "x": 1}, "a": 1});
        assert_eq!(short_hash(&a), short_hash(&b));
        assert_ne!(short_hash(&a), short_hash(&json!({"a": 2})));
        assert_eq!(short_hash(&a).len(), 12);
    }
}
