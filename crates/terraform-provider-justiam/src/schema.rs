//! Small helpers to write schemas and handle values.

use std::collections::{BTreeSet, HashMap};

use tf_provider::schema::{
    Attribute, AttributeConstraint, AttributeType, Block, Description, NestedBlock, Schema,
};
use tf_provider::value::Value;

pub use AttributeConstraint::{Computed, Optional, OptionalComputed, Required};

/// A set of strings whose elements may be unknown at plan time.
pub type StringSet = Value<BTreeSet<Value<String>>>;

pub fn string(constraint: AttributeConstraint, description: &str) -> Attribute {
    attribute(AttributeType::String, constraint, description)
}

pub fn boolean(constraint: AttributeConstraint, description: &str) -> Attribute {
    attribute(AttributeType::Bool, constraint, description)
}

pub fn number(constraint: AttributeConstraint, description: &str) -> Attribute {
    attribute(AttributeType::Number, constraint, description)
}

pub fn string_set(constraint: AttributeConstraint, description: &str) -> Attribute {
    attribute(
        AttributeType::Set(Box::new(AttributeType::String)),
        constraint,
        description,
    )
}

/// A map of strings (claim conditions).
pub fn string_map(constraint: AttributeConstraint, description: &str) -> Attribute {
    attribute(
        AttributeType::Map(Box::new(AttributeType::String)),
        constraint,
        description,
    )
}

/// A list of objects whose fields are all strings (read-only lists in data sources: a provider's
/// object types cannot have optional fields, so configurable lists are blocks, see [`list_block`]).
pub fn string_object_list(
    constraint: AttributeConstraint,
    description: &str,
    fields: &[&str],
) -> Attribute {
    let object = fields
        .iter()
        .map(|name| ((*name).to_owned(), AttributeType::String))
        .collect();
    attribute(
        AttributeType::List(Box::new(AttributeType::Object(object))),
        constraint,
        description,
    )
}

/// A repeatable nested block (`claim_mapping { … }`), in order.
pub fn list_block(description: &str, attributes: Vec<(&str, Attribute)>) -> NestedBlock {
    NestedBlock::List(Block {
        version: 1,
        attributes: attributes
            .into_iter()
            .map(|(name, attr)| (name.to_owned(), attr))
            .collect(),
        blocks: HashMap::new(),
        description: Description::markdown(description),
        deprecated: false,
    })
}

/// A schema with nested blocks besides its attributes.
pub fn with_blocks(mut schema: Schema, blocks: Vec<(&str, NestedBlock)>) -> Schema {
    schema.block.blocks = blocks
        .into_iter()
        .map(|(name, block)| (name.to_owned(), block))
        .collect();
    schema
}

pub fn sensitive(mut attribute: Attribute) -> Attribute {
    attribute.sensitive = true;
    attribute
}

fn attribute(
    attr_type: AttributeType,
    constraint: AttributeConstraint,
    description: &str,
) -> Attribute {
    Attribute {
        attr_type,
        description: Description::markdown(description),
        constraint,
        sensitive: false,
        deprecated: false,
    }
}

pub fn schema(description: &str, attributes: Vec<(&str, Attribute)>) -> Schema {
    Schema {
        version: 1,
        block: Block {
            version: 1,
            attributes: attributes
                .into_iter()
                .map(|(name, attr)| (name.to_owned(), attr))
                .collect::<HashMap<_, _>>(),
            blocks: HashMap::new(),
            description: Description::markdown(description),
            deprecated: false,
        },
    }
}

/// A known string value.
pub fn known(value: impl Into<String>) -> Value<String> {
    Value::Value(value.into())
}

/// The known elements of a set, or `None` when the set itself is null or unknown.
pub fn known_elements(set: &StringSet) -> Option<Vec<String>> {
    match set {
        Value::Value(items) => Some(
            items
                .iter()
                .filter_map(|v| v.as_ref_option().cloned())
                .collect(),
        ),
        _ => None,
    }
}

/// Whether a set has an unknown element.
pub fn has_unknown_element(set: &StringSet) -> bool {
    match set {
        Value::Value(items) => items.iter().any(|v| v.is_unknown()),
        _ => false,
    }
}

/// A set from API strings.
pub fn set_of(items: impl IntoIterator<Item = String>) -> StringSet {
    Value::Value(items.into_iter().map(Value::Value).collect())
}

/// RFC 3339 with seconds, as the state stores times.
pub fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
