//! Reading JSON answers: key sets, string sets and times.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The keys of a JSON object, to compare an answer's exact shape.
pub fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("a JSON object, got {value}"))
        .keys()
        .cloned()
        .collect()
}

pub fn set<S: AsRef<str>>(names: &[S]) -> BTreeSet<String> {
    names.iter().map(|s| s.as_ref().to_owned()).collect()
}

/// A JSON array of strings, as a set.
pub fn json_set(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("a JSON array, got {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

/// An RFC 3339 time of an answer.
pub fn time_of(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a time string, got {value}"))
        .parse()
        .expect("RFC 3339")
}
